//! Native load generator for any DynamoDB JSON 1.0 endpoint (dynasim serve, dynalite, ...):
//! closed-loop keep-alive connections on plain threads, one request in flight each.
//!
//! ```sh
//! cargo run --release -p dynasim-server --example loadgen -- \
//!     --endpoint 127.0.0.1:8000 --connections 8 --seconds 5 [--server-pid PID]
//! ```
//!
//! Runs PutItem, GetItem and Query (50 items per page) in turn and prints one Markdown
//! row each: ops/s, p50 and p99 latency, and with `--server-pid` the server's CPU time per
//! operation (from /proc/PID/stat).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A fixed header so emulators that insist on one accept it; dynasim without --credentials
/// does not verify it.
const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000";

struct Conn {
    stream: TcpStream,
    host: String,
    /// Reused across requests: the request being sent, and the bytes read back.
    request: Vec<u8>,
    response: Vec<u8>,
}

impl Conn {
    fn open(addr: &str) -> Conn {
        let s = TcpStream::connect(addr).expect("endpoint reachable");
        s.set_nodelay(true).expect("nodelay");
        Conn {
            stream: s,
            host: addr.to_string(),
            request: Vec::with_capacity(1024),
            response: Vec::with_capacity(16 * 1024),
        }
    }

    /// One request; returns the status code (the body is read and dropped). The request
    /// goes out in one write and the response usually comes back in one read, so the
    /// generator spends little CPU of its own on the shared cores.
    fn call(&mut self, op: &str, body: &str) -> u16 {
        self.request.clear();
        write!(
            self.request,
            "POST / HTTP/1.1\r\nHost: {}\r\nX-Amz-Target: DynamoDB_20120810.{op}\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Date: 20260101T000000Z\r\nAuthorization: {AUTHORIZATION}\r\nContent-Length: {}\r\n\r\n{body}",
            self.host,
            body.len()
        )
        .expect("format into a Vec");
        self.stream.write_all(&self.request).expect("send");
        self.response.clear();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some((status, head_len, body_len)) = parse_head(&self.response)
                && self.response.len() >= head_len + body_len
            {
                assert_eq!(
                    self.response.len(),
                    head_len + body_len,
                    "one request in flight per connection"
                );
                return status;
            }
            let n = self.stream.read(&mut chunk).expect("response");
            assert!(n > 0, "the server closed the connection");
            self.response.extend_from_slice(&chunk[..n]);
        }
    }
}

/// `(status, head length including the blank line, Content-Length)` once the head is in.
fn parse_head(bytes: &[u8]) -> Option<(u16, usize, usize)> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&bytes[..end]).ok()?;
    let status = head.get(9..12)?.parse().ok()?;
    let length = head
        .split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    Some((status, end, length))
}

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

const PAYLOAD: &str = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

/// A PutItem body: a 100-byte payload plus key and a number.
fn item(table: &str, pk: &str, sk: u64) -> String {
    format!(
        r#"{{"TableName":"{table}","Item":{{"pk":{{"S":"{pk}"}},"sk":{{"N":"{sk}"}},"payload":{{"S":"{PAYLOAD}"}},"n":{{"N":"{sk}"}}}}}}"#
    )
}

fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn main() {
    let endpoint = arg("--endpoint", "127.0.0.1:8000");
    let connections: usize = arg("--connections", "8").parse().expect("--connections N");
    let seconds: u64 = arg("--seconds", "5").parse().expect("--seconds N");
    let pid = arg("--server-pid", "");
    let table = format!("bench{}", std::process::id());
    let mut setup = Conn::open(&endpoint);
    let create = format!(
        r#"{{"TableName":"{table}","KeySchema":[{{"AttributeName":"pk","KeyType":"HASH"}},{{"AttributeName":"sk","KeyType":"RANGE"}}],"AttributeDefinitions":[{{"AttributeName":"pk","AttributeType":"S"}},{{"AttributeName":"sk","AttributeType":"N"}}],"ProvisionedThroughput":{{"ReadCapacityUnits":1000,"WriteCapacityUnits":1000}}}}"#
    );
    assert_eq!(setup.call("CreateTable", &create), 200, "CreateTable");
    // dynalite creates tables asynchronously: wait for ACTIVE.
    std::thread::sleep(Duration::from_millis(1_000));
    for sk in 0..50 {
        assert_eq!(setup.call("PutItem", &item(&table, "query-me", sk)), 200);
    }
    for k in 0..1_000 {
        assert_eq!(
            setup.call("PutItem", &item(&table, &format!("k{k}"), 0)),
            200
        );
    }
    println!("| operation | ops/s | p50 ms | p99 ms | server CPU us/op |");
    println!("|---|---:|---:|---:|---:|");
    for op in ["PutItem", "GetItem", "Query"] {
        let table = table.clone();
        let body = move |i: u64| -> String {
            match op {
                "PutItem" => item(&table, &format!("k{}", i % 1_000), i % 7),
                "GetItem" => format!(
                    r#"{{"TableName":"{table}","Key":{{"pk":{{"S":"k{}"}},"sk":{{"N":"0"}}}}}}"#,
                    i % 1_000
                ),
                _ => format!(
                    r#"{{"TableName":"{table}","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{{":p":{{"S":"query-me"}}}}}}"#
                ),
            }
        };
        let body = Arc::new(body);
        let stop = Arc::new(AtomicBool::new(false));
        let cpu_before = cpu_ticks(&pid);
        let started = Instant::now();
        let workers: Vec<_> = (0..connections)
            .map(|w| {
                let endpoint = endpoint.clone();
                let stop = stop.clone();
                let body = body.clone();
                std::thread::spawn(move || {
                    let mut conn = Conn::open(&endpoint);
                    let mut latencies_us = Vec::new();
                    let mut i = w as u64 * 1_000_003;
                    while !stop.load(Ordering::Relaxed) {
                        let request = body(i);
                        let t = Instant::now();
                        let status = conn.call(op, &request);
                        latencies_us.push(t.elapsed().as_micros() as u64);
                        assert_eq!(status, 200, "{op} failed");
                        i += 1;
                    }
                    latencies_us
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs(seconds));
        stop.store(true, Ordering::Relaxed);
        let mut all: Vec<u64> = workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect();
        let elapsed = started.elapsed().as_secs_f64();
        let cpu_after = cpu_ticks(&pid);
        all.sort_unstable();
        let q = |p: f64| all[((all.len() as f64 - 1.0) * p) as usize] as f64 / 1e3;
        let ops = all.len() as f64;
        let cpu = match (cpu_before, cpu_after) {
            // /proc ticks are 1/100 s on Linux.
            (Some(a), Some(b)) => format!("{:.1}", (b - a) as f64 * 10_000.0 / ops),
            _ => "-".to_string(),
        };
        println!(
            "| {op} | {:.0} | {:.2} | {:.2} | {cpu} |",
            ops / elapsed,
            q(0.5),
            q(0.99)
        );
    }
}
