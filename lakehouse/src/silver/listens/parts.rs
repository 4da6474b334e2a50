//! A build in parts: when a build has more bronze rows to read than memory should hold at once,
//! it splits them by event into parts of about [`PART_ROWS`] rows and checks and commits one
//! part after the other. Every copy of an event is in the same part (the part is the event
//! id's hash modulo the number of parts), so each part finds its own duplicates and the first
//! copy received still wins.
//!
//! Each part's commits record how many parts are still to come. A build that stops part-way
//! leaves a number above 0, and the next build rebuilds both tables from the whole of bronze
//! rather than guess which parts are in.

use datafusion::prelude::SessionContext;

use super::table::TABLE;
use crate::error::{LakehouseError, Result};

/// The bronze rows a build reads at a time at most, unless told otherwise.
pub const PART_ROWS: u64 = 6_000_000;

/// One part of a build: the events whose id hashes to `index` modulo `of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    pub index: u64,
    pub of: u64,
}

impl Part {
    /// A build in one part: every event.
    pub const WHOLE: Part = Part { index: 0, of: 1 };

    /// The parts a build of `rows` bronze rows takes with at most `per_part` rows a part (as
    /// the hash spreads them, so about).
    pub fn all(rows: u64, per_part: u64) -> impl Iterator<Item = Part> {
        let of = rows.div_ceil(per_part.max(1)).max(1);
        (0..of).map(move |index| Part { index, of })
    }

    /// The DataFusion settings of a part's session on top of `base`: when the build is in
    /// parts, Parquet scans apply a part's condition while decoding (reading the event ids
    /// first, and the rest of a row only when the row is in the part).
    pub fn session_settings<'a>(self, base: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut settings = base.to_vec();
        if self.of > 1 {
            settings.push(("datafusion.execution.parquet.pushdown_filters", "true"));
        }
        settings
    }

    /// How many parts come after this one.
    pub fn to_come(self) -> i64 {
        (self.of - 1 - self.index) as i64
    }

    /// A SQL condition on a table's `event_id` that holds for this part's events (`None` for a
    /// build in one part). An event without an id belongs to the first part.
    pub fn condition(self) -> Option<String> {
        (self.of > 1).then(|| {
            format!(
                "coalesce((xxhash64(event_id) % {of} + {of}) % {of}, 0) = {index}",
                of = self.of,
                index = self.index
            )
        })
    }
}

/// Registers `bronze_listens_read`, the rows of `bronze_listens_all` in `part`.
pub async fn register_part(ctx: &SessionContext, part: Part) -> Result<()> {
    let sql = match part.condition() {
        Some(condition) => format!("SELECT * FROM bronze_listens_all WHERE {condition}"),
        None => "SELECT * FROM bronze_listens_all".to_owned(),
    };
    let query_error = |e| LakehouseError::query(TABLE.qualified(), e);
    let frame = ctx.sql(&sql).await.map_err(query_error)?;
    ctx.register_table("bronze_listens_read", frame.into_view())
        .map_err(query_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_split_into_parts_of_at_most_the_size_asked() {
        assert_eq!(Part::all(0, 10).collect::<Vec<_>>(), [Part::WHOLE]);
        assert_eq!(Part::all(10, 10).collect::<Vec<_>>(), [Part::WHOLE]);
        let parts: Vec<Part> = Part::all(25, 10).collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            parts.iter().map(|p| p.to_come()).collect::<Vec<_>>(),
            [2, 1, 0]
        );
        assert_eq!(Part::WHOLE.condition(), None);
        assert_eq!(
            parts[1].condition().as_deref(),
            Some("coalesce((xxhash64(event_id) % 3 + 3) % 3, 0) = 1")
        );
    }
}
