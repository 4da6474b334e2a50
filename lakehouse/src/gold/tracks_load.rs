//! Loading silver tracks into gold `tracks` and `genres`, in one transaction that readers
//! do not wait for, whenever gold does not hold the current silver version.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Float64Type, Int32Type, Int64Type};
use sqlx::{AssertSqlSafe, PgPool};

use super::copy_text::CopyTextWriter;
use super::lake_loads;
use crate::error::{LakehouseError, Result};
use crate::lake::Lake;
use crate::silver;

/// The gold target name recorded in `lake_loads`.
pub const TARGET: &str = "tracks";

/// The notification channel a new catalogue is announced on, when its load commits (the
/// payload: the silver version it was loaded from).
pub const CHANGED_CHANNEL: &str = "soundlake_catalogue";

const COPY_TRACKS: &str =
    "COPY tracks_next (track_id, name, artists, album_name, genres, popularity,
    duration_ms, explicit, danceability, energy, key, loudness, mode, speechiness, acousticness,
    instrumentalness, liveness, valence, tempo, time_signature, release_year, search_text)
    FROM STDIN";

/// The next catalogue is built in a table of its own, which takes no lock on `tracks`.
const CREATE_NEXT: &str = "CREATE TABLE tracks_next (LIKE tracks INCLUDING ALL EXCLUDING INDEXES)";

/// Genres are few: replaced row by row (`DELETE FROM genres`, then this), so readers of
/// `genres` never wait either.
const FILL_GENRES: &str = "INSERT INTO genres (genre, track_count)
    SELECT genre, count(*) FROM tracks_next, unnest(genres) AS genre GROUP BY genre";

/// Loads silver tracks into gold when gold does not hold the current silver version. Returns
/// the silver version and the tracks loaded, or `None` when there was nothing to load.
pub async fn sync_from_silver(lake: &Lake, pool: &PgPool) -> Result<Option<(i64, u64)>> {
    let Some(silver) = lake.existing_table(silver::tracks::TABLE).await? else {
        return Ok(None);
    };
    let version = silver.version().unwrap_or_default() as i64;
    if lake_loads::loaded_version(pool, TARGET).await? == Some(version) {
        return Ok(None);
    }
    let rows = load_from_silver(lake, pool, version).await?;
    Ok(Some((version, rows)))
}

/// Loads version `version` of silver tracks into gold. Returns the number of tracks loaded.
pub async fn load_from_silver(lake: &Lake, pool: &PgPool, version: i64) -> Result<u64> {
    let table = silver::tracks::TABLE;
    let mut delta = lake.table(table).await?;
    delta
        .load_version(version as u64)
        .await
        .map_err(|e| LakehouseError::delta(table.qualified(), e))?;
    let sql = format!("SELECT * FROM {}", table.sql_name());
    let batches = lake.query_table(table, &delta, &sql).await?;
    load_tracks(pool, &batches, &table.qualified(), version).await
}

