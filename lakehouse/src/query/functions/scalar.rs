//! Scalar functions: `parse_artists`, `xxhash64`, `id_fault` and `text_fault`.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, ListBuilder, StringArray, StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use twox_hash::XxHash64;

use crate::sources::catalog_csv::CatalogFormat;
use crate::sources::python_list::parse_python_list;
use crate::text::{self, TextFault};

/// The scalar functions.
pub(super) fn all() -> Vec<ScalarUDF> {
    vec![
        parse_artists(),
        xxhash64(),
        fault_function("id_fault", text::id_fault),
        fault_function("text_fault", text::text_fault),
    ]
}

/// `id_fault(text) -> text` and `text_fault(text) -> text`: why a value cannot be stored as an
/// identifier or as free text ([`crate::text`]), e.g. `holds a NUL character (U+0000)`, or NULL
/// when it can (and for NULL). A column with no control byte and no long value is passed
/// over without looking at each value.
fn fault_function(name: &str, fault: fn(&str) -> Option<TextFault>) -> ScalarUDF {
    let function = Arc::new(
        move |args: &[ColumnarValue]| -> datafusion::error::Result<ColumnarValue> {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let texts = arrays[0].as_string::<i32>();
            let longest = texts
                .offsets()
                .windows(2)
                .map(|w| w[1] - w[0])
                .max()
                .unwrap_or(0) as usize;
            let faults: StringArray =
                if longest <= text::MAX_ID_BYTES && !text::may_hold_control(texts.values()) {
                    StringArray::new_null(texts.len())
                } else {
                    texts
                        .iter()
                        .map(|t| t.and_then(fault).map(|f| f.to_string()))
                        .collect()
                };
            Ok(ColumnarValue::Array(Arc::new(faults) as ArrayRef))
        },
    );
    create_udf(
        name,
        vec![DataType::Utf8],
        DataType::Utf8,
        Volatility::Immutable,
        function,
    )
}

/// The seed `xxhash64` hashes with (Spark SQL's `xxhash64` uses 42 too).
const XXHASH64_SEED: u64 = 42;

/// `xxhash64(text) -> bigint`: a 64-bit xxHash of the text's UTF-8 bytes (NULL gives NULL).
/// Spark SQL has a function of the same name and type. Queries use it to find candidates
/// cheaply (equal texts have equal hashes) and then compare the texts themselves, so what
/// they return never depends on which 64-bit hash this is.
fn xxhash64() -> ScalarUDF {
    let function = Arc::new(
        |args: &[ColumnarValue]| -> datafusion::error::Result<ColumnarValue> {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let hashes: Int64Array = arrays[0]
                .as_string::<i32>()
                .iter()
                .map(|text| text.map(|t| XxHash64::oneshot(XXHASH64_SEED, t.as_bytes()) as i64))
                .collect();
            Ok(ColumnarValue::Array(Arc::new(hashes) as ArrayRef))
        },
    );
    create_udf(
        "xxhash64",
        vec![DataType::Utf8],
        DataType::Int64,
        Volatility::Immutable,
        function,
    )
}

/// `parse_artists(raw, source_format) -> list<string>`: the artists of a raw catalogue value,
/// `;`-joined in the Spotify Tracks Dataset, a Python list literal in the 160k `data.csv`.
/// Names are trimmed; empty names are dropped; NULL gives an empty list.
fn parse_artists() -> ScalarUDF {
    let list_type = DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true)));
    let function = Arc::new(
        |args: &[ColumnarValue]| -> datafusion::error::Result<ColumnarValue> {
            let arrays = ColumnarValue::values_to_arrays(args)?;
            let (raw, format) = (arrays[0].as_string::<i32>(), arrays[1].as_string::<i32>());
            let python_list = CatalogFormat::Spotify160k.id();
            let mut out = ListBuilder::new(StringBuilder::new());
            for row in 0..raw.len() {
                if raw.is_valid(row) {
                    let text = raw.value(row);
                    let names = if format.is_valid(row) && format.value(row) == python_list {
                        parse_python_list(text)
                    } else {
                        text.split(';').map(str::to_owned).collect()
                    };
                    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
                        out.values().append_value(name);
                    }
                }
                out.append(true);
            }
            Ok(ColumnarValue::Array(Arc::new(out.finish()) as ArrayRef))
        },
    );
    create_udf(
        "parse_artists",
        vec![DataType::Utf8, DataType::Utf8],
        list_type,
        Volatility::Immutable,
        function,
    )
}
