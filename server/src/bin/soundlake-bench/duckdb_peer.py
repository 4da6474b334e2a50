"""DuckDB peer of soundlake's pipeline from bronze to gold, for `soundlake-bench pipeline
--peer duckdb`.

    python duckdb_peer.py MANIFEST.json OUT_DIR

MANIFEST.json: {"bronze_listens": [parquet paths], "silver_tracks": [parquet paths],
"threads": N, "memory_limit": "4GB" (optional)}: the active files of the two Delta tables, as
the Rust side lists them from their snapshots (this script never reads a `_delta_log`).

What it does, with the same SQL as soundlake (lakehouse/src/silver/sql and gold/sql, ported
from DataFusion to DuckDB SQL, each step named after soundlake's file):

- silver listens, as a first build (soundlake's bench builds silver from an empty lake): every
  bronze listen read, hashed, ordered by play time and held in memory
  (new_bronze_listens.sql); repeated event keys (repeated_event_keys.sql); one row per event
  with the first rule it breaks (checked_listens.sql, with soundlake's `id_fault` checks); the
  days touched; the quarantine written to Parquet (listens_quarantine.sql); the good listens
  joined with silver tracks and written as Parquet partitioned year/month/day (listens.sql).
- gold marts: `$as_of` (as_of.sql, bound into the SQL as a literal, as DataFusion binds a
  parameter), the staging tables held in memory, then each mart computed into an in-memory
  table, in soundlake's order (MARTS in lakehouse/src/gold/marts.rs), reading silver listens
  back from the Parquet just written.

Where the DuckDB spelling differs from soundlake's SQL (a hash function, `top_items`, time
parts, an anti join), a comment at the step says how and why; the results are the same.

What it does not do, compared to soundlake: no Delta commits (no transaction log, no file
statistics in a log, no `txn` versions), no incremental read of bronze (no previous silver:
the `silver_event_ids` of listens.sql is empty, as in a first build), no re-check of
quarantined listens, no PostgreSQL load of the marts (soundlake's gold_marts stage time
includes deleting and copying the marts into PostgreSQL in one transaction). Parquet is
DuckDB's default encoding (Snappy, dictionaries left to DuckDB); soundlake turns dictionaries
off for its unique columns. It does not rebuild silver tracks: it reads soundlake's.

Prints one JSON line on stdout (the figures); progress goes to stderr.
"""

import json
import os
import sys
import time

import duckdb

# --- silver listens ------------------------------------------------------------------------

# soundlake's `id_fault(text)` (lakehouse/src/text.rs): why a value cannot be an identifier,
# NULL when it can. A control character is Unicode category Cc (U+0000-U+001F,
# U+007F-U+009F); the first one is named. Over 128 UTF-8 bytes is too long.
ID_FAULT_MACRO = r"""
CREATE OR REPLACE TEMP MACRO id_fault(t) AS CASE
    WHEN NOT regexp_matches(t, '[\x00-\x1f\x7f-\x{9f}]')
        THEN CASE WHEN strlen(t) > 128 THEN 'is longer than 128 bytes' END
    WHEN regexp_extract(t, '[\x00-\x1f\x7f-\x{9f}]') = chr(0)
        THEN 'holds a NUL character (U+0000)'
    ELSE 'holds a control character (U+'
        || printf('%04X', unicode(regexp_extract(t, '[\x00-\x1f\x7f-\x{9f}]'))) || ')'
END
"""

# new_bronze_listens.sql. soundlake's `event_key` is `xxhash64(event_id)` (its own UDF, seed
# 42); DuckDB's built-in `hash()` is another 64-bit hash in the same role: equal ids have
# equal keys, and repeated keys are only candidates (checked_listens.sql compares the ids).
# Ordered by play time as in soundlake, whose writer writes one day's file at a time.
NEW_BRONZE_LISTENS_SQL = """
SELECT
    event_id, user_id, track_id, played_at, ms_played, end_reason, skipped,
    context_source, context_device, ingested_at,
    hash(event_id) AS event_key
FROM bronze_listens_read
ORDER BY played_at
"""

# repeated_event_keys.sql
REPEATED_EVENT_KEYS_SQL = """
SELECT event_key
FROM bronze_listens_new
GROUP BY event_key
HAVING count(*) > 1
"""