/// Replaces gold's catalogue with the given silver tracks, atomically: readers see the old
/// catalogue or the new one, and keep reading the old one while the new one is built. Records
/// `source_version` of `source_table` in `lake_loads`. Returns the number of tracks loaded.
///
/// The new rows are copied into `tracks_next`, indexed there (building an index once is
/// several times faster than maintaining it row by row during the copy), and swapped in at
/// the end of the transaction: only the swap, a drop and a few renames, holds the exclusive
/// lock on `tracks` that makes readers wait.
pub async fn load_tracks(
    pool: &PgPool,
    batches: &[RecordBatch],
    source_table: &str,
    source_version: i64,
) -> Result<u64> {
    let started = std::time::Instant::now();
    let mut tx = pool.begin().await?;
    // One load at a time (a second waits here), while readers go on: this mode conflicts
    // with itself and with writers, not with reads.
    sqlx::query("LOCK TABLE tracks IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    sqlx::query("SET LOCAL maintenance_work_mem = '256MB'")
        .execute(&mut *tx)
        .await?;
    // The names and `CREATE INDEX` statements of `tracks`' indexes other than its primary key.
    let indexes: Vec<(String, String)> = sqlx::query!(
        r#"SELECT indexname::text AS "name!", indexdef AS "definition!" FROM pg_indexes
           WHERE schemaname = current_schema() AND tablename = 'tracks'
               AND indexname <> 'tracks_pkey'"#
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|index| (index.name, index.definition))
    .collect();
    sqlx::query(CREATE_NEXT).execute(&mut *tx).await?;
    let mut copy = tx.copy_in_raw(COPY_TRACKS).await?;
    let mut writer = CopyTextWriter::with_capacity(1 << 20);
    for batch in batches {
        encode_batch(batch, &mut writer)?;
        if writer.len() > (1 << 20) {
            copy.send(writer.take()).await?;
        }
    }
    copy.send(writer.take()).await?;
    let rows = copy.finish().await?;
    tracing::debug!(elapsed = ?started.elapsed(), rows, "copied tracks");
    sqlx::query("ALTER TABLE tracks_next ADD CONSTRAINT tracks_next_pkey PRIMARY KEY (track_id)")
        .execute(&mut *tx)
        .await?;
    for (name, definition) in &indexes {
        let on_next = next_index(name, definition)?;
        sqlx::query(AssertSqlSafe(on_next))
            .execute(&mut *tx)
            .await?;
    }
    tracing::debug!(elapsed = ?started.elapsed(), "indexed tracks");
    // Statistics for the columns searches filter and sort on, before readers use the table.
    sqlx::query("ANALYZE tracks_next (popularity, genres, search_text)")
        .execute(&mut *tx)
        .await?;
    sqlx::query!("DELETE FROM genres").execute(&mut *tx).await?;
    sqlx::query(FILL_GENRES).execute(&mut *tx).await?;
    // The swap: from here to the commit, readers of `tracks` wait.
    sqlx::query("DROP TABLE tracks").execute(&mut *tx).await?;
    sqlx::query("ALTER TABLE tracks_next RENAME TO tracks")
        .execute(&mut *tx)
        .await?;
    sqlx::query("ALTER INDEX tracks_next_pkey RENAME TO tracks_pkey")
        .execute(&mut *tx)
        .await?;
    for (name, _) in &indexes {
        sqlx::query(AssertSqlSafe(format!(
            "ALTER INDEX \"{name}_next\" RENAME TO \"{name}\""
        )))
        .execute(&mut *tx)
        .await?;
    }
    lake_loads::record_load(&mut tx, TARGET, source_table, source_version, rows as i64).await?;
    // Delivered to listeners when (and only if) the transaction commits.
    sqlx::query!(
        "SELECT pg_notify($1, $2::bigint::text)",
        CHANGED_CHANNEL,
        source_version,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::debug!(elapsed = ?started.elapsed(), "committed tracks");
    Ok(rows)
}

/// `definition` (a `CREATE INDEX name ON schema.tracks ...` from `pg_indexes`) rewritten to
/// build `name_next` on `tracks_next`.
fn next_index(name: &str, definition: &str) -> Result<String> {
    let (head, rest) = definition
        .split_once(" ON ")
        .ok_or_else(|| schema_error(definition))?;
    let (table, using) = rest
        .split_once(' ')
        .ok_or_else(|| schema_error(definition))?;
    let head = head
        .strip_suffix(name)
        .or_else(|| head.strip_suffix(&format!("\"{name}\"")))
        .ok_or_else(|| schema_error(definition))?;
    let next_table = table
        .strip_suffix("tracks")
        .map(|schema| format!("{schema}tracks_next"))
        .ok_or_else(|| schema_error(definition))?;
    Ok(format!("{head}\"{name}_next\" ON {next_table} {using}"))
}

fn schema_error(definition: &str) -> LakehouseError {
    LakehouseError::Schema {
        table: "tracks".into(),
        detail: format!("unexpected index definition: {definition}"),
    }
}

fn column(batch: &RecordBatch, name: &str, to: &DataType) -> Result<ArrayRef> {
    let array = batch
        .column_by_name(name)
        .ok_or_else(|| LakehouseError::Schema {
            table: "silver/tracks".into(),
            detail: format!("column {name} is missing"),
        })?;
    Ok(cast(array, to)?)
}

fn encode_batch(batch: &RecordBatch, w: &mut CopyTextWriter) -> Result<()> {
    let text_list = DataType::List(Field::new_list_field(DataType::Utf8, true).into());
    let text = |name| column(batch, name, &DataType::Utf8);
    let int = |name| column(batch, name, &DataType::Int32);
    let float = |name| column(batch, name, &DataType::Float64);

    let (track_id, name, album) = (text("track_id")?, text("name")?, text("album_name")?);
    let (track_id, name, album) = (
        track_id.as_string::<i32>(),
        name.as_string::<i32>(),
        album.as_string::<i32>(),
    );
    let artists = column(batch, "artists", &text_list)?;
    let genres = column(batch, "genres", &text_list)?;
    let (artists, genres) = (artists.as_list::<i32>(), genres.as_list::<i32>());
    let duration = column(batch, "duration_ms", &DataType::Int64)?;
    let duration = duration.as_primitive::<Int64Type>();
    let explicit = column(batch, "explicit", &DataType::Boolean)?;
    let explicit = explicit.as_boolean();
    let ints: Vec<ArrayRef> = [
        "popularity",
        "key",
        "mode",
        "time_signature",
        "release_year",
    ]
    .into_iter()
    .map(int)
    .collect::<Result<_>>()?;
    let floats: Vec<ArrayRef> = crate::silver::tracks::AUDIO_FEATURES
        .into_iter()
        .map(float)
        .collect::<Result<_>>()?;
    let int_at = |c: usize, row: usize| {
        let a = ints[c].as_primitive::<Int32Type>();
        a.is_valid(row).then(|| a.value(row))
    };
    let float_at = |c: usize, row: usize| {
        let a = floats[c].as_primitive::<Float64Type>();
        a.is_valid(row).then(|| a.value(row))
    };
    let strings = |list: &datafusion::arrow::array::ListArray, row: usize| -> Vec<String> {
        if list.is_null(row) {
            return Vec::new();
        }
        let values = list.value(row);
        let values = values.as_string::<i32>();
        values.iter().flatten().map(str::to_owned).collect()
    };

    for row in 0..batch.num_rows() {
        let artist_names = strings(artists, row);
        let genre_names = strings(genres, row);
        let album_name = album.is_valid(row).then(|| album.value(row));
        w.text(Some(track_id.value(row)));
        w.text(Some(name.value(row)));
        w.text_array(artist_names.iter().map(String::as_str));
        w.text(album_name);
        w.text_array(genre_names.iter().map(String::as_str));
        w.display(int_at(0, row));
        w.display(duration.is_valid(row).then(|| duration.value(row)));
        w.display(explicit.is_valid(row).then(|| explicit.value(row)));
        w.display(float_at(0, row));
        w.display(float_at(1, row));
        w.display(int_at(1, row));
        w.display(float_at(2, row));
        w.display(int_at(2, row));
        for c in 3..9 {
            w.display(float_at(c, row));
        }
        w.display(int_at(3, row));
        w.display(int_at(4, row));
        let search_text = format!(
            "{} {} {}",
            name.value(row),
            artist_names.join(" "),
            album_name.unwrap_or_default()
        );
        w.text(Some(&search_text.to_lowercase()));
        w.end_row();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::next_index;

    #[test]
    fn index_definitions_are_moved_to_the_next_table() {
        assert_eq!(
            next_index(
                "tracks_popularity",
                "CREATE INDEX tracks_popularity ON public.tracks USING btree (popularity DESC, track_id)"
            )
            .unwrap(),
            "CREATE INDEX \"tracks_popularity_next\" ON public.tracks_next USING btree (popularity DESC, track_id)"
        );
        assert!(next_index("x", "CREATE INDEX x ON public.albums USING btree (a)").is_err());
    }
}
