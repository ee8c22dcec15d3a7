//! The control API: a small JSON-over-HTTP endpoint to inject faults and read metrics,
//! and the client behind `dynasim ctl`.
//!
//! | request | body | effect |
//! |---|---|---|
//! | `POST /partition` | `{"a": "us-east-1", "b": "eu-west-1"?, "one_way": false}` | cut replication between `a` and `b` (or `a` and every other region); `one_way` cuts only `a`→`b` |
//! | `POST /heal` | `{"a"?: ..., "b"?: ...}` | restore the named links (all links when empty) |
//! | `POST /region` | `{"region": ..., "up": false}` | take a region down (503 to clients, no replication) or back up |
//! | `POST /az` | `{"region": ..., "az": 0, "up": false}` | take an AZ down; with two down, writes and strong reads fail (RC-12) |
//! | `POST /skew` | `{"region": ..., "ms": -500}` | offset the clock that stamps the region's writes (SD-02) |
//! | `POST /capacity` | `{"region": ..., "table": ..., "read": 10, "write": 5}` | requests per second before ProvisionedThroughputExceededException (`null`: unlimited) |
//! | `GET /metrics` | | per region: counters, links, per table replication lag and backlog |

use crate::world::{World, set_throttle};
use bytes::Bytes;
use dynasim_core::RegionId;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Deserialize;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub(crate) async fn serve_control(
    world: Arc<World>,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        let world = world.clone();
        let service = service_fn(move |req| {
            let world = world.clone();
            async move { Ok::<_, std::convert::Infallible>(handle(&world, req).await) }
        });
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(Duration::from_secs(10))
            .serve_connection(TokioIo::new(stream), service);
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}

async fn handle(world: &World, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let body = match tokio::time::timeout(
        Duration::from_secs(10),
        Limited::new(req.into_body(), 1 << 20).collect(),
    )
    .await
    {
        Ok(Ok(b)) => b.to_bytes(),
        _ => return reply(400, json!({"error": "request body too large or too slow"})),
    };
    let result = match (method, path.as_str()) {
        (Method::GET, "/metrics") => Ok(metrics(world)),
        (Method::GET, "/health") => Ok(json!({"ok": true})),
        (Method::POST, p) => serde_json::from_slice::<Value>(&body)
            .map_err(|e| format!("body is not JSON: {e}"))
            .and_then(|v| apply(world, p, v)),
        (_, p) => Err(format!("no such control request: {p}")),
    };
    match result {
        Ok(v) => reply(200, v),
        Err(e) => reply(400, json!({ "error": e })),
    }
}

fn reply(status: u16, v: Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(v.to_string())));
    *r.status_mut() = StatusCode::from_u16(status).expect("valid status");
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

#[derive(Deserialize)]
struct PartitionReq {
    a: String,
    #[serde(default)]
    b: Option<String>,
    #[serde(default)]
    one_way: bool,
}

#[derive(Deserialize)]
struct HealReq {
    #[serde(default)]
    a: Option<String>,
    #[serde(default)]
    b: Option<String>,
}

#[derive(Deserialize)]
struct RegionReq {
    region: String,
    up: bool,
}

#[derive(Deserialize)]
struct AzReq {
    region: String,
    az: u8,
    up: bool,
}

#[derive(Deserialize)]
struct SkewReq {
    region: String,
    ms: i64,
}

#[derive(Deserialize)]
struct CapacityReq {
    region: String,
    table: String,
    #[serde(default)]
    read: Option<f64>,
    #[serde(default)]
    write: Option<f64>,
}

fn parse<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| format!("bad request body: {e}"))
}

fn region(world: &World, name: &str) -> Result<RegionId, String> {
    world
        .region_id(name)
        .ok_or_else(|| format!("unknown region {name} (served: {})", world.names.join(", ")))
}

fn others(world: &World, a: RegionId, b: Option<RegionId>) -> Vec<RegionId> {
    match b {
        Some(b) => vec![b],
        None => (0..world.names.len() as u16)
            .map(RegionId)
            .filter(|r| *r != a)
            .collect(),
    }
}