# checked_listens.sql. soundlake adds `INTERVAL '1 day'`: in UTC a day is 24 hours, and DuckDB
# adds a day to a TIMESTAMPTZ through the ICU calendar, row by row, several times slower.
CHECKED_LISTENS_SQL = """
WITH arrived_once AS (
    SELECT
        event_id, user_id, track_id, played_at, ms_played, end_reason, skipped,
        context_source, context_device, ingested_at
    FROM bronze_listens_new AS n
    WHERE NOT EXISTS (
        SELECT 1 FROM repeated_event_keys AS r WHERE r.event_key = n.event_key
    )
),
first_copies AS (
    SELECT
        event_id, user_id, track_id, played_at, ms_played, end_reason, skipped,
        context_source, context_device, ingested_at
    FROM (
        SELECT
            *,
            row_number() OVER (
                PARTITION BY event_id
                ORDER BY ingested_at, played_at, track_id, ms_played, end_reason, skipped,
                    context_source, context_device
            ) AS copy_rank
        FROM bronze_listens_new AS n
        WHERE EXISTS (
            SELECT 1 FROM repeated_event_keys AS r WHERE r.event_key = n.event_key
        )
    ) AS copies
    WHERE copy_rank = 1
),
numbered AS (
    SELECT * FROM arrived_once
    UNION ALL
    SELECT * FROM first_copies
)
SELECT
    n.event_id,
    n.user_id,
    n.track_id,
    n.played_at,
    n.ms_played,
    n.end_reason,
    n.skipped,
    n.context_source,
    n.context_device,
    n.ingested_at,
    CASE
        WHEN id_fault(n.event_id) IS NOT NULL THEN 'event_id ' || id_fault(n.event_id)
        WHEN id_fault(n.user_id) IS NOT NULL THEN 'user_id ' || id_fault(n.user_id)
        WHEN id_fault(n.track_id) IS NOT NULL THEN 'track_id ' || id_fault(n.track_id)
        WHEN id_fault(n.end_reason) IS NOT NULL THEN 'end_reason ' || id_fault(n.end_reason)
        WHEN id_fault(n.context_source) IS NOT NULL
            THEN 'context source ' || id_fault(n.context_source)
        WHEN id_fault(n.context_device) IS NOT NULL
            THEN 'context device ' || id_fault(n.context_device)
        WHEN t.track_id IS NULL THEN 'unknown track'
        WHEN n.ms_played < 0 THEN 'ms_played is negative'
        WHEN n.ms_played > 2 * t.duration_ms + 60000 THEN 'ms_played is far longer than the track'
        WHEN n.played_at > n.ingested_at + INTERVAL '24 hours'
            THEN 'played_at is later than the listen was received'
        WHEN n.played_at < TIMESTAMPTZ '2000-01-01 00:00:00+00'
            THEN 'played_at is before the year 2000'
    END AS rejection
FROM numbered AS n
LEFT JOIN silver_tracks AS t ON t.track_id = n.track_id
"""

# soundlake's touched_days (silver/listens/check.rs): the day partitions the good listens fall in.
TOUCHED_DAYS_SQL = """
SELECT count(DISTINCT CAST(played_at AS DATE))
FROM checked_listens
WHERE rejection IS NULL
"""

# The event ids silver already holds in the touched days: none, in a first build.
SILVER_EVENT_IDS_SQL = """
CREATE TEMP TABLE silver_event_ids (event_id VARCHAR NOT NULL)
"""

# listens_quarantine.sql
LISTENS_QUARANTINE_SQL = """
SELECT
    event_id,
    user_id,
    track_id,
    played_at,
    ms_played,
    end_reason,
    ingested_at,
    rejection AS reason
FROM checked_listens
WHERE rejection IS NOT NULL
"""

