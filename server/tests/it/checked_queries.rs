//! The queries checked at compile time are checked against `.sqlx/`, the descriptions
//! `./dev.sh queries` wrote from a migrated database; the build never sees the schema itself.
//! Here every description is compared with what a database migrated now says of the same
//! query, so a migration that changes a checked query's columns, types or nullability fails
//! the tests until `.sqlx/` is written again.

use std::path::Path;

use lakehouse::gold::admin::drop_database;
use sqlx::{AssertSqlSafe, Executor, SqlSafeStr};

use crate::support::{migrated_database, server};

#[tokio::test]
async fn every_checked_query_is_described_as_the_migrated_schema_describes_it() {
    let (database, pool) = migrated_database().await;

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.sqlx");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("the .sqlx folder") {
        let path = entry.expect("a .sqlx entry").path();
        let stored: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("a query description"))
                .expect("JSON");
        let query = stored["query"]
            .as_str()
            .expect("the query's text")
            .to_owned();
        let described = (&pool)
            .describe(AssertSqlSafe(query.clone()).into_sql_str())
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{}: the migrated schema refuses\n{query}\n{e}",
                    path.display()
                )
            });
        assert_eq!(
            serde_json::to_value(&described).expect("a description as JSON"),
            stored["describe"],
            "{} no longer describes\n{query}\nrun ./dev.sh queries and commit .sqlx/",
            path.display()
        );
        checked += 1;
    }
    assert!(checked > 0, "no query descriptions in {}", dir.display());
    pool.close().await;
    drop_database(&server(), &database)
        .await
        .expect("dropping the test database");
}