fn apply(world: &World, path: &str, v: Value) -> Result<Value, String> {
    let now_us = world.clock.now_us();
    match path {
        "/partition" => {
            let req: PartitionReq = parse(v)?;
            let a = region(world, &req.a)?;
            let b = req.b.as_deref().map(|b| region(world, b)).transpose()?;
            let mut cuts = world.cuts.lock().unwrap_or_else(|e| e.into_inner());
            for o in others(world, a, b) {
                cuts.links.insert((a, o));
                if !req.one_way {
                    cuts.links.insert((o, a));
                }
            }
        }
        "/heal" => {
            let req: HealReq = parse(v)?;
            let mut cuts = world.cuts.lock().unwrap_or_else(|e| e.into_inner());
            match req.a {
                None => cuts.links.clear(),
                Some(a) => {
                    let a = region(world, &a)?;
                    let b = req.b.as_deref().map(|b| region(world, b)).transpose()?;
                    for o in others(world, a, b) {
                        cuts.links.remove(&(a, o));
                        cuts.links.remove(&(o, a));
                    }
                }
            }
        }
        "/region" => {
            let req: RegionReq = parse(v)?;
            let id = region(world, &req.region)?;
            let mut cuts = world.cuts.lock().unwrap_or_else(|e| e.into_inner());
            if req.up {
                cuts.down.remove(&id);
            } else {
                cuts.down.insert(id);
            }
        }
        "/az" => {
            let req: AzReq = parse(v)?;
            let id = region(world, &req.region)?;
            if req.az > 2 {
                return Err("az is 0, 1 or 2".to_string());
            }
            world.region(usize::from(id.0)).azs_up[usize::from(req.az)] = req.up;
        }
        "/skew" => {
            let req: SkewReq = parse(v)?;
            let id = region(world, &req.region)?;
            let mut r = world.region(usize::from(id.0));
            r.skew_us = req.ms.saturating_mul(1_000);
            let record = crate::wal::Record::Skew {
                r: usize::from(id.0),
                us: r.skew_us,
            };
            world.log(&record, true).map_err(|e| e.message)?;
        }
        "/capacity" => {
            let req: CapacityReq = parse(v)?;
            let id = region(world, &req.region)?;
            let mut r = world.region(usize::from(id.0));
            if r.engine.table(&req.table).is_none() {
                return Err(format!("no table {} in {}", req.table, req.region));
            }
            set_throttle(&mut r, &req.table, req.read, req.write, now_us);
        }
        other => return Err(format!("no such control request: {other}")),
    }
    Ok(json!({"ok": true}))
}

/// Per region: counters, fault state, and per table the replication lag from each peer
/// and the writes each peer has not acknowledged yet.
pub(crate) fn metrics(world: &World) -> Value {
    let (links, down) = {
        let cuts = world.cuts.lock().unwrap_or_else(|e| e.into_inner());
        (cuts.links.clone(), cuts.down.clone())
    };
    let name = |r: &RegionId| world.names[usize::from(r.0)].clone();
    let mut regions = serde_json::Map::new();
    for i in 0..world.regions.len() {
        let r = world.region(i);
        let mut tables = serde_json::Map::new();
        for (t, replica) in &r.replicas {
            let peers: serde_json::Map<String, Value> = replica
                .peers
                .iter()
                .map(|p| {
                    let lag = replica.lag.get(p).copied().unwrap_or_default();
                    (
                        name(p),
                        json!({
                            "lag_ms_last": lag.last_ms,
                            "lag_ms_max": lag.max_ms,
                            "applied_from": lag.applied,
                            "discarded_from": lag.discarded,
                            "unacknowledged_to": replica.replicator.backlog(*p),
                        }),
                    )
                })
                .collect();
            let c = replica.replicator.counters();
            tables.insert(
                t.clone(),
                json!({
                    "items": r.engine.table(t).map_or(0, |x| x.len()),
                    "peers": peers,
                    "local_writes": c.local_writes,
                    "remote_applied": c.remote_applied,
                    "remote_discarded": c.remote_discarded,
                    "lww_overwrites": c.lww_overwrites,
                    "entries_resent": c.entries_resent,
                    "applied_out_of_order": c.applied_out_of_order,
                    "held_in_partition_streams": replica.replicator.held_entries(),
                    "tombstones": replica.replicator.tombstone_count(),
                }),
            );
        }
        regions.insert(
            r.name.clone(),
            json!({
                "up": !down.contains(&r.id),
                "azs_up": r.azs_up,
                "clock_skew_ms": r.skew_us / 1_000,
                "counters": r.counters,
                "tables": tables,
            }),
        );
    }
    let cut: Vec<Value> = links
        .iter()
        .map(|(a, b)| json!({"from": name(a), "to": name(b)}))
        .collect();
    json!({
        "uptime_s": world.clock.now_us() as f64 / 1e6,
        "cut_links": cut,
        "regions": regions,
    })
}

/// `dynasim ctl`: one request to the control API (blocking std I/O, no runtime).
/// `path` like `/partition`; `body` `None` sends a GET.
pub fn ctl_request(control: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
    let address = control
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut stream = std::net::TcpStream::connect(&address)
        .map_err(|e| anyhow::anyhow!("cannot reach the control API at {address}: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let (method, payload) = match body {
        Some(b) => ("POST", b.to_string()),
        None => ("GET", String::new()),
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow::anyhow!("malformed response from the control API"))?;
    let ok = head.starts_with("HTTP/1.1 200");
    let value: Value = serde_json::from_str(body.trim())
        .map_err(|e| anyhow::anyhow!("control API answered non-JSON ({e}): {body}"))?;
    if !ok {
        anyhow::bail!(
            "{}",
            value.get("error").and_then(Value::as_str).unwrap_or(body)
        );
    }
    Ok(value)
}
