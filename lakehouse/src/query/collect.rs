//! Running SQL in a session: collecting its result, or materialising it as an in-memory table
//! that later queries of the same session read.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::ScalarValue;
use datafusion::datasource::MemTable;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::display::DisplayableExecutionPlan;
use datafusion::physical_plan::sorts::sort_preserving_merge::SortPreservingMergeExec;
use datafusion::physical_plan::{ExecutionPlan, collect_partitioned};
use datafusion::prelude::{DataFrame, SessionContext};

use super::cluster::Scratch;
use super::session::target_partitions;
use crate::error::{LakehouseError, Result};

/// Values of a query's named parameters (`$name` in its SQL).
pub type Params<'a> = &'a [(&'a str, ScalarValue)];

/// Runs `sql` in `ctx` and collects its result; `context` names the query in errors.
pub async fn collect_sql(
    ctx: &SessionContext,
    context: &str,
    sql: &str,
) -> Result<Vec<RecordBatch>> {
    collect_sql_with(ctx, context, sql, &[]).await
}

/// Like [`collect_sql`], with values for the query's named parameters.
pub async fn collect_sql_with(
    ctx: &SessionContext,
    context: &str,
    sql: &str,
    params: Params<'_>,
) -> Result<Vec<RecordBatch>> {
    let (_, batches) = collect_with_schema(ctx, context, sql, params).await?;
    Ok(batches)
}

async fn collect_with_schema(
    ctx: &SessionContext,
    context: &str,
    sql: &str,
    params: Params<'_>,
) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let (schema, partitions) = collect_partitions(ctx, context, sql, params).await?;
    Ok((schema, partitions.into_iter().flatten().collect()))
}

/// Runs `sql` with `params` and collects each of its plan's output partitions.
async fn collect_partitions(
    ctx: &SessionContext,
    context: &str,
    sql: &str,
    params: Params<'_>,
) -> Result<(SchemaRef, Vec<Vec<RecordBatch>>)> {
    let (plan, task) = physical_plan(ctx, context, sql, params).await?;
    run_partitions(context, plan, task).await
}

/// The plan DataFusion runs for `sql` with `params`, and the context to run it in.
async fn physical_plan(
    ctx: &SessionContext,
    context: &str,
    sql: &str,
    params: Params<'_>,
) -> Result<(Arc<dyn ExecutionPlan>, Arc<TaskContext>)> {
    let frame = frame_of(ctx, context, sql, params).await?;
    let task = Arc::new(frame.task_ctx());
    let plan = frame
        .create_physical_plan()
        .await
        .map_err(|e| LakehouseError::query(context, e))?;
    Ok((plan, task))
}

/// `sql` with `params`, planned in `ctx`.
async fn frame_of(
    ctx: &SessionContext,
    context: &str,
    sql: &str,
    params: Params<'_>,
) -> Result<DataFrame> {
    let query_error = |e| LakehouseError::query(context, e);
    let mut frame = ctx.sql(sql).await.map_err(query_error)?;
    if !params.is_empty() {
        frame = frame
            .with_param_values(params.to_vec())
            .map_err(query_error)?;
    }
    Ok(frame)
}

/// Runs `plan` and collects each of its output partitions.
async fn run_partitions(
    context: &str,
    plan: Arc<dyn ExecutionPlan>,
    task: Arc<TaskContext>,
) -> Result<(SchemaRef, Vec<Vec<RecordBatch>>)> {
    let partitions = collect_partitioned(Arc::clone(&plan), task)
        .await
        .map_err(|e| LakehouseError::query(context, e))?;
    trace_plan(context, plan.as_ref());
    Ok((plan.schema(), partitions))
}

/// Logs the executed plan with each operator's metrics (rows, time, memory) at trace level:
/// `RUST_LOG=lakehouse::query=trace` shows where a query spends its time.
fn trace_plan(context: &str, plan: &dyn ExecutionPlan) {
    if tracing::enabled!(tracing::Level::TRACE) {
        let shown = DisplayableExecutionPlan::with_metrics(plan).indent(true);
        tracing::trace!(query = context, "executed plan:\n{shown}");
    }
}

/// Like [`collect_sql`], but always at least one batch: an empty one with the query's schema
/// when it has no rows, so that writes (and overwrites) still know the schema.
pub async fn collect_or_empty(
    ctx: &SessionContext,
    context: &str,
    sql: &str,
) -> Result<Vec<RecordBatch>> {
    let (schema, mut batches) = collect_with_schema(ctx, context, sql, &[]).await?;
    batches.retain(|b| b.num_rows() > 0);
    if batches.is_empty() {
        batches.push(RecordBatch::new_empty(schema));
    }
    Ok(batches)
}

/// Runs `sql` in `ctx` and registers its result there as the in-memory table `name`, in as
/// many partitions as the session runs in parallel or as the query's plan has, whichever is
/// more (so the queries that read it use every core). A result read by several queries, or
/// several times by one, is computed once. Returns the number of rows. In a session on a
/// cluster, the result is kept as Parquet files in the session's scratch space instead.
pub async fn materialize(ctx: &SessionContext, name: &str, sql: &str) -> Result<usize> {
    materialize_with(ctx, name, sql, &[]).await
}

/// Like [`materialize`], with values for the query's named parameters.
pub async fn materialize_with(
    ctx: &SessionContext,
    name: &str,
    sql: &str,
    params: Params<'_>,
) -> Result<usize> {
    if let Some(scratch) = Scratch::of(ctx) {
        let frame = frame_of(ctx, name, sql, params).await?;
        return scratch.materialize(ctx, name, frame).await;
    }
    let (schema, collected) = collect_partitions(ctx, name, sql, params).await?;
    let partitions = target_partitions(ctx);
    let collected = if collected.len() >= partitions {
        collected
    } else {
        spread(collected.into_iter().flatten().collect(), partitions)
    };
    register_partitions(ctx, name, schema, collected)
}

/// Like [`materialize`], in `partitions` partitions, for a query that ends in `ORDER BY`:
/// each core's sorted share of the result is kept as it is, spread over its part of the
/// partitions (each a range of that share), instead of being merged with the other shares into
/// one order on one core. Each partition is in order; together they are not. For a partitioned
/// write, which needs each stream's rows grouped, not all rows in one order: merging 10 million
/// listens by play time took up to 1.8 s on one core.
pub async fn materialize_sorted_shares(
    ctx: &SessionContext,
    name: &str,
    sql: &str,
    partitions: usize,
) -> Result<usize> {
    if Scratch::of(ctx).is_some() {
        return materialize_with(ctx, name, sql, &[]).await;
    }
    let (mut plan, task) = physical_plan(ctx, name, sql, &[]).await?;
    if let Some(merge) = plan.downcast_ref::<SortPreservingMergeExec>()
        && merge.fetch().is_none()
    {
        plan = Arc::clone(merge.input());
    }
    let (schema, shares) = run_partitions(name, plan, task).await?;
    let per_share = partitions.div_ceil(shares.len().max(1));
    let collected = shares
        .into_iter()
        .flat_map(|share| spread(share, per_share))
        .collect();
    register_partitions(ctx, name, schema, collected)
}

/// Registers `batches` (at least one, for the schema) in `ctx` as the in-memory table `name`,
/// spread over as many partitions as the session runs in parallel (in a session on a cluster,
/// as a Parquet file in its scratch space). Returns the number of rows.
pub async fn register_batches(
    ctx: &SessionContext,
    name: &str,
    batches: Vec<RecordBatch>,
) -> Result<usize> {
    if let Some(scratch) = Scratch::of(ctx) {
        return scratch.register_batches(ctx, name, batches).await;
    }
    let schema = batches[0].schema();
    let partitions = spread(batches, target_partitions(ctx));
    register_partitions(ctx, name, schema, partitions)
}

/// `batches` in `parallel` partitions, each a run of consecutive batches, so that the
/// partitions of an ordered result (listens by play time) hold different ranges of it.
fn spread(batches: Vec<RecordBatch>, parallel: usize) -> Vec<Vec<RecordBatch>> {
    let parallel = parallel.max(1);
    let per_partition = batches.len().div_ceil(parallel).max(1);
    let mut partitions = vec![Vec::new(); parallel];
    for (i, batch) in batches.into_iter().enumerate() {
        partitions[i / per_partition].push(batch);
    }
    partitions
}

fn register_partitions(
    ctx: &SessionContext,
    name: &str,
    schema: SchemaRef,
    partitions: Vec<Vec<RecordBatch>>,
) -> Result<usize> {
    let rows = partitions.iter().flatten().map(RecordBatch::num_rows).sum();
    let query_error = |e| LakehouseError::query(name, e);
    let table = MemTable::try_new(schema, partitions).map_err(query_error)?;
    ctx.register_table(name, Arc::new(table))
        .map_err(query_error)?;
    Ok(rows)
}
