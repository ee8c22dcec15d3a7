//! The DynamoDB JSON 1.0 protocol over HTTP/1.1 (WP-01..WP-06): `POST /` with
//! `X-Amz-Target: DynamoDB_20120810.<Op>` (or `DynamoDBStreams_20120810.<Op>`), JSON
//! bodies, `x-amz-crc32` and `x-amzn-RequestId` on every response, errors as
//! `{"__type": ..., "message": ...}` with DynamoDB's status codes.
//!
//! Robustness: bodies over [`Limits::body_bytes_max`] get 413 (WP-06); a client that
//! sends its headers or body too slowly has its connection closed; nothing a client
//! sends can panic the server (request handling runs behind `catch_unwind`).

use crate::auth::Auth;
use crate::world::{UNKNOWN_OPERATION_MARKER, World};
use bytes::Bytes;
use dynasim_engine::{EngineError, ErrorKind};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Request limits. Defaults: 16 MiB bodies (WP-06, dynalite's figure), 10 s to send the
/// headers, 30 s to send the body, 10 s for in-flight requests at shutdown. A connection
/// without a request for `header_timeout` (checked every half of it, so closed after 1 to
/// 1.5 times it) is closed: it is idle or its client sends its headers too slowly.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub body_bytes_max: usize,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            body_bytes_max: 16 * 1024 * 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

pub(crate) const JSON_1_0: &str = "application/x-amz-json-1.0";
const DYNAMODB_PREFIX: &str = "DynamoDB_20120810.";
const STREAMS_PREFIX: &str = "DynamoDBStreams_20120810.";
const STREAMS_OPERATIONS: &[&str] = &[
    "ListStreams",
    "DescribeStream",
    "GetShardIterator",
    "GetRecords",
];

/// An error response: an engine error, or one the framework itself raises.
#[derive(Debug)]
pub(crate) enum HttpError {
    Engine(EngineError),
    Framework {
        status: u16,
        type_name: &'static str,
        message: String,
    },
}

impl From<EngineError> for HttpError {
    fn from(e: EngineError) -> HttpError {
        HttpError::Engine(e)
    }
}

impl HttpError {
    pub(crate) fn framework(type_name: &'static str, message: impl Into<String>) -> HttpError {
        HttpError::Framework {
            status: 400,
            type_name,
            message: message.into(),
        }
    }

    fn render(&self) -> (u16, Vec<u8>) {
        match self {
            HttpError::Engine(e) if e.message == UNKNOWN_OPERATION_MARKER => {
                unknown_operation().render()
            }
            HttpError::Engine(e) => (
                e.http_status(),
                serde_json::to_vec(&e.to_json_body()).expect("error bodies serialize"),
            ),
            HttpError::Framework {
                status,
                type_name,
                message,
            } => {
                let body = if message.is_empty() {
                    serde_json::json!({ "__type": type_name })
                } else {
                    serde_json::json!({ "__type": type_name, "message": message })
                };
                (
                    *status,
                    serde_json::to_vec(&body).expect("error bodies serialize"),
                )
            }
        }
    }
}

fn unknown_operation() -> HttpError {
    HttpError::framework("com.amazon.coral.service#UnknownOperationException", "")
}

/// What one region endpoint needs to serve requests.
pub(crate) struct Endpoint {
    pub(crate) world: Arc<World>,
    pub(crate) region: usize,
    pub(crate) auth: Option<Arc<Auth>>,
    pub(crate) limits: Limits,
}

/// Accepts connections until `shutdown` turns true, then lets in-flight requests finish
/// within the grace period.
pub(crate) async fn serve_endpoint(
    endpoint: Arc<Endpoint>,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) {
    let limits = endpoint.limits;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        let Ok((stream, _)) = accepted else {
            continue; // e.g. too many open files: keep serving the others
        };
        let _ = stream.set_nodelay(true);
        let connection = Arc::new(Connection {
            endpoint: endpoint.clone(),
            started: AtomicU64::new(0),
            finished: AtomicU64::new(0),
        });
        let service = {
            let connection = connection.clone();
            service_fn(move |req| {
                let connection = connection.clone();
                async move {
                    connection.started.fetch_add(1, Ordering::Relaxed);
                    let _finished = Finished(&connection.finished);
                    handle(&connection.endpoint, req).await
                }
            })
        };
        let conn = http1::Builder::new()
            // Pipelined requests (a client that sends several before reading the first
            // answer) get their answers in one write once the requests already read are
            // served, not one write each: each write to a socket costs a syscall plus the
            // kernel's delivery work, more than serving a GetItem. A lone request's answer
            // is still written at once (nothing else is waiting in the read buffer).
            .pipeline_flush(true)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(serve_connection(conn, connection, limits.header_timeout));
    }
    drop(listener);
    let _ = tokio::time::timeout(limits.shutdown_grace, graceful.shutdown()).await;
}

