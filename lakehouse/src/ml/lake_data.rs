//! Reading the ML stage's inputs from the lake: listeners' interactions from `silver/listens`
//! and the catalogue's tracks from `silver/tracks`.

use datafusion::arrow::array::{
    AsArray, Float64Array, Int64Array, ListArray, RecordBatch, StringArray,
};
use deltalake::DeltaTable;

use super::interactions::{Interactions, InteractionsBuilder};
use super::skip_model::SkipRow;
use crate::error::{LakehouseError, Result};
use crate::lake::{Lake, collect_sql};
use crate::silver;

const INTERACTIONS_SQL: &str = include_str!("sql/interactions.sql");
const TRACKS_SQL: &str = include_str!("sql/tracks.sql");
const SKIP_ROWS_SQL: &str = include_str!("sql/skip_rows.sql");

/// A catalogue track as the ML stage sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogTrack {
    pub track_id: String,
    pub name: String,
    pub primary_artist: String,
    pub primary_genre: String,
    pub genres: Vec<String>,
    /// In `ml::clusters::FEATURES` order.
    pub features: [f64; 9],
}

/// Listeners' interactions, with every catalogue track declared as an item (in `tracks`
/// order, so item `i` is `tracks[i]`), and the (listener, track) pairs that were mostly
/// skipped.
#[derive(Debug, Clone)]
pub struct ListenData {
    pub interactions: Interactions,
    /// (user, item) pairs whose weight is not positive.
    pub skipped_pairs: Vec<(u32, u32)>,
    pub listens: i64,
}

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
        let features: Vec<&Float64Array> = super::clusters::FEATURES
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

/// Reads the interactions of `silver/listens` over the catalogue `tracks`.
pub async fn read_interactions(
    lake: &Lake,
    listens: &DeltaTable,
    tracks: &[CatalogTrack],
) -> Result<ListenData> {
    let ctx = lake.session();
    lake.register(&ctx, silver::listens::TABLE, listens).await?;
    let batches = collect_sql(&ctx, "ml interactions", INTERACTIONS_SQL).await?;
    let mut builder = InteractionsBuilder::new();
    for t in tracks {
        builder.add_item(&t.track_id);
    }
    let mut skipped = Vec::new();
    let mut total = 0i64;
    for batch in &batches {
        let users = string_column(batch, "user_id")?;
        let items = string_column(batch, "track_id")?;
        let weights = column::<Float64Array>(batch, "weight")?;
        let listens = column::<Int64Array>(batch, "listens")?;
        for row in 0..batch.num_rows() {
            let (user, item, weight) = (users.value(row), items.value(row), weights.value(row));
            total += listens.value(row);
            // Added either way, so a listener who only skipped is still known.
            builder.add(user, item, weight);
            if weight <= 0.0 {
                skipped.push((user.to_owned(), item.to_owned()));
            }
        }
    }
    let interactions = builder.build();
    let user_index = index_of(interactions.user_ids());
    let item_index = index_of(interactions.item_ids());
    let skipped_pairs = skipped
        .iter()
        .filter_map(|(u, i)| Some((*user_index.get(u.as_str())?, *item_index.get(i.as_str())?)))
        .collect();
    Ok(ListenData {
        interactions,
        skipped_pairs,
        listens: total,
    })
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

/// Id → index.
pub fn index_of(ids: &[String]) -> std::collections::HashMap<&str, u32> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i as u32))
        .collect()
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
