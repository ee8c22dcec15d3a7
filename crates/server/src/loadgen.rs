//! A native load generator for any DynamoDB JSON 1.0 endpoint (dynasim serve, dynalite,
//! ...): closed-loop keep-alive connections on plain threads, one request in flight each,
//! or with HTTP/1.1 pipelining several in flight each ([`LoadOptions::depth`]).
//! Used by `dynasim bench` (serve against dynalite) and `examples/loadgen.rs`.
//!
//! [`prepare`] creates a table (hash `pk` S, range `sk` N), waits for it to be ACTIVE and
//! loads 1,000 items plus one 50-item partition; [`run_op`] then runs PutItem, GetItem or
//! Query (that 50-item partition) for a while and reports ops/s, p50 and p99 latency and,
//! given the server's pid, its CPU time per operation (from /proc/PID/stat). Std only;
//! every failure is an `Err` with a message, never a panic. This module reads the wall
//! clock: it measures a server, it is not part of one.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant}; // real time: load generation measures wall time

/// A fixed header so emulators that insist on one accept it; dynasim without
/// `--credentials` does not verify it.
const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000";

const PAYLOAD: &str = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

/// Keys of the PutItem and GetItem load.
const KEYS: u64 = 1_000;
/// Items of the partition every Query reads.
pub const QUERY_ITEMS: u64 = 50;
/// Per-request socket timeout: a stuck server fails the run instead of hanging it.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The operations of the load, in the order [`run`] runs them.
pub const OPERATIONS: [Operation; 3] = [Operation::PutItem, Operation::GetItem, Operation::Query];

/// One kind of request of the load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// PutItem of a ~130-byte item over 1,000 keys.
    PutItem,
    /// GetItem of one of the 1,000 items.
    GetItem,
    /// Query of one 50-item partition (one page).
    Query,
}

impl Operation {
    /// The operation's name (its `X-Amz-Target` suffix).
    pub fn name(self) -> &'static str {
        match self {
            Operation::PutItem => "PutItem",
            Operation::GetItem => "GetItem",
            Operation::Query => "Query",
        }
    }

    fn body(self, table: &str, i: u64) -> String {
        match self {
            Operation::PutItem => item(table, &format!("k{}", i % KEYS), i % 7),
            Operation::GetItem => format!(
                r#"{{"TableName":"{table}","Key":{{"pk":{{"S":"k{}"}},"sk":{{"N":"0"}}}}}}"#,
                i % KEYS
            ),
            Operation::Query => format!(
                r#"{{"TableName":"{table}","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{{":p":{{"S":"query-me"}}}}}}"#
            ),
        }
    }
}

/// Where and how hard to send the load.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// The endpoint's address (`127.0.0.1:8000`).
    pub endpoint: SocketAddr,
    /// Concurrent connections.
    pub connections: usize,
    /// Requests in flight on each connection: 1 is a plain closed loop (send, wait for
    /// the answer, send the next); more pipelines them (HTTP/1.1 pipelining: a new request
    /// is sent as soon as an answer arrives, so `depth` are always outstanding). A
    /// server's capacity shows only once it is kept busy; both servers of a comparison
    /// get the same depth.
    pub depth: usize,
    /// How long each operation runs.
    pub duration: Duration,
    /// The server's process id, for its CPU time per operation (Linux).
    pub server_pid: Option<u32>,
}

/// What one operation's load measured.
#[derive(Clone, Debug)]
pub struct OpResult {
    pub op: Operation,
    /// Requests completed (all answered 200).
    pub requests: u64,
    /// Wall seconds the load ran.
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The server's user + system CPU per request, if its pid was given and readable.
    pub cpu_us_per_op: Option<f64>,
}

impl OpResult {
    /// Requests per second.
    pub fn ops_per_s(&self) -> f64 {
        self.requests as f64 / self.seconds.max(1e-9)
    }
}

/// One keep-alive connection.
struct Conn {
    stream: TcpStream,
    host: String,
    /// Reused across requests: the request being sent, and the bytes read back.
    request: Vec<u8>,
    response: Vec<u8>,
}

impl Conn {
    fn open(addr: SocketAddr) -> Result<Conn, String> {
        let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let setup = stream
            .set_nodelay(true)
            .and_then(|()| stream.set_read_timeout(Some(IO_TIMEOUT)))
            .and_then(|()| stream.set_write_timeout(Some(IO_TIMEOUT)));
        setup.map_err(|e| format!("{addr}: {e}"))?;
        Ok(Conn {
            stream,
            host: addr.to_string(),
            request: Vec::with_capacity(1024),
            response: Vec::with_capacity(16 * 1024),
        })
    }