/// One connection's endpoint and its request counts, for its idle watchdog.
struct Connection {
    endpoint: Arc<Endpoint>,
    /// Requests whose head has arrived.
    started: AtomicU64,
    /// Requests whose handler has returned.
    finished: AtomicU64,
}

/// Counts a request's handler as finished when dropped (also if it is cancelled).
struct Finished<'a>(&'a AtomicU64);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// Serves one connection; closes it once no request has started for `header_timeout`
/// (to 1.5 times that) while none is being handled: a client that sends its headers too
/// slowly, or an idle keep-alive connection, or one that stopped reading its answers.
///
/// This watchdog replaces hyper's header read timeout, which reads the clock and arms,
/// polls and cancels a timer for every request (about 6% of the server's instructions
/// per GetItem with one request in flight per connection); the watchdog's timer fires
/// twice per timeout period per connection, whatever the request rate.
async fn serve_connection<F: Future>(
    conn: F,
    connection: Arc<Connection>,
    header_timeout: Duration,
) {
    let period = (header_timeout / 2).max(Duration::from_millis(1));
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut conn = std::pin::pin!(conn);
    let mut seen = 0;
    let mut idle_ticks = 0;
    loop {
        tokio::select! {
            biased;
            _ = conn.as_mut() => return,
            _ = ticks.tick() => {
                let started = connection.started.load(Ordering::Relaxed);
                if connection.finished.load(Ordering::Relaxed) != started {
                    // Busy: the next tick counts as activity too (the request may end
                    // just before it).
                    seen = u64::MAX;
                    idle_ticks = 0;
                } else if started != seen {
                    seen = started;
                    idle_ticks = 0;
                } else {
                    idle_ticks += 1;
                    // Two idle ticks after one that saw activity (or the connection's
                    // start): idle for more than the timeout, at most 1.5 times it.
                    if idle_ticks >= 2 {
                        return; // dropping the connection closes it
                    }
                }
            }
        }
    }
}

/// The connection is closed (no response) when this is returned to hyper.
#[derive(Debug)]
pub(crate) struct CloseConnection(&'static str);

impl std::fmt::Display for CloseConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}
impl std::error::Error for CloseConnection {}

async fn handle(
    endpoint: &Endpoint,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, CloseConnection> {
    if req.method() == Method::GET {
        // dynalite and DynamoDB answer a plain GET with a health line.
        let name = endpoint.world.names[endpoint.region].clone();
        return Ok(text(
            200,
            format!("healthy: dynamodb.{name}.amazonaws.com "),
        ));
    }
    if req.method() != Method::POST {
        return Ok(respond_error(&HttpError::framework(
            "com.amazon.coral.service#UnknownOperationException",
            "",
        )));
    }
    let limits = endpoint.limits;
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.body_bytes_max as u64) {
        return Ok(too_large());
    }
    let (parts, body) = req.into_parts();
    let mut read = std::pin::pin!(read_body(body, limits.body_bytes_max));
    // A body that came in with its headers (the usual case) is read by the first poll;
    // only a body still on its way needs the timer (reading the clock and arming a timer
    // per request would cost more than serving a GetItem's lookup).
    let first = std::future::poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await;
    let read = match first {
        Poll::Ready(result) => result,
        Poll::Pending => match tokio::time::timeout(limits.body_timeout, read).await {
            Err(_) => return Err(CloseConnection("request body too slow")),
            Ok(result) => result,
        },
    };
    let body = match read {
        Err(BodyError::TooLarge) => return Ok(too_large()),
        Err(BodyError::Broken) => return Err(CloseConnection("request body broken")),
        Ok(body) => body,
    };
    let world = &endpoint.world;
    let region = endpoint.region;
    let auth = endpoint.auth.as_deref();
    // A panic in the engine is a bug; the client gets InternalServerError, the server lives.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        dispatch(world, region, auth, &parts, &body)
    }));
    Ok(match outcome {
        Ok(Ok(bytes)) => respond(200, bytes),
        Ok(Err(e)) => respond_error(&e),
        Err(_) => respond_error(&HttpError::Engine(EngineError::new(
            ErrorKind::InternalServerError,
            "Internal server error",
        ))),
    })
}