# listens.sql. DataFusion's `array_element(list, 1)` is DuckDB's `list[1]`. The time parts are
# those of the UTC time (the session's time zone is UTC): taken from a TIMESTAMP, as DuckDB takes
# them from a TIMESTAMPTZ through the ICU calendar, several times slower. soundlake's
# `AND NOT EXISTS (SELECT 1 FROM silver_event_ids AS s WHERE s.event_id = c.event_id)` is
# spelled as the ANTI JOIN it is: DuckDB plans the NOT EXISTS beside the other condition as a
# dependent join that copies every row.
LISTENS_SQL = """
SELECT
    c.event_id,
    c.user_id,
    c.track_id,
    c.played_at,
    c.ms_played,
    c.end_reason,
    c.skipped,
    (
        c.ms_played < 30000
        OR coalesce(c.end_reason IN ('fwdbtn', 'backbtn'), false)
        OR coalesce(c.skipped, false)
    ) AS is_skip,
    c.context_source,
    c.context_device,
    t.name AS track_name,
    coalesce(t.artists[1], 'unknown') AS primary_artist,
    coalesce(t.genres[1], 'unknown') AS primary_genre,
    t.duration_ms,
    t.danceability,
    t.energy,
    t.valence,
    t.tempo,
    t.acousticness,
    t.instrumentalness,
    t.speechiness,
    t.liveness,
    t.loudness,
    CAST(EXTRACT(HOUR FROM CAST(c.played_at AS TIMESTAMP)) AS INT) AS hour,
    CAST(EXTRACT(DOW FROM CAST(c.played_at AS TIMESTAMP)) AS INT) AS weekday,
    c.ingested_at,
    CAST(EXTRACT(YEAR FROM CAST(c.played_at AS TIMESTAMP)) AS INT) AS year,
    CAST(EXTRACT(MONTH FROM CAST(c.played_at AS TIMESTAMP)) AS INT) AS month,
    CAST(EXTRACT(DAY FROM CAST(c.played_at AS TIMESTAMP)) AS INT) AS day
FROM checked_listens AS c
JOIN silver_tracks AS t ON t.track_id = c.track_id
ANTI JOIN silver_event_ids AS s ON s.event_id = c.event_id
WHERE c.rejection IS NULL
"""

# --- gold marts -----------------------------------------------------------------------------

# as_of.sql
AS_OF_SQL = """
SELECT max(played_at) AS as_of FROM silver_listens
"""

# user_track_listens.sql (staging)
USER_TRACK_LISTENS_SQL = """
SELECT
    l.user_id,
    l.track_id,
    l.primary_artist,
    l.primary_genre,
    count(*) AS listens,
    sum(CASE WHEN l.is_skip THEN 1 ELSE 0 END) AS skips,
    sum(l.ms_played) AS ms_played,
    min(l.played_at) AS first_listen_at,
    max(l.played_at) AS last_listen_at,
    sum(CASE WHEN NOT l.is_skip THEN 1 ELSE 0 END) AS plays_all,
    sum(CASE WHEN NOT l.is_skip AND l.played_at > $as_of - INTERVAL '30 days' THEN 1 ELSE 0 END)
        AS plays_30d,
    sum(CASE WHEN NOT l.is_skip AND l.played_at > $as_of - INTERVAL '7 days' THEN 1 ELSE 0 END)
        AS plays_7d
FROM silver_listens AS l
GROUP BY l.user_id, l.track_id, l.primary_artist, l.primary_genre
"""

# user_item_plays.sql (staging)
USER_ITEM_PLAYS_SQL = """
SELECT
    user_id, 'track' AS kind, track_id AS item,
    sum(plays_all) AS plays_all, sum(plays_30d) AS plays_30d, sum(plays_7d) AS plays_7d
FROM user_track_listens
WHERE plays_all > 0
GROUP BY user_id, track_id
UNION ALL
SELECT
    user_id, 'artist' AS kind, primary_artist AS item,
    sum(plays_all) AS plays_all, sum(plays_30d) AS plays_30d, sum(plays_7d) AS plays_7d
FROM user_track_listens
WHERE plays_all > 0
GROUP BY user_id, primary_artist
UNION ALL
SELECT
    user_id, 'genre' AS kind, primary_genre AS item,
    sum(plays_all) AS plays_all, sum(plays_30d) AS plays_30d, sum(plays_7d) AS plays_7d
FROM user_track_listens
WHERE plays_all > 0
GROUP BY user_id, primary_genre
"""

