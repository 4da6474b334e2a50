//! The private PostgreSQL cluster started when no DATABASE_URL is set.

use server::postgres::EmbeddedPostgres;
use sqlx::Connection;

#[tokio::test]
async fn a_private_cluster_starts_serves_is_reused_and_stops() {
    let dir = tempfile::Builder::new()
        .prefix("soundlake-pg-")
        .tempdir_in("/tmp")
        .unwrap();
    let root = dir.path().join("postgres");
    let url = {
        let cluster = tokio::task::spawn_blocking({
            let root = root.clone();
            move || EmbeddedPostgres::start(&root, None)
        })
        .await
        .unwrap()
        .expect("the cluster starts");
        let mut conn = sqlx::PgConnection::connect(&cluster.admin_url())
            .await
            .expect("it accepts connections");
        let one: i32 = sqlx::query_scalar("SELECT 1")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(one, 1);
        conn.close().await.unwrap();

        // A second handle attaches to the running cluster and does not stop it.
        let again = EmbeddedPostgres::start(&root, None).expect("attaching");
        assert_eq!(again.admin_url(), cluster.admin_url());
        drop(again);
        assert!(
            sqlx::PgConnection::connect(&cluster.admin_url())
                .await
                .is_ok()
        );
        let url = cluster.admin_url();
        tokio::task::spawn_blocking(move || drop(cluster))
            .await
            .unwrap();
        url
    };
    assert!(
        sqlx::PgConnection::connect(&url).await.is_err(),
        "stopped with its owner"
    );
    assert!(
        root.join("data").join("PG_VERSION").exists(),
        "the cluster stays on disk for reuse"
    );
}