/// Why a request body could not be read.
enum BodyError {
    /// Over the size limit (413).
    TooLarge,
    /// The connection failed or the framing was bad (the connection is closed).
    Broken,
}

/// The whole request body, at most `max` bytes. A body that arrives as one piece (the
/// usual case: its length is declared and it came with the headers) is that piece
/// itself, without copying it or collecting it into a list first.
async fn read_body(mut body: Incoming, max: usize) -> Result<Bytes, BodyError> {
    let mut first: Option<Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(|_| BodyError::Broken)?.into_data() else {
            continue; // trailers
        };
        let total = first.as_ref().map_or(0, Bytes::len) + joined.len() + data.len();
        if total > max {
            return Err(BodyError::TooLarge);
        }
        if first.is_none() && joined.is_empty() {
            first = Some(data);
        } else {
            if let Some(piece) = first.take() {
                joined.extend_from_slice(&piece);
            }
            joined.extend_from_slice(&data);
        }
    }
    Ok(first.unwrap_or_else(|| Bytes::from(joined)))
}

fn dispatch(
    world: &World,
    region: usize,
    auth: Option<&Auth>,
    parts: &hyper::http::request::Parts,
    body: &[u8],
) -> Result<Vec<u8>, HttpError> {
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let op = if let Some(op) = target.strip_prefix(DYNAMODB_PREFIX) {
        (crate::world::OPERATIONS.contains(&op) && !STREAMS_OPERATIONS.contains(&op)).then_some(op)
    } else if let Some(op) = target.strip_prefix(STREAMS_PREFIX) {
        STREAMS_OPERATIONS.contains(&op).then_some(op)
    } else {
        None
    };
    if let Some(auth) = auth {
        auth.check(world, region, op.unwrap_or(""), parts, body)?;
    }
    let Some(op) = op else {
        return Err(unknown_operation());
    };
    let down = world
        .cuts
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .down
        .contains(&dynasim_core::RegionId(region as u16));
    if down {
        return Err(HttpError::Engine(EngineError::new(
            ErrorKind::ServiceUnavailable,
            "Service unavailable: the region is down (dynasim ctl region-down)",
        )));
    }
    Ok(world.execute(region, op, body)?)
}

static REQUEST_COUNTER: AtomicU64 = AtomicU64::new(1);

static X_AMZ_CRC32: HeaderName = HeaderName::from_static("x-amz-crc32");
static X_AMZN_REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");

fn respond(status: u16, body: Vec<u8>) -> Response<Full<Bytes>> {
    let crc = crc32fast::hash(&body);
    let id = REQUEST_COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).expect("valid status");
    let headers = response.headers_mut();
    headers.reserve(3);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_1_0));
    headers.insert(X_AMZ_CRC32.clone(), HeaderValue::from(crc));
    headers.insert(X_AMZN_REQUEST_ID.clone(), request_id(id));
    response
}

/// `DYNASIM` and the id in 20 digits, written without the formatting machinery (this runs
/// once per request).
fn request_id(id: u64) -> HeaderValue {
    let mut text = *b"DYNASIM00000000000000000000";
    let mut rest = id;
    for digit in text[7..].iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    HeaderValue::from_bytes(&text).expect("ASCII letters and digits")
}

pub(crate) fn respond_error(e: &HttpError) -> Response<Full<Bytes>> {
    let (status, body) = e.render();
    respond(status, body)
}

fn too_large() -> Response<Full<Bytes>> {
    let mut r = respond_error(&HttpError::Framework {
        status: 413,
        type_name: "com.amazon.coral.service#SerializationException",
        message: "Request entity too large".to_string(),
    });
    r.headers_mut()
        .insert("connection", HeaderValue::from_static("close"));
    r
}

pub(crate) fn text(status: u16, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = StatusCode::from_u16(status).expect("valid status");
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_twenty_digits_after_the_prefix() {
        for id in [0u64, 1, 42, 1_234_567_890, u64::MAX] {
            let value = request_id(id);
            assert_eq!(value.to_str().unwrap(), format!("DYNASIM{id:020}"));
        }
    }

    #[test]
    fn responses_carry_the_crc_of_their_body() {
        let response = respond(200, b"{\"Item\":{}}".to_vec());
        let headers = response.headers();
        assert_eq!(headers[CONTENT_TYPE], JSON_1_0);
        let crc = crc32fast::hash(b"{\"Item\":{}}").to_string();
        assert_eq!(headers["x-amz-crc32"].to_str().unwrap(), crc);
        assert!(
            headers["x-amzn-requestid"]
                .to_str()
                .unwrap()
                .starts_with("DYNASIM")
        );
    }
}