# user_genre_weeks.sql (staging). The UTC week, from a TIMESTAMP, as in listens.sql.
USER_GENRE_WEEKS_SQL = """
SELECT DISTINCT
    user_id,
    primary_genre AS genre,
    CAST(date_trunc('week', CAST(played_at AS TIMESTAMP)) AS DATE) AS week
FROM silver_listens
"""

# daily_track_plays.sql (staging)
DAILY_TRACK_PLAYS_SQL = """
SELECT
    make_date(year, month, day) AS day,
    track_id,
    primary_artist,
    primary_genre AS genre,
    count(*) AS listens,
    sum(CASE WHEN is_skip THEN 1 ELSE 0 END) AS skips
FROM silver_listens
GROUP BY year, month, day, track_id, primary_artist, primary_genre
"""

# user_tops.sql. soundlake's `top_items(item, listens, 10)` aggregate
# (query/functions/top_items) keeps each group's 10 items with the most listens, ties to the smaller item, ranked from 1, without
# sorting every row. DuckDB's `min_by(value, key, 10)` does the same when the key is
# (-listens, item): the 10 smallest keys, smallest first; the rank is the position in the list.
# A group with no row passing the FILTER gets NULL instead of an empty list: unnest gives no
# rows either way.
USER_TOPS_SQL = """
WITH tops AS (
    SELECT
        user_id,
        kind,
        min_by({'item': item, 'listens': plays_all}, (-plays_all, item), 10) AS top_all,
        min_by({'item': item, 'listens': plays_30d}, (-plays_30d, item), 10)
            FILTER (WHERE plays_30d > 0) AS top_30d,
        min_by({'item': item, 'listens': plays_7d}, (-plays_7d, item), 10)
            FILTER (WHERE plays_7d > 0) AS top_7d
    FROM user_item_plays
    GROUP BY user_id, kind
),
ranked AS (
    SELECT user_id, 'all' AS period, kind,
        unnest(top_all) AS top, generate_subscripts(top_all, 1) AS rank FROM tops
    UNION ALL
    SELECT user_id, '30d' AS period, kind,
        unnest(top_30d) AS top, generate_subscripts(top_30d, 1) AS rank FROM tops
    UNION ALL
    SELECT user_id, '7d' AS period, kind,
        unnest(top_7d) AS top, generate_subscripts(top_7d, 1) AS rank FROM tops
)
SELECT
    r.user_id, r.period, r.kind, CAST(r.rank AS BIGINT) AS rank, r.top['item'] AS item,
    CAST(r.top['listens'] AS BIGINT) AS listens,
    $as_of AS as_of
FROM ranked AS r
ORDER BY r.user_id, r.period, r.kind, rank
"""

# track_daily.sql
TRACK_DAILY_SQL = """
SELECT day, track_id, genre, sum(listens) AS listens, sum(skips) AS skips
FROM daily_track_plays
GROUP BY day, track_id, genre
"""

# users.sql
USERS_SQL = """
SELECT
    user_id,
    min(first_listen_at) AS first_listen_at,
    max(last_listen_at) AS last_listen_at,
    sum(listens) AS listens,
    sum(skips) AS skips,
    count(DISTINCT track_id) AS distinct_tracks,
    sum(ms_played) / 3600000.0 AS hours_played
FROM user_track_listens
GROUP BY user_id
"""

# daily_activity.sql
DAILY_ACTIVITY_SQL = """
SELECT
    make_date(year, month, day) AS day,
    count(*) AS listens,
    count(DISTINCT user_id) AS listeners,
    sum(CASE WHEN is_skip THEN 1 ELSE 0 END) AS skips,
    avg(CASE WHEN is_skip THEN 1.0 ELSE 0.0 END) AS skip_rate,
    sum(ms_played) / 3600000.0 AS hours_played
FROM silver_listens
GROUP BY year, month, day
"""

# genre_daily.sql
GENRE_DAILY_SQL = """
SELECT
    make_date(year, month, day) AS day,
    primary_genre AS genre,
    count(*) AS listens,
    count(DISTINCT user_id) AS listeners,
    sum(CASE WHEN is_skip THEN 1 ELSE 0 END) AS skips,
    sum(ms_played) / 3600000.0 AS hours_played
FROM silver_listens
GROUP BY year, month, day, primary_genre
"""

