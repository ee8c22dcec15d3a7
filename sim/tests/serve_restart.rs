//! `dynasim serve --data-dir`: every acknowledged write survives kill -9 and a restart,
//! and the global table keeps replicating afterwards (the replicators' stamps and
//! vector clocks are rebuilt from the write-ahead log).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Served {
    child: Child,
    endpoints: Vec<String>,
    /// Kept open so the server's later stdout lines have a reader.
    _stdout: std::io::Lines<BufReader<std::process::ChildStdout>>,
}

fn serve(data_dir: &std::path::Path) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dynasim"))
        .args([
            "serve",
            "--regions",
            "us-east-1,eu-west-1",
            "--port",
            "0",
            "--data-dir",
        ])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("dynasim serve starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout piped")).lines();
    let mut endpoints = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("banner line");
        if line.starts_with("control ") {
            break;
        }
        let url = line
            .split_whitespace()
            .nth(1)
            .expect("region line: name url");
        endpoints.push(url.trim_start_matches("http://").to_string());
    }
    assert_eq!(endpoints.len(), 2, "one endpoint per region");
    Served {
        child,
        endpoints,
        _stdout: lines,
    }
}

/// One DynamoDB JSON 1.0 call over a plain socket: (status, body).
fn call(addr: &str, op: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("endpoint reachable");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Target: DynamoDB_20120810.{op}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().expect("status code");
    let body = response.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (status, body.to_string())
}

fn ok(addr: &str, op: &str, body: &str) -> serde_json::Value {
    let (status, text) = call(addr, op, body);
    assert_eq!(status, 200, "{op} failed: {text}");
    serde_json::from_str(&text).expect("JSON response")
}

fn put(addr: &str, key: &str, value: &str) {
    ok(
        addr,
        "PutItem",
        &format!(
            r#"{{"TableName":"orders","Item":{{"pk":{{"S":"{key}"}},"v":{{"S":"{value}"}}}}}}"#
        ),
    );
}

fn count(addr: &str) -> u64 {
    ok(addr, "Scan", r#"{"TableName":"orders"}"#)["Count"]
        .as_u64()
        .expect("Count")
}

fn wait_for(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn acknowledged_writes_survive_kill_9_and_replication_resumes() {
    let dir = std::env::temp_dir().join(format!("dynasim-wal-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut first = serve(&dir);
    let (us, eu) = (first.endpoints[0].clone(), first.endpoints[1].clone());
    ok(
        &us,
        "CreateTable",
        r#"{"TableName":"orders","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],
            "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST"}"#,
    );
    ok(
        &us,
        "UpdateTable",
        r#"{"TableName":"orders","ReplicaUpdates":[{"Create":{"RegionName":"eu-west-1"}}]}"#,
    );
    for i in 0..50 {
        put(&us, &format!("us-{i}"), "v1");
    }
    for i in 0..10 {
        put(&eu, &format!("eu-{i}"), "v1");
    }
    put(&us, "us-0", "v2"); // an overwrite: the later value must win after restart
    first.child.kill().expect("kill -9");
    first.child.wait().unwrap();

    let mut second = serve(&dir);
    let (us, eu) = (second.endpoints[0].clone(), second.endpoints[1].clone());
    let item = ok(
        &us,
        "GetItem",
        r#"{"TableName":"orders","Key":{"pk":{"S":"us-0"}}}"#,
    );
    assert_eq!(item["Item"]["v"]["S"], "v2");
    for i in 0..10 {
        let got = ok(
            &eu,
            "GetItem",
            &format!(r#"{{"TableName":"orders","Key":{{"pk":{{"S":"eu-{i}"}}}}}}"#),
        );
        assert!(got.get("Item").is_some(), "eu-{i} lost");
    }
    let described = ok(&eu, "DescribeTable", r#"{"TableName":"orders"}"#);
    assert_eq!(
        described["Table"]["Replicas"].as_array().map(Vec::len),
        Some(2)
    );
    // Everything acknowledged anywhere reaches every replica.
    wait_for("convergence after restart", || {
        count(&us) == 60 && count(&eu) == 60
    });
    // New writes keep replicating: stamps and vector clocks continue where they were.
    put(&us, "after", "restart");
    put(&eu, "eu-after", "restart");
    wait_for("replication after restart", || {
        count(&us) == 62 && count(&eu) == 62
    });
    second.child.kill().unwrap();
    second.child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
