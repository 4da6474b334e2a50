//! The lake as the admin page shows it: every table at its latest version, and any table as
//! it was at an earlier version (time travel) with its history.

use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::types::{clock_time, format_count};

/// One commit of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LakeCommit {
    pub version: i64,
    /// RFC 3339.
    pub timestamp: Option<String>,
    /// Delta's name of the operation (`WRITE`, `OPTIMIZE`, …), and soundlake's.
    pub operation: String,
}

/// A table at one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LakeTable {
    /// `layer/name`.
    pub table: String,
    pub version: i64,
    pub latest_version: i64,
    pub files: i64,
    pub size_bytes: i64,
    pub rows: i64,
    pub partitions: i64,
    /// The newest commits first, up to the version described.
    pub history: Vec<LakeCommit>,
}

#[cfg(feature = "ssr")]
impl From<lakehouse::lake_info::TableInfo> for LakeTable {
    fn from(info: lakehouse::lake_info::TableInfo) -> Self {
        Self {
            table: info.table,
            version: info.version,
            latest_version: info.latest_version,
            files: info.files as i64,
            size_bytes: info.size_bytes,
            rows: info.rows,
            partitions: info.partitions as i64,
            history: info
                .history
                .into_iter()
                .map(|c| LakeCommit {
                    version: c.version,
                    timestamp: c.timestamp.map(|t| t.to_rfc3339()),
                    operation: match (c.operation, c.soundlake_operation) {
                        (Some(delta), Some(ours)) => format!("{delta}: {ours}"),
                        (Some(one), None) | (None, Some(one)) => one,
                        (None, None) => String::new(),
                    },
                })
                .collect(),
        }
    }
}

/// Every table of the lake at its latest version, with its last 5 commits. Admins only.
#[server(input = GetUrl, endpoint = "lake_tables")]
pub async fn list_lake_tables() -> Result<Vec<LakeTable>, ServerFnError> {
    crate::server_fns::require(&[crate::types::Role::Admin])?;
    let lake = expect_context::<lakehouse::Lake>();
    let tables = lakehouse::lake_info::describe_all(&lake, 5).await?;
    Ok(tables.into_iter().map(LakeTable::from).collect())
}

/// One table (`layer/name`) at `version` (its latest when negative), with its last 20
/// commits up to that version. Admins only.
#[server(input = GetUrl, endpoint = "lake_table")]
pub async fn lake_table_at(table: String, version: i64) -> Result<LakeTable, ServerFnError> {
    crate::server_fns::require(&[crate::types::Role::Admin])?;
    let lake = expect_context::<lakehouse::Lake>();
    let Some(name) = lakehouse::lake_info::find_table(&table) else {
        return Err(ServerFnError::new(format!("the lake has no table {table}")));
    };
    let version = (version >= 0).then_some(version);
    match lakehouse::lake_info::describe(&lake, name, version, 20).await? {
        Some(info) => Ok(info.into()),
        None => Err(ServerFnError::new(format!(
            "{table} has not been written yet"
        ))),
    }
}

/// Bytes as "812 KB", "3.4 MB", "1.2 GB".
fn size(bytes: i64) -> String {
    let b = bytes as f64;
    if b < 1e6 {
        format!("{:.0} KB", b / 1e3)
    } else if b < 1e9 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.1} GB", b / 1e9)
    }
}

/// The lake section of `/admin`: the tables, and the one named by `?table=` (at `?version=`)
/// with its history, each commit a link to the table as it was then.
#[component]
pub fn LakeTables() -> impl IntoView {
    let query = use_query_map();
    let chosen = Memo::new(move |_| {
        query.with(|q| {
            let table = q.get("table").unwrap_or_default();
            let version = q
                .get("version")
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(-1);
            (table, version)
        })
    });
    let tables = Resource::new(|| (), |_| list_lake_tables());
    let detail = Resource::new(
        move || chosen.get(),
        |(table, version)| async move {
            if table.is_empty() {
                Ok(None)
            } else {
                lake_table_at(table, version).await.map(Some)
            }
        },
    );
    let rows = move || {
        tables.get().map(|answer| match answer {
            Ok(tables) => {
                let rows = tables
                    .into_iter()
                    .map(|t| {
                        let href = format!("/admin?table={}", t.table);
                        view! {
                            <tr>
                                <td><A href=href>{t.table.clone()}</A></td>
                                <td class="num">{t.version}</td>
                                <td class="num">{format_count(t.rows)}</td>
                                <td class="num">{format_count(t.files)}</td>
                                <td class="num">{size(t.size_bytes)}</td>
                                <td class="num">{format_count(t.partitions)}</td>
                            </tr>
                        }
                    })
                    .collect_view();
                view! {
                    <table class="lake-tables">
                        <thead>
                            <tr>
                                <th>"Table"</th><th>"Version"</th><th>"Rows"</th>
                                <th>"Files"</th><th>"Size"</th><th>"Partitions"</th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                }
                .into_any()
            }
            Err(error) => {
                view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any()
            }
        })
    };
    let table_detail = move || {
        detail.get().map(|answer| match answer {
            Ok(None) => ().into_any(),
            Ok(Some(t)) => view! { <TableHistory table=t /> }.into_any(),
            Err(error) => {
                view! { <p class="error" role="alert">{error.to_string()}</p> }.into_any()
            }
        })
    };
    view! {
        <section id="lake" class="admin-lake">
            <h2>"Lake"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {rows}
                {table_detail}
            </Transition>
        </section>
    }
}

#[component]
fn TableHistory(table: LakeTable) -> impl IntoView {
    let heading = if table.version == table.latest_version {
        format!("{} at version {} (latest)", table.table, table.version)
    } else {
        format!(
            "{} as it was at version {} (latest {})",
            table.table, table.version, table.latest_version
        )
    };
    let name = table.table.clone();
    let commits = table
        .history
        .into_iter()
        .map(|c| {
            let href = format!("/admin?table={name}&version={}", c.version);
            let when = c.timestamp.as_deref().map(clock_time).unwrap_or_default();
            view! {
                <li>
                    <A href=href>{format!("version {}", c.version)}</A>
                    " · " {when} " · " {c.operation}
                </li>
            }
        })
        .collect_view();
    view! {
        <div id="lake-table" class="lake-table">
            <h3>{heading}</h3>
            <p>
                {format!(
                    "{} rows in {} files ({}), {} partitions",
                    format_count(table.rows),
                    format_count(table.files),
                    size(table.size_bytes),
                    format_count(table.partitions)
                )}
            </p>
            <ol class="history">{commits}</ol>
        </div>
    }
}
