//! SQL functions the silver queries use beyond DataFusion's own.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, ListBuilder, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::logical_expr::{ColumnarValue, ScalarUDF, Volatility, create_udf};
use datafusion::prelude::SessionContext;

use crate::sources::catalog_csv::CatalogFormat;
use crate::sources::python_list::parse_python_list;

/// Registers every silver function in `ctx`.
pub fn register(ctx: &SessionContext) {
    ctx.register_udf(parse_artists());
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