# hour_weekday_activity.sql
HOUR_WEEKDAY_ACTIVITY_SQL = """
SELECT
    weekday,
    hour,
    count(*) AS listens,
    count(DISTINCT user_id) AS listeners
FROM silver_listens
GROUP BY weekday, hour
"""

# track_popularity.sql
TRACK_POPULARITY_SQL = """
SELECT
    track_id,
    sum(listens) AS listens,
    count(DISTINCT user_id) AS listeners,
    sum(skips) AS skips,
    CAST(sum(skips) AS DOUBLE) / sum(listens) AS skip_rate,
    max(last_listen_at) AS last_played_at
FROM user_track_listens
GROUP BY track_id
"""

# hourly_activity.sql
HOURLY_ACTIVITY_SQL = """
SELECT
    make_date(year, month, day) AS day,
    hour,
    count(*) AS listens
FROM silver_listens
GROUP BY year, month, day, hour
"""

# genre_hourly_activity.sql
GENRE_HOURLY_ACTIVITY_SQL = """
SELECT
    primary_genre AS genre,
    make_date(year, month, day) AS day,
    hour,
    count(*) AS listens
FROM silver_listens
GROUP BY primary_genre, year, month, day, hour
"""

# artist_daily.sql
ARTIST_DAILY_SQL = """
SELECT day, primary_artist AS artist, genre, sum(listens) AS listens
FROM daily_track_plays
GROUP BY day, primary_artist, genre
"""

# track_day_leaders.sql
TRACK_DAY_LEADERS_SQL = """
WITH per_day AS (
    SELECT day, track_id, sum(listens) AS listens
    FROM daily_track_plays
    GROUP BY day, track_id
),
ranked AS (
    SELECT
        day,
        row_number() OVER (PARTITION BY day ORDER BY listens DESC, track_id) AS place,
        track_id,
        listens,
        count(*) OVER (PARTITION BY day) AS tracks_that_day
    FROM per_day
)
SELECT day, place, track_id, listens, tracks_that_day
FROM ranked
WHERE place <= 2000
"""

# artist_day_leaders.sql
ARTIST_DAY_LEADERS_SQL = """
WITH per_day AS (
    SELECT day, primary_artist AS artist, sum(listens) AS listens
    FROM daily_track_plays
    GROUP BY day, primary_artist
),
ranked AS (
    SELECT
        day,
        row_number() OVER (PARTITION BY day ORDER BY listens DESC, artist) AS place,
        artist,
        listens,
        count(*) OVER (PARTITION BY day) AS artists_that_day
    FROM per_day
)
SELECT day, place, artist, listens, artists_that_day
FROM ranked
WHERE place <= 2000
"""

# cohort_retention.sql
COHORT_RETENTION_SQL = """
WITH active AS (
    SELECT user_id, genre, week FROM user_genre_weeks
    UNION ALL
    SELECT DISTINCT user_id, '' AS genre, week FROM user_genre_weeks
),
cohorts AS (
    SELECT user_id, genre, min(week) AS cohort_week
    FROM active
    GROUP BY user_id, genre
)
SELECT
    c.genre,
    c.cohort_week,
    CAST(
        (date_part('epoch', a.week) - date_part('epoch', c.cohort_week)) / 604800 AS INT
    ) AS weeks_after,
    count(*) AS listeners
FROM active AS a
JOIN cohorts AS c ON c.user_id = a.user_id AND c.genre = a.genre
GROUP BY c.genre, c.cohort_week, a.week
"""

# user_recent_listens.sql
USER_RECENT_LISTENS_SQL = """
SELECT user_id, played_at, track_id, ms_played, is_skip
FROM (
    SELECT
        user_id, played_at, track_id, ms_played, is_skip,
        row_number() OVER (PARTITION BY user_id ORDER BY played_at DESC, track_id) AS recency
    FROM silver_listens
    WHERE played_at > $as_of - INTERVAL '7 days'
) AS latest
WHERE recency <= 20
"""

