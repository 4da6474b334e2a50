//! `soundlake sql "SELECT ..."`: a read-only query over the lake's tables by name
//! (`bronze.listens`, `silver.tracks`, `silver."listens@v3"`; see `lakehouse::named_tables`),
//! printed as a table, CSV or JSON lines.

use std::io::Write;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use lakehouse::named_tables;

use crate::infra::config::Config;

/// The longest statement taken.
const MAX_SQL_BYTES: usize = 100_000;

#[derive(Debug, Args)]
pub struct SqlArgs {
    /// One statement, e.g. "SELECT count(*) FROM silver.listens". `SHOW TABLES` lists the
    /// tables; `silver.\"listens@v3\"` is a table at version 3.
    statement: String,
    /// How rows are printed.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// An aligned text table.
    Table,
    /// CSV with a header line.
    Csv,
    /// One JSON object per row.
    Json,
}

pub async fn run(config: &Config, command: SqlArgs) -> Result<()> {
    anyhow::ensure!(
        command.statement.len() <= MAX_SQL_BYTES,
        "the statement is longer than {MAX_SQL_BYTES} bytes"
    );
    let lake = config.lake()?;
    let (schema, batches) = named_tables::query(&lake, &command.statement).await?;
    let mut out = std::io::stdout().lock();
    print(&mut out, command.format, &schema, &batches)?;
    out.flush().context("writing the result")
}

fn print(
    out: &mut impl Write,
    format: Format,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<()> {
    use datafusion::arrow::{csv, json, util::pretty};
    match format {
        Format::Table => {
            let table = if batches.is_empty() {
                pretty::pretty_format_batches(&[RecordBatch::new_empty(schema.clone())])?
            } else {
                pretty::pretty_format_batches(batches)?
            };
            writeln!(out, "{table}")?;
        }
        Format::Csv => {
            let mut writer = csv::WriterBuilder::new().with_header(true).build(out);
            if batches.is_empty() {
                writer.write(&RecordBatch::new_empty(schema.clone()))?;
            }
            for batch in batches {
                writer.write(batch)?;
            }
        }
        Format::Json => {
            let mut writer = json::LineDelimitedWriter::new(out);
            for batch in batches {
                writer.write(batch)?;
            }
            writer.finish()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn rows() -> (SchemaRef, Vec<RecordBatch>) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("track_id", DataType::Utf8, false),
            Field::new("plays", DataType::Int64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["a", "b,c"])),
                Arc::new(Int64Array::from(vec![3, 1])),
            ],
        )
        .unwrap();
        (schema, vec![batch])
    }

    fn printed(format: Format, schema: &SchemaRef, batches: &[RecordBatch]) -> String {
        let mut out = Vec::new();
        print(&mut out, format, schema, batches).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn rows_print_as_a_table_as_csv_and_as_json_lines() {
        let (schema, batches) = rows();
        let table = printed(Format::Table, &schema, &batches);
        assert!(table.contains("| track_id | plays |"), "{table}");
        assert_eq!(
            printed(Format::Csv, &schema, &batches),
            "track_id,plays\na,3\n\"b,c\",1\n"
        );
        assert_eq!(
            printed(Format::Json, &schema, &batches),
            "{\"track_id\":\"a\",\"plays\":3}\n{\"track_id\":\"b,c\",\"plays\":1}\n"
        );
    }

    #[test]
    fn no_rows_still_print_the_columns() {
        let (schema, _) = rows();
        assert!(printed(Format::Table, &schema, &[]).contains("track_id"));
        assert_eq!(printed(Format::Csv, &schema, &[]), "track_id,plays\n");
        assert_eq!(printed(Format::Json, &schema, &[]), "");
    }
}
