//! An S3-compatible server for tests: moto's, from PyPI, in a process of its own on a free
//! local port, with one bucket. The server's integration tests use it too (by path).

use std::collections::HashMap;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lakehouse::Lake;

/// The server, stopped when dropped.
pub struct S3Server {
    child: Child,
    pub endpoint: String,
    /// The Python with boto3 beside moto.
    python: String,
}

pub const BUCKET: &str = "soundlake-lake";

impl S3Server {
    /// Starts moto's server from the virtualenv of `python` and creates [`BUCKET`].
    pub fn start(python: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let moto = std::path::Path::new(python).with_file_name("moto_server");
        let child = Command::new(moto)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting moto's S3 server");
        let server = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            python: python.to_owned(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the S3 server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        server.boto3(&format!("s3.create_bucket(Bucket='{BUCKET}')"));
        server
    }

    /// Runs `statement` in Python with `s3`, a boto3 client of the server; returns its output.
    fn boto3(&self, statement: &str) -> String {
        let script = format!(
            "import boto3\n\
             s3 = boto3.client('s3', endpoint_url='{}', region_name='us-east-1', \
             aws_access_key_id='soundlake', aws_secret_access_key='soundlake')\n\
             {statement}",
            self.endpoint
        );
        let out = Command::new(&self.python)
            .args(["-c", &script])
            .output()
            .expect("running boto3");
        assert!(
            out.status.success(),
            "{statement}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8 output")
    }

    /// The keys under `prefix` in the bucket, sorted.
    #[allow(dead_code)] // the server's tests use it; the lakehouse's do not
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        let listed = self.boto3(&format!(
            "for page in s3.get_paginator('list_objects_v2').paginate(Bucket='{BUCKET}', \
             Prefix='{prefix}'):\n    \
             [print(o['Key']) for o in page.get('Contents', [])]"
        ));
        let mut keys: Vec<String> = listed.lines().map(str::to_owned).collect();
        keys.sort();
        keys
    }

    /// The store's settings, as delta-rs and soundlake's `AWS_*` variables name them.
    pub fn settings(&self) -> [(&'static str, String); 5] {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "soundlake".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "soundlake".to_owned()),
            ("AWS_ALLOW_HTTP", "true".to_owned()),
        ]
    }

    /// The lake under `prefix` in the bucket.
    pub fn lake(&self, prefix: &str) -> Lake {
        let options: HashMap<String, String> = self
            .settings()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        Lake::at(&format!("s3://{BUCKET}/{prefix}"), options).expect("an S3 lake")
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
