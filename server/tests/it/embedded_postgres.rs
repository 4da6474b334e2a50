//! The private PostgreSQL cluster started when no DATABASE_URL is set.

use server::infra::embedded_postgres::EmbeddedPostgres;
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

        // Only through a socket in a folder its owner alone may open: no TCP port.
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(cluster.socket_dir())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "{mode:o}");
        let listening: Vec<String> = std::fs::read_to_string("/proc/net/tcp")
            .unwrap()
            .lines()
            .chain(
                std::fs::read_to_string("/proc/net/tcp6")
                    .unwrap_or_default()
                    .lines(),
            )
            .filter(|l| l.split_whitespace().nth(3) == Some("0A"))
            .map(str::to_owned)
            .collect();
        let port = format!(":{:04X}", 54_329);
        assert!(
            !listening.iter().any(|l| l
                .split_whitespace()
                .nth(1)
                .is_some_and(|a| a.ends_with(&port))),
            "nothing listens on TCP port 54329"
        );
        assert!(
            cluster.admin_url().contains("?host=/"),
            "{}",
            cluster.admin_url()
        );

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