    /// One request; returns the status code and the body. The request goes out in one
    /// write and the response usually comes back in one read, so the generator spends
    /// little CPU of its own on the shared cores.
    fn call(&mut self, op: &str, body: &str) -> Result<(u16, &[u8]), String> {
        self.request.clear();
        append_request(&mut self.request, &self.host, op, body);
        self.stream
            .write_all(&self.request)
            .map_err(|e| format!("{op}: sending to {}: {e}", self.host))?;
        self.response.clear();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some((status, head_len, body_len)) = parse_head(&self.response)
                && self.response.len() >= head_len + body_len
            {
                if self.response.len() != head_len + body_len {
                    return Err(format!("{op}: {} sent more than one response", self.host));
                }
                return Ok((status, &self.response[head_len..]));
            }
            let n = self
                .stream
                .read(&mut chunk)
                .map_err(|e| format!("{op}: reading from {}: {e}", self.host))?;
            if n == 0 {
                return Err(format!("{op}: {} closed the connection", self.host));
            }
            self.response.extend_from_slice(&chunk[..n]);
        }
    }

    /// Pipelined load until `stop`: `depth` requests are sent in one write, and as answers
    /// come in, as many new requests go out (again in one write), so `depth` stay in
    /// flight. Returns each request's latency (from its write to its answer's last byte)
    /// in microseconds. Answers outstanding at `stop` are read and counted too.
    fn pipeline(
        &mut self,
        op: Operation,
        table: &str,
        depth: usize,
        mut i: u64,
        stop: &AtomicBool,
    ) -> Result<Vec<u32>, String> {
        let name = op.name();
        let mut latencies_us = Vec::new();
        let mut sent: VecDeque<Instant> = VecDeque::with_capacity(depth);
        let mut to_send = depth;
        let mut chunk = vec![0u8; 64 * 1024];
        self.response.clear();
        loop {
            if to_send > 0 && !stop.load(Ordering::Relaxed) {
                self.request.clear();
                for _ in 0..to_send {
                    append_request(&mut self.request, &self.host, name, &op.body(table, i));
                    i += 1;
                }
                self.stream
                    .write_all(&self.request)
                    .map_err(|e| format!("{name}: sending to {}: {e}", self.host))?;
                let now = Instant::now(); // real time: request latency
                sent.extend(std::iter::repeat_n(now, to_send));
            }
            to_send = 0;
            if sent.is_empty() {
                return Ok(latencies_us);
            }
            let n = self
                .stream
                .read(&mut chunk)
                .map_err(|e| format!("{name}: reading from {}: {e}", self.host))?;
            if n == 0 {
                return Err(format!("{name}: {} closed the connection", self.host));
            }
            self.response.extend_from_slice(&chunk[..n]);
            let mut start = 0;
            while let Some((status, head_len, body_len)) = parse_head(&self.response[start..])
                && self.response.len() - start >= head_len + body_len
            {
                let body = &self.response[start + head_len..start + head_len + body_len];
                if status != 200 {
                    let snippet: String = String::from_utf8_lossy(body).chars().take(300).collect();
                    return Err(format!("{name}: HTTP {status}: {snippet}"));
                }
                let Some(t) = sent.pop_front() else {
                    return Err(format!(
                        "{name}: {} sent an answer nobody asked for",
                        self.host
                    ));
                };
                let us = t.elapsed().as_micros(); // real time: request latency
                latencies_us.push(us.min(u128::from(u32::MAX)) as u32);
                start += head_len + body_len;
                to_send += 1;
            }
            self.response.drain(..start);
        }
    }

    /// A request that must succeed.
    fn call_ok(&mut self, op: &str, body: &str) -> Result<String, String> {
        let (status, body) = self.call(op, body)?;
        let body = String::from_utf8_lossy(body).into_owned();
        if status != 200 {
            let snippet: String = body.chars().take(300).collect();
            return Err(format!("{op}: HTTP {status}: {snippet}"));
        }
        Ok(body)
    }
}

