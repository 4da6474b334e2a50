//! The lake: where each Delta table lives (a local folder or an object store), opening
//! tables, and registering them in DataFusion sessions, local ones or ones on a Ballista
//! cluster (see [`crate::query`] for the sessions and for running SQL).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use datafusion::arrow::array::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::prelude::SessionContext;
use deltalake::logstore::ObjectStoreRef;
use deltalake::logstore::object_store::path::Path as ObjectPath;
use deltalake::logstore::object_store::{
    Error as ObjectStoreError, ObjectStoreExt, PutMode, PutOptions,
};
use deltalake::{DeltaTable, DeltaTableBuilder, DeltaTableError};
use futures::{StreamExt, TryStreamExt};
use url::Url;

use crate::error::{LakehouseError, Result};
use crate::query::cluster::{Engine, Scratch, SnapshotTable, remote_session};
use crate::query::{Params, collect_sql_with, new_session, session_config};

/// A lake table: its layer and name, e.g. `silver/tracks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TableRef {
    pub layer: &'static str,
    pub name: &'static str,
}

impl TableRef {
    pub const fn new(layer: &'static str, name: &'static str) -> Self {
        Self { layer, name }
    }

    /// `layer/name`, as tables are named in logs, reports and commit metadata.
    pub fn qualified(&self) -> String {
        format!("{}/{}", self.layer, self.name)
    }

    /// `layer_name`, the name the table is registered under for SQL.
    pub fn sql_name(&self) -> String {
        format!("{}_{}", self.layer, self.name)
    }
}

impl std::fmt::Display for TableRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.layer, self.name)
    }
}

/// Where the lake's tables live: `<root>/<layer>/<table>/`, in a local folder or under an
/// object store URL (`s3://bucket/prefix`, with the store's settings).
#[derive(Clone)]
pub struct Lake {
    root: Root,
    /// Where its sessions run their SQL.
    engine: Engine,
}

#[derive(Clone)]
enum Root {
    Folder(PathBuf),
    Store {
        url: Url,
        /// The object store's settings (endpoint, region, credentials), as delta-rs names them.
        options: HashMap<String, String>,
        /// The tables found with a commit log (`layer/name`), so that each is listed for it
        /// once: a table written keeps its log.
        written: Arc<Mutex<HashSet<String>>>,
    },
}

impl std::fmt::Debug for Lake {
    /// The location without the store's settings, which may hold credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Lake({self})")
    }
}

impl std::fmt::Display for Lake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.root {
            Root::Folder(path) => write!(f, "{}", path.display()),
            Root::Store { url, .. } => write!(f, "{url}"),
        }
    }
}