# STAGING in lakehouse/src/gold/marts.rs: computed once, before the marts, held in memory.
STAGING = [
    ("user_track_listens", USER_TRACK_LISTENS_SQL),
    ("user_item_plays", USER_ITEM_PLAYS_SQL),
    ("user_genre_weeks", USER_GENRE_WEEKS_SQL),
    ("daily_track_plays", DAILY_TRACK_PLAYS_SQL),
]

# MARTS in lakehouse/src/gold/marts.rs, in its order.
MARTS = [
    ("user_tops", USER_TOPS_SQL),
    ("track_daily", TRACK_DAILY_SQL),
    ("users", USERS_SQL),
    ("daily_activity", DAILY_ACTIVITY_SQL),
    ("genre_daily", GENRE_DAILY_SQL),
    ("hour_weekday_activity", HOUR_WEEKDAY_ACTIVITY_SQL),
    ("track_popularity", TRACK_POPULARITY_SQL),
    ("hourly_activity", HOURLY_ACTIVITY_SQL),
    ("genre_hourly_activity", GENRE_HOURLY_ACTIVITY_SQL),
    ("artist_daily", ARTIST_DAILY_SQL),
    ("track_day_leaders", TRACK_DAY_LEADERS_SQL),
    ("artist_day_leaders", ARTIST_DAY_LEADERS_SQL),
    ("cohort_retention", COHORT_RETENTION_SQL),
    ("user_recent_listens", USER_RECENT_LISTENS_SQL),
]


# --- running ----------------------------------------------------------------------------------


def log(message):
    print(f"duckdb peer: {message}", file=sys.stderr, flush=True)


def sql_string(text):
    return "'" + text.replace("'", "''") + "'"


def sql_list(paths):
    return "[" + ", ".join(sql_string(p) for p in paths) + "]"


def read_manifest(path):
    with open(path, encoding="utf-8") as f:
        manifest = json.load(f)
    for key in ("bronze_listens", "silver_tracks"):
        files = manifest.get(key)
        if not isinstance(files, list) or not files:
            raise ValueError(f"{path}: '{key}' must be a non-empty list of Parquet paths")
    threads = manifest.get("threads")
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"{path}: 'threads' must be a positive integer")
    return manifest


def connect(manifest, out_dir):
    """An in-memory DuckDB with the manifest's threads and memory limit; time in UTC, as
    soundlake's timestamps (`Timestamp(us, "UTC")`) are extracted in UTC."""
    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {manifest['threads']}")
    if manifest.get("memory_limit"):
        con.execute(f"SET memory_limit = {sql_string(manifest['memory_limit'])}")
    con.execute(f"SET temp_directory = {sql_string(os.path.join(out_dir, 'duckdb_tmp'))}")
    con.execute("SET TimeZone = 'UTC'")
    return con


def count(con, table):
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def materialize(con, name, sql):
    """Runs `sql` and holds its result in memory as the table `name`; returns its rows (as
    soundlake's `materialize`)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
    return count(con, name)


def copy_rows(con, sql, target, options):
    """Writes the rows of `sql` to `target` with COPY; returns the rows written."""
    return con.execute(f"COPY ({sql}) TO {sql_string(target)} ({options})").fetchone()[0]


def register_inputs(con, manifest):
    """The active Parquet files of bronze/listens and silver/tracks, as soundlake's Delta scans.
    Bronze's partition column (`ingest_date`) is not in its files, and silver does not read
    it."""
    con.execute(
        "CREATE VIEW bronze_listens_read AS SELECT * FROM read_parquet("
        + sql_list(manifest["bronze_listens"])
        + ")"
    )
    con.execute(
        "CREATE VIEW silver_tracks AS SELECT * FROM read_parquet("
        + sql_list(manifest["silver_tracks"])
        + ")"
    )


def silver_listens(con, out_dir):
    """soundlake's silver listens build (silver/listens/: check, then write the quarantine
    and the listens). Returns (bronze rows read, listens written, rows quarantined)."""
    con.execute(ID_FAULT_MACRO)
    bronze_rows = materialize(con, "bronze_listens_new", NEW_BRONZE_LISTENS_SQL)
    log(f"bronze_listens_new: {bronze_rows} rows")
    materialize(con, "repeated_event_keys", REPEATED_EVENT_KEYS_SQL)
    materialize(con, "checked_listens", CHECKED_LISTENS_SQL)
    days = con.execute(TOUCHED_DAYS_SQL).fetchone()[0]
    con.execute(SILVER_EVENT_IDS_SQL)
    quarantine = os.path.join(out_dir, "silver_listens_quarantine.parquet")
    quarantined = copy_rows(con, LISTENS_QUARANTINE_SQL, quarantine, "FORMAT parquet")
    log(f"silver_listens_quarantine: {quarantined} rows")
    listens = os.path.join(out_dir, "silver_listens")
    written = copy_rows(
        con,
        LISTENS_SQL,
        listens,
        "FORMAT parquet, PARTITION_BY (year, month, day), OVERWRITE",
    )
    log(f"silver_listens: {written} rows into {days} day partitions")
    return bronze_rows, written, quarantined


def register_silver_listens(con, out_dir):
    """Silver listens as the marts read them: a scan of the Parquet just written, with the
    partition columns from the paths, typed as soundlake's (INT)."""
    pattern = os.path.join(out_dir, "silver_listens", "*", "*", "*", "*.parquet")
    con.execute(
        "CREATE OR REPLACE VIEW silver_listens AS SELECT * FROM read_parquet("
        + sql_string(pattern)
        + ", hive_partitioning = true,"
        + " hive_types = {'year': INTEGER, 'month': INTEGER, 'day': INTEGER})"
    )


