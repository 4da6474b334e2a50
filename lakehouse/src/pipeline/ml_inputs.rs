//! Reading the ML stage's inputs from the lake: listeners' interactions from `silver/listens`
//! and the catalogue's tracks from `silver/tracks`.

use datafusion::arrow::array::{
    AsArray, Float64Array, Int64Array, ListArray, RecordBatch, StringArray,
};
use deltalake::DeltaTable;

use crate::error::{LakehouseError, Result};
use crate::lake::Lake;
use crate::ml::datasets::{CatalogTrack, ListenData};
use crate::ml::interactions::{Interactions, RowAppender, index_of};
use crate::ml::skip_model::SkipRow;
use crate::ml::split::FirstPlays;
use crate::query::collect_sql;
use crate::silver;

const INTERACTIONS_SQL: &str = include_str!("sql/interactions.sql");
const TRACKS_SQL: &str = include_str!("sql/tracks.sql");
const SKIP_ROWS_SQL: &str = include_str!("sql/skip_rows.sql");

/// Reads every track of `silver/tracks`.
pub async fn read_tracks(lake: &Lake, tracks: &DeltaTable) -> Result<Vec<CatalogTrack>> {
    let batches = lake
        .query_table(silver::tracks::TABLE, tracks, TRACKS_SQL)
        .await?;
    let mut out = Vec::new();
    for batch in &batches {
        let text = |name: &str| string_column(batch, name);
        let (ids, names, artists, genres) = (
            text("track_id")?,
            text("name")?,
            text("primary_artist")?,
            text("primary_genre")?,
        );
        let genre_lists = column::<ListArray>(batch, "genres")?;
        let features: Vec<&Float64Array> = crate::ml::clusters::FEATURES
            .iter()
            .map(|f| column::<Float64Array>(batch, f))
            .collect::<Result<_>>()?;
        for row in 0..batch.num_rows() {
            let genre_list = genre_lists.value(row);
            let genre_list = genre_list.as_string::<i32>();
            out.push(CatalogTrack {
                track_id: ids.value(row).to_owned(),
                name: names.value(row).to_owned(),
                primary_artist: artists.value(row).to_owned(),
                primary_genre: genres.value(row).to_owned(),
                genres: genre_list.iter().flatten().map(str::to_owned).collect(),
                features: std::array::from_fn(|f| features[f].value(row)),
            });
        }
    }
    Ok(out)
}

/// Reads the interactions of `silver/listens` over the catalogue `tracks`, in one pass over
/// the aggregate grouped by listener (listens of tracks outside the catalogue are left out).
pub async fn read_interactions(
    lake: &Lake,
    listens: &DeltaTable,
    tracks: &[CatalogTrack],
) -> Result<ListenData> {
    let ctx = lake.session()?;
    lake.register(&ctx, silver::listens::TABLE, listens).await?;
    let batches = collect_sql(&ctx, "ml interactions", INTERACTIONS_SQL).await?;
    let item_ids: Vec<String> = tracks.iter().map(|t| t.track_id.clone()).collect();
    let items = index_of(&item_ids);
    let mut matrix = TimedRows::new(item_ids.clone());
    let mut skipped_pairs = Vec::new();
    let mut total = 0i64;
    let mut user: Option<String> = None;
    for batch in &batches {
        let users = string_column(batch, "user_id")?;
        let track_ids = string_column(batch, "track_id")?;
        let weights = column::<Float64Array>(batch, "weight")?;
        let listens = column::<Int64Array>(batch, "listens")?;
        let first_played = column::<Int64Array>(batch, "first_played")?;
        for r in 0..batch.num_rows() {
            let id = users.value(r);
            if user.as_deref() != Some(id)
                && let Some(done) = user.replace(id.to_owned())
            {
                matrix.push(done);
            }
            total += listens.value(r);
            let Some(&item) = items.get(track_ids.value(r)) else {
                continue;
            };
            match weights.value(r) {
                w if w > 0.0 => matrix.row.push((item, w as f32, first_played.value(r))),
                // Kept as a listener either way, so one who only skipped is still known.
                _ => skipped_pairs.push((matrix.rows.next_user(), item)),
            }
        }
    }
    if let Some(done) = user {
        matrix.push(done);
    }
    Ok(ListenData {
        interactions: matrix.rows.build(),
        first_plays: FirstPlays(matrix.first_plays),
        skipped_pairs,
        listens: total,
    })
}

/// The interactions built one listener's row at a time, with each pair's first play.
struct TimedRows {
    rows: RowAppender,
    first_plays: Vec<Vec<i64>>,
    /// The current listener's (item, weight, first play).
    row: Vec<(u32, f32, i64)>,
}

impl TimedRows {
    fn new(items: Vec<String>) -> Self {
        Self {
            rows: RowAppender::new(items),
            first_plays: Vec::new(),
            row: Vec::new(),
        }
    }

    /// Ends `user`'s row.
    fn push(&mut self, user: String) {
        self.row.sort_unstable_by_key(|(item, _, _)| *item);
        self.first_plays
            .push(self.row.iter().map(|(_, _, first)| *first).collect());
        let mut row = self.row.drain(..).map(|(i, w, _)| (i, w)).collect();
        self.rows.push(user, &mut row);
    }
}

/// The newest listens, for the skip model, indexed like `data` (listens of unknown listeners or
/// tracks are left out).
pub async fn read_skip_rows(
    lake: &Lake,
    listens: &DeltaTable,
    data: &Interactions,
) -> Result<Vec<SkipRow>> {
    let batches = lake
        .query_table(silver::listens::TABLE, listens, SKIP_ROWS_SQL)
        .await?;
    let users = index_of(data.user_ids());
    let items = index_of(data.item_ids());
    let mut out = Vec::new();
    for batch in &batches {
        let user_ids = string_column(batch, "user_id")?;
        let track_ids = string_column(batch, "track_id")?;
        let played = column::<Int64Array>(batch, "played_at")?;
        let hours = column::<datafusion::arrow::array::Int32Array>(batch, "hour")?;
        let skips = column::<datafusion::arrow::array::BooleanArray>(batch, "is_skip")?;
        for row in 0..batch.num_rows() {
            let (Some(&user), Some(&item)) = (
                users.get(user_ids.value(row)),
                items.get(track_ids.value(row)),
            ) else {
                continue;
            };
            out.push(SkipRow {
                user,
                item,
                played_at: played.value(row),
                hour: hours.value(row).clamp(0, 23) as u32,
                is_skip: skips.value(row),
            });
        }
    }
    Ok(out)
}

fn string_column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a StringArray> {
    column::<StringArray>(batch, name)
}

/// Column `name` of `batch` as the Arrow array type `T`.
fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| schema_error(name))
}

fn schema_error(column: &str) -> LakehouseError {
    LakehouseError::Schema {
        table: "ml stage input".into(),
        detail: format!("column {column} is missing or of an unexpected type"),
    }
}