impl Lake {
    /// A lake in a local folder.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: Root::Folder(root.into()),
            engine: Engine::Local,
        }
    }

    /// A lake at `url`: `s3://bucket/prefix` with the object store's `options`
    /// (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, ...), or a local folder as a path
    /// or a `file://` URL.
    pub fn at(url: &str, options: HashMap<String, String>) -> Result<Self> {
        let invalid = |detail: String| LakehouseError::Config(format!("lake URL {url}: {detail}"));
        match Url::parse(url) {
            Ok(parsed) if parsed.scheme() == "file" => parsed
                .to_file_path()
                .map(Self::new)
                .map_err(|()| invalid("not a local path".into())),
            Ok(parsed) if parsed.scheme() == "s3" || parsed.scheme() == "s3a" => {
                if parsed.host_str().is_none_or(str::is_empty) {
                    return Err(invalid("no bucket".into()));
                }
                let mut url = parsed;
                if !url.path().ends_with('/') {
                    url.set_path(&format!("{}/", url.path()));
                }
                Ok(Self {
                    root: Root::Store {
                        url,
                        options,
                        written: Arc::default(),
                    },
                    engine: Engine::Local,
                })
            }
            Ok(parsed) if parsed.scheme().len() > 1 => Err(invalid(format!(
                "the scheme {} is not supported (s3://, file:// or a path)",
                parsed.scheme()
            ))),
            // A plain path (a one-letter "scheme" is a Windows drive).
            _ => Ok(Self::new(url)),
        }
    }

    /// The lake with its sessions' SQL run by `engine`. A Ballista cluster's members read and
    /// write the lake's files by their URLs: a local folder must be one they all reach by the
    /// same path (one machine, or a shared file system); an object store they reach with
    /// their own `AWS_*` settings.
    pub fn with_engine(&self, engine: Engine) -> Self {
        Self {
            engine,
            ..self.clone()
        }
    }

    /// The folder sessions on a cluster keep their intermediate results in, ending in `/`.
    fn scratch_url(&self) -> Result<Url> {
        let url = self.table_url(TableRef::new("_scratch", ""))?;
        let text = url.as_str().trim_end_matches('/');
        Url::parse(&format!("{text}/"))
            .map_err(|e| LakehouseError::Config(format!("the scratch folder {text}: {e}")))
    }

    /// An object store rooted at the folder `url` of the lake, with the lake's settings.
    fn store_at(&self, url: &Url) -> Result<ObjectStoreRef> {
        let options = match &self.root {
            Root::Folder(_) => HashMap::new(),
            Root::Store { options, .. } => options.clone(),
        };
        deltalake::logstore::store_for(url, options)
            .map_err(|e| LakehouseError::Config(format!("the lake's store at {url}: {e}")))
    }

    /// Removes what sessions on a cluster kept in the scratch folder. For the end of a job:
    /// no session of the lake may still read it.
    pub(crate) async fn clear_scratch(&self) -> Result<()> {
        if let Some(root) = self.local_root() {
            let dir = root.join("_scratch");
            return match std::fs::remove_dir_all(&dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(LakehouseError::io("removing the scratch folder", dir, e))
                }
                _ => Ok(()),
            };
        }
        let url = self.scratch_url()?;
        let store = self.store_at(&url)?;
        let clear_error =
            |e| LakehouseError::Config(format!("removing the scratch folder {url}: {e}"));
        // One listing; the store deletes in batches where it can (S3: up to 1,000 keys a request).
        let files = store.list(None).map_ok(|file| file.location).boxed();
        store
            .delete_stream(files)
            .try_for_each(|_| futures::future::ok(()))
            .await
            .map_err(clear_error)
    }

    /// The local folder of the lake, when it is in one.
    pub fn local_root(&self) -> Option<&Path> {
        match &self.root {
            Root::Folder(path) => Some(path),
            Root::Store { .. } => None,
        }
    }

    /// The local folder of a table, when the lake is in a local folder.
    pub fn local_table_dir(&self, table: TableRef) -> Option<PathBuf> {
        self.local_root()
            .map(|root| root.join(table.layer).join(table.name))
    }

    /// The URL of a table's folder.
    pub fn table_url(&self, table: TableRef) -> Result<Url> {
        match &self.root {
            Root::Folder(root) => {
                let dir = root.join(table.layer).join(table.name);
                let location = dir.to_str().ok_or_else(|| LakehouseError::Schema {
                    table: table.qualified(),
                    detail: format!("path {} is not valid UTF-8", dir.display()),
                })?;
                deltalake::ensure_table_uri(location)
                    .map_err(|e| LakehouseError::delta(table.qualified(), e))
            }
            Root::Store { url, .. } => url
                .join(&format!("{}/{}/", table.layer, table.name))
                .map_err(|e| LakehouseError::Config(format!("lake URL {url}: {e}"))),
        }
    }

    fn builder(&self, table: TableRef) -> Result<DeltaTableBuilder> {
        let url = self.table_url(table)?;
        let builder = DeltaTableBuilder::from_url(url)
            .map_err(|e| LakehouseError::delta(table.qualified(), e))?;
        Ok(match &self.root {
            Root::Folder(_) => builder,
            Root::Store { options, .. } => builder.with_storage_options(options.clone()),
        })
    }

    /// A handle on a table, loaded at its latest version when it exists; an unloaded handle
    /// (`version() == None`) otherwise, through which the first write creates the table.
    pub async fn table(&self, table: TableRef) -> Result<DeltaTable> {
        let delta_error = |e| LakehouseError::delta(table.qualified(), e);
        if !self.has_log(table).await? {
            return self.builder(table)?.build().map_err(delta_error);
        }
        match self.builder(table)?.load().await {
            Ok(loaded) => Ok(loaded),
            Err(DeltaTableError::NotATable(_)) if self.local_root().is_none() => {
                self.builder(table)?.build().map_err(delta_error)
            }
            Err(e) => Err(delta_error(e)),
        }
    }

    /// Whether `table` has a commit log, that is, has been written. Asked before loading a
    /// table, because delta-rs logs an error for every table it is asked to load and cannot find:
    /// a look for the log folder on disk; on a store, a listing of its first objects until the
    /// log has been found once.
    async fn has_log(&self, table: TableRef) -> Result<bool> {
        let written = match &self.root {
            Root::Folder(_) => {
                let dir = self.local_table_dir(table);
                return Ok(dir.is_some_and(|dir| dir.join("_delta_log").exists()));
            }
            Root::Store { written, .. } => written,
        };
        let known = || written.lock().unwrap_or_else(PoisonError::into_inner);
        if known().contains(&table.qualified()) {
            return Ok(true);
        }
        let store = self.store_at(&self.table_url(table)?)?;
        match store
            .list(Some(&ObjectPath::from("_delta_log")))
            .next()
            .await
        {
            None => Ok(false),
            Some(Ok(_)) => {
                known().insert(table.qualified());
                Ok(true)
            }
            Some(Err(e)) => Err(LakehouseError::delta(
                table.qualified(),
                DeltaTableError::from(e),
            )),
        }
    }

    /// The table at its latest version, or `None` when it has never been written.
    pub async fn existing_table(&self, table: TableRef) -> Result<Option<DeltaTable>> {
        match self.table(table).await {
            Ok(t) if t.version().is_some() => Ok(Some(t)),
            Ok(_)
            | Err(LakehouseError::Delta {
                source: DeltaTableError::NotATable(_),
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Refuses an object store that would not keep concurrent commits apart: a Delta commit is
    /// atomic only if writing its log entry fails when the entry exists (a conditional write,
    /// `If-None-Match`). Writes an object twice with that condition and expects the second
    /// refused. A local folder always is (an exclusive create).
    pub async fn check_conditional_writes(&self) -> Result<()> {
        if self.local_root().is_some() {
            return Ok(());
        }
        let probe = TableRef::new("_soundlake", "conditional_writes");
        let store = self.store_at(&self.table_url(probe)?)?;
        let path = ObjectPath::from(format!("probe-{}", uuid::Uuid::new_v4()));
        let create = || PutOptions::from(PutMode::Create);
        store
            .put_opts(&path, "first".into(), create())
            .await
            .map_err(|e| {
                LakehouseError::Config(format!("the lake at {self} cannot be written: {e}"))
            })?;
        let second = store.put_opts(&path, "second".into(), create()).await;
        let _ = store.delete(&path).await;
        match second {
            Err(ObjectStoreError::AlreadyExists { .. }) => Ok(()),
            Ok(_) => Err(LakehouseError::Config(format!(
                "the object store of the lake at {self} overwrote an object that a conditional \
                 write (If-None-Match) should have refused: concurrent commits could be lost, so \
                 soundlake does not write to it"
            ))),
            Err(e) => Err(LakehouseError::Config(format!(
                "the object store of the lake at {self} does not take conditional writes \
                 (If-None-Match): {e}. Concurrent commits could be lost, so soundlake does not \
                 write to it"
            ))),
        }
    }

    /// A DataFusion session with soundlake's settings ([`SESSION_DEFAULTS`](crate::query::SESSION_DEFAULTS)). DataFusion's
    /// settings, these included, can be changed with `DATAFUSION_*` environment variables
    /// (for example `DATAFUSION_EXECUTION_BATCH_SIZE=16384`).
    pub fn session(&self) -> Result<SessionContext> {
        self.session_with(&[])
    }

    /// Like [`Lake::session`], with `settings` (DataFusion keys and values) on top of the
    /// defaults. The environment still has the last word. On a cluster, each session keeps
    /// its intermediate results in a scratch folder of its own.
    pub fn session_with(&self, settings: &[(&str, &str)]) -> Result<SessionContext> {
        match &self.engine {
            Engine::Local => Ok(new_session(settings)),
            Engine::Ballista { host, port } => {
                let folder = format!("{}/", uuid::Uuid::new_v4().simple());
                let url = self.scratch_url()?.join(&folder).map_err(|e| {
                    LakehouseError::Config(format!("a scratch folder of the lake at {self}: {e}"))
                })?;
                let scratch = Scratch::new(url.clone(), self.store_at(&url)?);
                remote_session(session_config(settings), host, *port, scratch)
            }
        }
    }

    /// Runs `sql` over `delta` alone, registered under the table's SQL name (`layer_name`).
    pub async fn query_table(
        &self,
        table: TableRef,
        delta: &DeltaTable,
        sql: &str,
    ) -> Result<Vec<RecordBatch>> {
        self.query_table_with(table, delta, sql, &[]).await
    }

    /// Like [`Lake::query_table`], with values for the query's named parameters.
    pub async fn query_table_with(
        &self,
        table: TableRef,
        delta: &DeltaTable,
        sql: &str,
        params: Params<'_>,
    ) -> Result<Vec<RecordBatch>> {
        let ctx = self.session()?;
        self.register(&ctx, table, delta).await?;
        collect_sql_with(&ctx, &table.qualified(), sql, params).await
    }

    /// Registers `delta` in `ctx` under the table's SQL name (`layer_name`).
    pub async fn register(
        &self,
        ctx: &SessionContext,
        table: TableRef,
        delta: &DeltaTable,
    ) -> Result<()> {
        self.register_as(ctx, &table.sql_name(), table, delta).await
    }

    /// Registers `delta` in `ctx` under `sql_name`: through delta-rs's provider, or, for a
    /// cluster, as the Parquet files of its snapshot.
    pub async fn register_as(
        &self,
        ctx: &SessionContext,
        sql_name: &str,
        table: TableRef,
        delta: &DeltaTable,
    ) -> Result<()> {
        let query_error = |e| LakehouseError::query(table.qualified(), e);
        let provider: Arc<dyn TableProvider> = match self.engine {
            Engine::Local => delta
                .table_provider()
                .with_session(Arc::new(ctx.state()))
                .await
                .map_err(query_error)?,
            Engine::Ballista { .. } => Arc::new(SnapshotTable::of(delta).map_err(query_error)?),
        };
        ctx.deregister_table(sql_name).map_err(query_error)?;
        ctx.register_table(sql_name, provider)
            .map_err(query_error)?;
        Ok(())
    }
}

/// The version application `app_id` recorded in `delta` with a Delta `txn` action (jobs
/// record there which version of their input they read), if the table exists and it did.
pub async fn recorded_version(
    delta: &DeltaTable,
    table: TableRef,
    app_id: &str,
) -> Result<Option<i64>> {
    if delta.version().is_none() {
        return Ok(None);
    }
    let delta_error = |e| LakehouseError::delta(table.qualified(), e);
    let snapshot = delta.snapshot().map_err(delta_error)?;
    snapshot
        .transaction_version(&delta.log_store(), app_id)
        .await
        .map_err(delta_error)
}

/// The number of rows in a table at its latest version (0 when it was never written).
pub async fn count_rows(lake: &Lake, table: TableRef) -> Result<i64> {
    match lake.existing_table(table).await? {
        Some(delta) => count_rows_of(lake, table, &delta).await,
        None => Ok(0),
    }
}

/// The number of rows in `delta` at the version it is loaded at.
pub async fn count_rows_of(lake: &Lake, table: TableRef, delta: &DeltaTable) -> Result<i64> {
    let sql = format!("SELECT count(*) FROM {}", table.sql_name());
    let batches = lake.query_table(table, delta, &sql).await?;
    Ok(first_i64(&batches))
}

/// The first value of the first column of a query's answer, as a count: 0 when there is none.
pub fn first_i64(batches: &[RecordBatch]) -> i64 {
    use datafusion::arrow::array::{Array, AsArray};
    batches
        .first()
        .and_then(|b| {
            b.column(0)
                .as_primitive_opt::<datafusion::arrow::datatypes::Int64Type>()
        })
        .map_or(0, |a| {
            if a.is_empty() || a.is_null(0) {
                0
            } else {
                a.value(0)
            }
        })
}