def as_of(con):
    """`$as_of` (as_of.sql) as a SQL literal: the newest listen in silver."""
    value = con.execute(f"SELECT CAST(as_of AS VARCHAR) FROM ({AS_OF_SQL})").fetchone()[0]
    if value is None:
        return "CAST(NULL AS TIMESTAMPTZ)"
    return f"TIMESTAMPTZ {sql_string(value)}"


def bind(sql, params):
    """`sql` with each `$name` replaced by its value, as DataFusion binds a parameter before
    planning."""
    for name, literal in params.items():
        sql = sql.replace(f"${name}", literal)
    return sql


def gold_marts(con, out_dir):
    """soundlake's marts refresh (gold/marts.rs) without the PostgreSQL load: `$as_of`, the
    staging tables, then each mart into memory. Returns the silver rows read and
    {mart: {"rows", "seconds"}}."""
    register_silver_listens(con, out_dir)
    rows_in = count(con, "silver_listens")
    params = {"as_of": as_of(con)}
    for name, sql in STAGING:
        rows = materialize(con, name, bind(sql, params))
        log(f"staging {name}: {rows} rows")
    marts = {}
    for name, sql in MARTS:
        started = time.perf_counter()
        rows = materialize(con, name, bind(sql, params))
        seconds = time.perf_counter() - started
        log(f"mart {name}: {rows} rows in {seconds:.3f} s")
        marts[name] = {"rows": rows, "seconds": round(seconds, 4)}
    return rows_in, marts


def run(manifest_path, out_dir):
    manifest = read_manifest(manifest_path)
    os.makedirs(out_dir, exist_ok=True)
    con = connect(manifest, out_dir)
    register_inputs(con, manifest)

    started = time.perf_counter()
    bronze_rows, silver_rows, quarantined = silver_listens(con, out_dir)
    silver_done = time.perf_counter()
    rows_in, marts = gold_marts(con, out_dir)
    gold_done = time.perf_counter()
    if rows_in != silver_rows:
        raise RuntimeError(f"silver listens: wrote {silver_rows} rows but read {rows_in} back")

    return {
        "engine": f"duckdb {duckdb.__version__}",
        "bronze_rows": bronze_rows,
        "silver_rows": silver_rows,
        "quarantined_rows": quarantined,
        "seconds": {
            "silver_listens": round(silver_done - started, 4),
            "gold_marts": round(gold_done - silver_done, 4),
            "total": round(gold_done - started, 4),
        },
        "marts": marts,
    }


def main(argv):
    if len(argv) != 3:
        print(f"usage: {argv[0]} MANIFEST.json OUT_DIR", file=sys.stderr)
        return 2
    try:
        figures = run(argv[1], argv[2])
    except Exception as e:  # every failure: a message on stderr and a non-zero exit
        print(f"duckdb peer failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