/// Appends one request to `out`: the headers a DynamoDB SDK sends, then the body.
fn append_request(out: &mut Vec<u8>, host: &str, op: &str, body: &str) {
    let _ = write!(
        out,
        "POST / HTTP/1.1\r\nHost: {host}\r\nX-Amz-Target: DynamoDB_20120810.{op}\r\nContent-Type: application/x-amz-json-1.0\r\nX-Amz-Date: 20260101T000000Z\r\nAuthorization: {AUTHORIZATION}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
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

/// A PutItem body: a 100-byte payload plus key and a number.
fn item(table: &str, pk: &str, sk: u64) -> String {
    format!(
        r#"{{"TableName":"{table}","Item":{{"pk":{{"S":"{pk}"}},"sk":{{"N":"{sk}"}},"payload":{{"S":"{PAYLOAD}"}},"n":{{"N":"{sk}"}}}}}}"#
    )
}

/// User + system CPU ticks (1/100 s on Linux) of process `pid`, from /proc/PID/stat.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Create table `table` on `endpoint`, wait until it is ACTIVE (emulators such as
/// dynalite create tables asynchronously) and load the items the load reads.
pub fn prepare(endpoint: SocketAddr, table: &str) -> Result<(), String> {
    let mut setup = Conn::open(endpoint)?;
    let create = format!(
        r#"{{"TableName":"{table}","KeySchema":[{{"AttributeName":"pk","KeyType":"HASH"}},{{"AttributeName":"sk","KeyType":"RANGE"}}],"AttributeDefinitions":[{{"AttributeName":"pk","AttributeType":"S"}},{{"AttributeName":"sk","AttributeType":"N"}}],"ProvisionedThroughput":{{"ReadCapacityUnits":1000,"WriteCapacityUnits":1000}}}}"#
    );
    setup.call_ok("CreateTable", &create)?;
    let describe = format!(r#"{{"TableName":"{table}"}}"#);
    let started = Instant::now(); // real time: waiting for the table
    loop {
        let answer = setup.call_ok("DescribeTable", &describe)?;
        if answer.contains(r#""TableStatus":"ACTIVE""#) {
            break;
        }
        let waited = started.elapsed(); // real time: waiting for the table
        if waited > Duration::from_secs(30) {
            return Err(format!("table {table} not ACTIVE after 30 s: {answer}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for sk in 0..QUERY_ITEMS {
        setup.call_ok("PutItem", &item(table, "query-me", sk))?;
    }
    for k in 0..KEYS {
        setup.call_ok("PutItem", &item(table, &format!("k{k}"), 0))?;
    }
    Ok(())
}

/// Run `op` against the prepared `table` for `options.duration` on
/// `options.connections` connections.
pub fn run_op(options: &LoadOptions, table: &str, op: Operation) -> Result<OpResult, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let cpu_before = options.server_pid.and_then(cpu_ticks);
    let started = Instant::now(); // real time: measuring throughput
    let depth = options.depth.max(1);
    let workers: Vec<_> = (0..options.connections.max(1))
        .map(|w| {
            let endpoint = options.endpoint;
            let stop = stop.clone();
            let table = table.to_string();
            std::thread::spawn(move || -> Result<Vec<u32>, String> {
                let mut conn = Conn::open(endpoint)?;
                let mut i = w as u64 * 1_000_003;
                if depth > 1 {
                    let result = conn.pipeline(op, &table, depth, i, &stop);
                    if result.is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                    return result;
                }
                let mut latencies_us = Vec::new();
                let name = op.name();
                while !stop.load(Ordering::Relaxed) {
                    let request = op.body(&table, i);
                    let t = Instant::now(); // real time: request latency
                    let (status, body) = conn.call(name, &request)?;
                    let us = t.elapsed().as_micros(); // real time: request latency
                    if status != 200 {
                        let snippet: String =
                            String::from_utf8_lossy(body).chars().take(300).collect();
                        stop.store(true, Ordering::Relaxed);
                        return Err(format!("{name}: HTTP {status}: {snippet}"));
                    }
                    latencies_us.push(us.min(u128::from(u32::MAX)) as u32);
                    i += 1;
                }
                Ok(latencies_us)
            })
        })
        .collect();
    // Sleep in short steps so a worker that failed early ends the load early.
    while !stop.load(Ordering::Relaxed) {
        let spent = started.elapsed(); // real time: the load's duration
        if spent >= options.duration {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    let mut all: Vec<u32> = Vec::new();
    let mut first_error = None;
    for worker in workers {
        match worker.join() {
            Ok(Ok(latencies)) => all.extend(latencies),
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(_) => {
                first_error.get_or_insert_with(|| "a load worker panicked".to_string());
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64(); // real time: measuring throughput
    let cpu_after = options.server_pid.and_then(cpu_ticks);
    if let Some(e) = first_error {
        return Err(e);
    }
    if all.is_empty() {
        return Err(format!("{}: no request completed", op.name()));
    }
    all.sort_unstable();
    let q = |p: f64| f64::from(all[((all.len() as f64 - 1.0) * p) as usize]) / 1e3;
    let requests = all.len() as u64;
    Ok(OpResult {
        op,
        requests,
        seconds,
        p50_ms: q(0.5),
        p99_ms: q(0.99),
        // /proc ticks are 1/100 s on Linux.
        cpu_us_per_op: match (cpu_before, cpu_after) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 * 10_000.0 / requests as f64),
            _ => None,
        },
    })
}

/// [`prepare`] a fresh table, then run every operation of [`OPERATIONS`] in turn.
pub fn run(options: &LoadOptions) -> Result<Vec<OpResult>, String> {
    let table = format!("bench{}", std::process::id());
    prepare(options.endpoint, &table)?;
    OPERATIONS
        .iter()
        .map(|op| run_op(options, &table, *op))
        .collect()
}
