use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::{SessionConfig, SessionContext};

use super::top_items;

/// A session with `top_items` and a `plays(grp, item, listens)` table filled by `query`, run
/// in `partitions` partitions of `batch_size` rows (several partitions make DataFusion merge
/// partial results).
async fn session(query: &str, partitions: usize, batch_size: usize) -> SessionContext {
    let config = SessionConfig::new()
        .with_target_partitions(partitions)
        .with_batch_size(batch_size);
    let ctx = SessionContext::new_with_config(config);
    ctx.register_udaf(top_items());
    let sql = format!(
        "CREATE TABLE plays AS SELECT CAST(grp AS VARCHAR) AS grp, CAST(item AS VARCHAR) AS item,
         CAST(listens AS BIGINT) AS listens FROM ({query})"
    );
    ctx.sql(&sql).await.unwrap().collect().await.unwrap();
    ctx
}

/// `plays` rows given as SQL `VALUES` rows of (grp, item, listens).
fn values(rows: &str) -> String {
    format!("SELECT column1 AS grp, column2 AS item, column3 AS listens FROM (VALUES {rows})")
}

/// The result of `sql`, as the lines of a printed table, its rows sorted as text.
///
/// Sorted here rather than by `ORDER BY`: DataFusion 55 keeps a grouped result's unique key
/// through `unnest`, so `ORDER BY grp, rank` after unnesting one list per `grp` sorts by `grp`
/// alone.
async fn lines(ctx: &SessionContext, sql: &str) -> Vec<String> {
    let batches: Vec<RecordBatch> = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let table = pretty_format_batches(&batches).unwrap().to_string();
    let mut lines: Vec<String> = table.lines().map(str::to_owned).collect();
    if lines.len() > 4 {
        let rows = 3..lines.len() - 1;
        lines[rows].sort();
    }
    lines
}

/// Each group's three top items, one per row.
const RANKED: &str = "
    WITH tops AS (SELECT grp, top_items(item, listens, 3) AS top FROM plays GROUP BY grp),
    exploded AS (SELECT grp, unnest(top) AS t FROM tops)
    SELECT grp, t['rank'] AS rank, t['item'] AS item, t['listens'] AS listens FROM exploded";

/// The same with the window function.
const RANKED_BY_WINDOW: &str = "
    WITH ranked AS (
        SELECT grp, item, listens,
            row_number() OVER (PARTITION BY grp ORDER BY listens DESC, item) AS rank
        FROM plays WHERE item IS NOT NULL AND listens IS NOT NULL
    )
    SELECT grp, CAST(rank AS BIGINT) AS rank, item, listens FROM ranked WHERE rank <= 3";

#[tokio::test]
async fn each_group_keeps_its_most_listened_items_with_ties_to_the_smaller_item() {
    let plays = values(
        "('a', 'x', 5), ('a', 'y', 9), ('a', 'w', 5), ('a', 'v', 1), ('a', 'z', 5),
         ('b', 'x', 2), ('b', NULL, 50), ('b', 'q', NULL)",
    );
    let ctx = session(&plays, 1, 8192).await;
    let expected = [
        "+-----+------+------+---------+",
        "| grp | rank | item | listens |",
        "+-----+------+------+---------+",
        "| a   | 1    | y    | 9       |",
        "| a   | 2    | w    | 5       |",
        "| a   | 3    | x    | 5       |",
        "| b   | 1    | x    | 2       |",
        "+-----+------+------+---------+",
    ];
    assert_eq!(lines(&ctx, RANKED).await, expected);
}

#[tokio::test]
async fn rows_the_filter_turns_away_are_left_out_and_a_group_without_rows_gets_an_empty_list() {
    let plays = values("('a', 'x', 5), ('a', 'y', 9), ('a', 'z', 1), ('b', 'x', 2)");
    let ctx = session(&plays, 1, 8192).await;
    let sql = "SELECT grp, cardinality(top_items(item, listens, 3) FILTER (WHERE listens > 2))
               AS kept FROM plays GROUP BY grp";
    let expected = [
        "+-----+------+",
        "| grp | kept |",
        "+-----+------+",
        "| a   | 2    |",
        "| b   | 0    |",
        "+-----+------+",
    ];
    assert_eq!(lines(&ctx, sql).await, expected);
}

/// 20,000 rows in 97 groups with many ties, in small batches over four partitions.
const MANY_GROUPS: &str = "
    SELECT value % 97 AS grp, 'item-' || value AS item, (value * 7919) % 13 AS listens
    FROM generate_series(1, 20000)";

#[tokio::test]
async fn it_ranks_as_row_number_does_when_partial_results_are_merged() {
    let ctx = session(MANY_GROUPS, 4, 512).await;
    let ranked = lines(&ctx, RANKED).await;
    assert_eq!(
        ranked.len(),
        97 * 3 + 4,
        "three items per group and the table's frame"
    );
    assert_eq!(ranked, lines(&ctx, RANKED_BY_WINDOW).await);
}

#[tokio::test]
async fn it_ranks_as_row_number_does_when_partial_aggregation_is_skipped() {
    let ctx = session(MANY_GROUPS, 4, 512).await;
    for (key, value) in [
        ("skip_partial_aggregation_probe_rows_threshold", "1"),
        ("skip_partial_aggregation_probe_ratio_threshold", "0.0"),
    ] {
        let sql = format!("SET datafusion.execution.{key} = {value}");
        ctx.sql(&sql).await.unwrap().collect().await.unwrap();
    }
    assert_eq!(
        lines(&ctx, RANKED).await,
        lines(&ctx, RANKED_BY_WINDOW).await
    );
}

#[tokio::test]
async fn without_group_by_the_whole_input_is_ranked() {
    let ctx = session(MANY_GROUPS, 4, 512).await;
    let sql = "SELECT top_items(item, listens, 2) AS top FROM plays";
    let expected = [
        "+--------------------------------------------------------------------------------------+",
        "| top                                                                                  |",
        "+--------------------------------------------------------------------------------------+",
        "| [{rank: 1, item: item-10003, listens: 12}, {rank: 2, item: item-10016, listens: 12}] |",
        "+--------------------------------------------------------------------------------------+",
    ];
    assert_eq!(lines(&ctx, sql).await, expected);
}

#[tokio::test]
async fn the_number_of_items_must_be_a_positive_constant() {
    let ctx = session(&values("('a', 'x', 5)"), 1, 8192).await;
    for wanted in ["0", "listens"] {
        let sql = format!("SELECT top_items(item, listens, {wanted}) FROM plays GROUP BY grp");
        let error = match ctx.sql(&sql).await {
            Ok(frame) => frame.collect().await.unwrap_err(),
            Err(e) => e,
        };
        assert!(
            error.to_string().contains("positive integer constant"),
            "{wanted}: {error}"
        );
    }
}
