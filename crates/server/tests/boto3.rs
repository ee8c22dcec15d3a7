//! Real-client tests: starts `dynasim serve` in-process on free ports and runs the boto3
//! pytest suite in `tests/python/` against it (operations, global tables, faults, auth).
//! Skips, saying so, when python3 with boto3 and pytest is not available; `.ci/run`
//! installs them into a virtualenv and points `DYNASIM_PYTHON` at it.

use dynasim_server::{Auth, Credentials, Limits, Policy, ServeOptions, Server};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn python() -> Option<String> {
    let candidate = std::env::var("DYNASIM_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let ok = Command::new(&candidate)
        .args(["-c", "import boto3, pytest"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(candidate)
}

fn auth() -> Auth {
    let credentials: Credentials = serde_json::from_value(serde_json::json!({
        "Users": [
            {"UserName": "admin", "AccessKeyId": "AKIDADMIN", "SecretAccessKey": "admin-secret"},
            {"UserName": "alice", "AccessKeyId": "AKIDALICE", "SecretAccessKey": "alice-secret"},
            {"UserName": "bob", "AccessKeyId": "AKIDBOB", "SecretAccessKey": "bob-secret"}
        ]
    }))
    .expect("credentials parse");
    let policy: Policy = serde_json::from_value(serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AdminAll", "Effect": "Allow", "Principal": {"AWS": "admin"},
             "Action": "dynamodb:*", "Resource": "*"},
            {"Sid": "AliceOwnItems", "Effect": "Allow",
             "Principal": {"AWS": "arn:aws:iam::000000000000:user/alice"},
             "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",
                        "dynamodb:BatchWriteItem", "dynamodb:ListTables"],
             "Resource": ["arn:aws:dynamodb:*:*:table/orders", "*"],
             "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}"]}}},
            {"Sid": "NoDrops", "Effect": "Deny", "Principal": "*",
             "Action": "dynamodb:DeleteTable", "Resource": "arn:aws:dynamodb:*:*:table/orders"}
        ]
    }))
    .expect("policy parses");
    Auth::new(credentials, Some(policy)).expect("policy is supported")
}

#[test]
fn boto3_suite() {
    let Some(python) = python() else {
        eprintln!(
            "SKIPPED boto3_suite: no python3 with boto3 and pytest (set DYNASIM_PYTHON, or run .ci/run which installs them)"
        );
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let limits = Limits {
        body_bytes_max: 1 << 20,
        header_timeout: Duration::from_secs(1),
        body_timeout: Duration::from_secs(2),
        shutdown_grace: Duration::from_secs(2),
    };
    let mut options = ServeOptions::for_regions(&["us-east-1", "eu-west-1", "ap-northeast-1"]);
    options.limits = limits;
    let server = runtime
        .block_on(Server::start(options))
        .expect("server starts");
    let mut auth_options = ServeOptions::for_regions(&["us-east-1"]);
    auth_options.auth = Some(auth());
    let auth_server = runtime
        .block_on(Server::start(auth_options))
        .expect("auth server starts");
    let endpoints: serde_json::Map<String, serde_json::Value> = server
        .endpoints()
        .iter()
        .map(|(r, a)| (r.clone(), format!("http://{a}").into()))
        .collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python");
    let output = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs"])
        .current_dir(&dir)
        .env(
            "DYNASIM_ENDPOINTS",
            serde_json::Value::Object(endpoints).to_string(),
        )
        .env(
            "DYNASIM_CONTROL",
            format!("http://{}", server.control_addr()),
        )
        .env(
            "DYNASIM_AUTH_ENDPOINT",
            format!("http://{}", auth_server.endpoints()[0].1),
        )
        .env("DYNASIM_AUTH_REGION", "us-east-1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("pytest runs");
    println!("{}", String::from_utf8_lossy(&output.stdout));
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    runtime.block_on(server.shutdown());
    runtime.block_on(auth_server.shutdown());
    assert!(
        output.status.success(),
        "the boto3 suite failed (output above)"
    );
}
