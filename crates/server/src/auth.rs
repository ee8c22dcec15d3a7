//! Access control: AWS Signature Version 4 verification against a credentials file, then
//! an IAM-shaped policy (Allow/Deny statements, `dynamodb:<Op>` actions, table ARNs, the
//! `dynamodb:LeadingKeys` condition) evaluated per request.
//!
//! The signature is recomputed with the standard algorithm (canonical request, string to
//! sign, HMAC-SHA256 key derivation from `AWS4<secret>`) and compared in constant time.
//! Errors are DynamoDB's: MissingAuthenticationTokenException, IncompleteSignatureException,
//! UnrecognizedClientException (unknown access key), InvalidSignatureException (wrong
//! signature, wrong scope, expired), AccessDeniedException (policy).

use crate::http::HttpError;
use crate::world::World;
use dynasim_engine::{AttributeValue, EngineError, ErrorKind};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

type HmacSha256 = Hmac<Sha256>;

/// A signature whose X-Amz-Date is further than this from the server's clock is expired.
const SIGNATURE_SKEW_SECS_MAX: i64 = 15 * 60;

/// Credentials file (JSON):
/// `{"Users": [{"UserName": "alice", "AccessKeyId": "AKIA...", "SecretAccessKey": "..."}]}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Credentials {
    pub users: Vec<User>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct User {
    pub user_name: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// An IAM policy document. `Principal` (optional: absent means every user) names users
/// by name, by `arn:aws:iam::<account>:user/<name>`, or `"*"`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Policy {
    #[serde(default)]
    pub version: Option<String>,
    #[serde(deserialize_with = "one_or_many")]
    pub statement: Vec<Statement>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Statement {
    #[serde(default)]
    pub sid: Option<String>,
    pub effect: Effect,
    #[serde(default)]
    pub principal: Option<Value>,
    #[serde(deserialize_with = "one_or_many")]
    pub action: Vec<String>,
    #[serde(deserialize_with = "one_or_many")]
    pub resource: Vec<String>,
    /// Operator (`ForAllValues:StringEquals`, ...) to condition key to values.
    #[serde(default)]
    pub condition: BTreeMap<String, BTreeMap<String, Value>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Effect {
    Allow,
    Deny,
}

fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v = Value::deserialize(d)?;
    match v {
        Value::Array(items) => items
            .into_iter()
            .map(|i| serde_json::from_value(i).map_err(serde::de::Error::custom))
            .collect(),
        other => Ok(vec![
            serde_json::from_value(other).map_err(serde::de::Error::custom)?,
        ]),
    }
}

const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringLike",
    "ForAllValues:StringEquals",
    "ForAllValues:StringLike",
    "ForAnyValue:StringEquals",
    "ForAnyValue:StringLike",
];

/// Verified credentials plus the policy (`None`: every authenticated user may do anything).
#[derive(Clone, Debug)]
pub struct Auth {
    pub account_id: String,
    users: BTreeMap<String, User>,
    policy: Option<Policy>,
}

impl Auth {
    pub fn new(credentials: Credentials, policy: Option<Policy>) -> anyhow::Result<Auth> {
        if let Some(p) = &policy {
            validate_policy(p)?;
        }
        let users = credentials
            .users
            .into_iter()
            .map(|u| (u.access_key_id.clone(), u))
            .collect();
        Ok(Auth {
            account_id: "000000000000".to_string(),
            users,
            policy,
        })
    }

    pub fn from_files(credentials: &Path, policy: Option<&Path>) -> anyhow::Result<Auth> {
        let text = std::fs::read_to_string(credentials)
            .map_err(|e| anyhow::anyhow!("{}: {e}", credentials.display()))?;
        let creds: Credentials = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", credentials.display()))?;
        let policy = match policy {
            None => None,
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
                Some(
                    serde_json::from_str(&text)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?,
                )
            }
        };
        Auth::new(creds, policy)
    }

    /// Verifies the request's signature, then the policy. `op` is empty for an unknown
    /// operation (only the signature is checked).
    pub(crate) fn check(
        &self,
        world: &World,
        region: usize,
        op: &str,
        parts: &hyper::http::request::Parts,
        body: &[u8],
    ) -> Result<(), HttpError> {
        let region_name = &world.names[region];
        let now_unix = (world.clock.wall_us() / 1_000_000) as i64;
        let user = self.verify_signature(parts, body, region_name, now_unix)?;
        if op.is_empty() {
            return Ok(());
        }
        let Some(policy) = &self.policy else {
            return Ok(());
        };
        let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let resources = resources_of(op, &request, region_name, &self.account_id);
        let hash_key = |table: &str| {
            let region = world.region(region);
            region
                .engine
                .table(table)
                .map(|t| t.schema().hash.name.clone())
        };
        let leading = leading_keys(op, &request, &hash_key);
        let action = format!("dynamodb:{op}");
        for resource in &resources {
            let verdict = evaluate(
                policy,
                &user.user_name,
                &self.account_id,
                &action,
                resource,
                &leading,
            );
            if verdict != Verdict::Allow {
                let explicit = if verdict == Verdict::ExplicitDeny {
                    " with an explicit deny in an identity-based policy"
                } else {
                    " because no identity-based policy allows the dynamodb action"
                };
                return Err(HttpError::Engine(EngineError::new(
                    ErrorKind::AccessDeniedException,
                    format!(
                        "User: arn:aws:iam::{}:user/{} is not authorized to perform: {action} on resource: {resource}{explicit}",
                        self.account_id, user.user_name
                    ),
                )));
            }
        }
        Ok(())
    }

    fn verify_signature(
        &self,
        parts: &hyper::http::request::Parts,
        body: &[u8],
        region_name: &str,
        now_unix: i64,
    ) -> Result<&User, HttpError> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let Some(authorization) = header("authorization") else {
            return Err(HttpError::framework(
                "com.amazon.coral.service#MissingAuthenticationTokenException",
                "Request is missing Authentication Token",
            ));
        };
        let parsed = parse_authorization(&authorization).ok_or_else(|| {
            HttpError::framework(
                "com.amazon.coral.service#IncompleteSignatureException",
                format!(
                    "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters with algorithm AWS4-HMAC-SHA256. Authorization={authorization}"
                ),
            )
        })?;
        let user = self.users.get(&parsed.access_key).ok_or_else(|| {
            HttpError::framework(
                "com.amazon.coral.service#UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        })?;
        let invalid = |message: String| {
            HttpError::framework(
                "com.amazon.coral.service#InvalidSignatureException",
                message,
            )
        };
        if parsed.region != region_name {
            return Err(invalid(format!(
                "Credential should be scoped to a valid region, not '{}'. ",
                parsed.region
            )));
        }
        if parsed.service != "dynamodb" {
            return Err(invalid(
                "Credential should be scoped to correct service: 'dynamodb'. ".to_string(),
            ));
        }
        let Some(amz_date) = header("x-amz-date") else {
            return Err(HttpError::framework(
                "com.amazon.coral.service#IncompleteSignatureException",
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
            ));
        };
        if !amz_date.starts_with(&parsed.date) {
            return Err(invalid(format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}'",
                parsed.date,
                amz_date.get(..8).unwrap_or("")
            )));
        }
        if let Some(signed_at) = parse_amz_date(&amz_date) {
            if (signed_at - now_unix).abs() > SIGNATURE_SKEW_SECS_MAX {
                return Err(invalid(format!(
                    "Signature expired: {amz_date} is now earlier than the allowed clock skew of 15 minutes."
                )));
            }
        } else {
            return Err(invalid(format!("Invalid X-Amz-Date: {amz_date}")));
        }
        let canonical = canonical_request(parts, &parsed.signed_headers, body);
        let scope = format!(
            "{}/{}/{}/aws4_request",
            parsed.date, parsed.region, parsed.service
        );
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let key = signing_key(
            &user.secret_access_key,
            &parsed.date,
            &parsed.region,
            &parsed.service,
        );
        let mut mac = HmacSha256::new_from_slice(&key).expect("any key length");
        mac.update(string_to_sign.as_bytes());
        let given = hex::decode(&parsed.signature).unwrap_or_default();
        if mac.verify_slice(&given).is_err() {
            return Err(invalid(
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".to_string(),
            ));
        }
        Ok(user)
    }
}

struct Authorization {
    access_key: String,
    date: String,
    region: String,
    service: String,
    signed_headers: Vec<String>,
    signature: String,
}

fn parse_authorization(value: &str) -> Option<Authorization> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => credential = Some(v),
            "SignedHeaders" => signed = Some(v),
            "Signature" => signature = Some(v),
            _ => {}
        }
    }
    let mut scope = credential?.split('/');
    let access_key = scope.next()?.to_string();
    let date = scope.next()?.to_string();
    let region = scope.next()?.to_string();
    let service = scope.next()?.to_string();
    if scope.next()? != "aws4_request" {
        return None;
    }
    Some(Authorization {
        access_key,
        date,
        region,
        service,
        signed_headers: signed?.split(';').map(str::to_string).collect(),
        signature: signature?.to_string(),
    })
}

/// `YYYYMMDDTHHMMSSZ` to Unix seconds.
fn parse_amz_date(s: &str) -> Option<i64> {
    if s.len() != 16 || !s.ends_with('Z') || s.as_bytes()[8] != b'T' {
        return None;
    }
    let n = |a: usize, b: usize| s.get(a..b)?.parse::<i64>().ok();
    let (y, m, d) = (n(0, 4)?, n(4, 6)?, n(6, 8)?);
    let (hh, mm, ss) = (n(9, 11)?, n(11, 13)?, n(13, 15)?);
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3_600 + mm * 60 + ss)
}

fn canonical_request(
    parts: &hyper::http::request::Parts,
    signed_headers: &[String],
    body: &[u8],
) -> String {
    let mut out = String::new();
    out.push_str(parts.method.as_str());
    out.push('\n');
    out.push_str(parts.uri.path());
    out.push('\n');
    let mut query: Vec<&str> = parts
        .uri
        .query()
        .map(|q| q.split('&').filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    query.sort_unstable();
    out.push_str(&query.join("&"));
    out.push('\n');
    for name in signed_headers {
        let values: Vec<String> = parts
            .headers
            .get_all(name.as_str())
            .iter()
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    out.push_str(&hex::encode(Sha256::digest(body)));
    out
}

fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let step = |key: &[u8], data: &str| {
        let mut mac = HmacSha256::new_from_slice(key).expect("any key length");
        mac.update(data.as_bytes());
        mac.finalize().into_bytes().to_vec()
    };
    let k = step(format!("AWS4{secret}").as_bytes(), date);
    let k = step(&k, region);
    let k = step(&k, service);
    step(&k, "aws4_request")
}

/// Signs a request the way an SDK does (for tests and the load generator).
pub fn sign(
    access_key: &str,
    secret: &str,
    region: &str,
    amz_date: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> String {
    let mut req = hyper::Request::post("/");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let (parts, ()) = req.body(()).expect("valid request").into_parts();
    let mut signed: Vec<String> = headers
        .iter()
        .map(|(k, _)| k.to_ascii_lowercase())
        .collect();
    signed.sort();
    let canonical = canonical_request(&parts, &signed, body);
    let date = &amz_date[..8];
    let scope = format!("{date}/{region}/dynamodb/aws4_request");
    let sts = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let key = signing_key(secret, date, region, "dynamodb");
    let mut mac = HmacSha256::new_from_slice(&key).expect("any key length");
    mac.update(sts.as_bytes());
    format!(
        "AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={}, Signature={}",
        signed.join(";"),
        hex::encode(mac.finalize().into_bytes())
    )
}

fn validate_policy(policy: &Policy) -> anyhow::Result<()> {
    for (i, s) in policy.statement.iter().enumerate() {
        for (op, keys) in &s.condition {
            anyhow::ensure!(
                OPERATORS.contains(&op.as_str()),
                "policy statement {i}: condition operator {op} is not supported (supported: {})",
                OPERATORS.join(", ")
            );
            for key in keys.keys() {
                anyhow::ensure!(
                    key == "dynamodb:LeadingKeys",
                    "policy statement {i}: condition key {key} is not supported (only dynamodb:LeadingKeys)"
                );
            }
        }
        for a in &s.action {
            anyhow::ensure!(
                a == "*" || a.to_ascii_lowercase().starts_with("dynamodb:"),
                "policy statement {i}: action {a} is not a dynamodb action"
            );
        }
    }
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Allow,
    ImplicitDeny,
    ExplicitDeny,
}

/// IAM evaluation: an explicit Deny wins, then any Allow, else deny.
fn evaluate(
    policy: &Policy,
    user: &str,
    account: &str,
    action: &str,
    resource: &str,
    leading: &[String],
) -> Verdict {
    let mut allowed = false;
    for s in &policy.statement {
        if !principal_matches(s.principal.as_ref(), user, account) {
            continue;
        }
        if !s
            .action
            .iter()
            .any(|a| glob(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
        {
            continue;
        }
        if !s.resource.iter().any(|r| glob(r, resource)) {
            continue;
        }
        if !conditions_hold(&s.condition, user, leading) {
            continue;
        }
        match s.effect {
            Effect::Deny => return Verdict::ExplicitDeny,
            Effect::Allow => allowed = true,
        }
    }
    if allowed {
        Verdict::Allow
    } else {
        Verdict::ImplicitDeny
    }
}

fn principal_matches(principal: Option<&Value>, user: &str, account: &str) -> bool {
    let Some(p) = principal else {
        return true;
    };
    let arn = format!("arn:aws:iam::{account}:user/{user}");
    let names: Vec<&str> = match p {
        Value::String(s) => vec![s.as_str()],
        Value::Object(o) => match o.get("AWS") {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    names.iter().any(|n| *n == "*" || *n == user || *n == arn)
}

fn conditions_hold(
    condition: &BTreeMap<String, BTreeMap<String, Value>>,
    user: &str,
    leading: &[String],
) -> bool {
    condition.iter().all(|(op, keys)| {
        keys.values().all(|expected| {
            let patterns: Vec<String> = match expected {
                Value::String(s) => vec![s.clone()],
                Value::Array(a) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
                _ => Vec::new(),
            }
            .into_iter()
            .map(|p| p.replace("${aws:username}", user))
            .collect();
            let like = op.ends_with("StringLike");
            let matches = |v: &String| {
                patterns
                    .iter()
                    .any(|p| if like { glob(p, v) } else { p == v })
            };
            if op.starts_with("ForAnyValue:") {
                leading.iter().any(matches)
            } else if op.starts_with("ForAllValues:") {
                // IAM: true for an empty set of request values.
                leading.iter().all(matches)
            } else {
                !leading.is_empty() && leading.iter().all(matches)
            }
        })
    })
}

/// IAM wildcard match: `*` any run of characters, `?` one character.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn table_arn(region: &str, account: &str, table: &str) -> String {
    format!("arn:aws:dynamodb:{region}:{account}:table/{table}")
}

/// The ARNs a request touches: its table(s), the index it reads, the stream it names.
fn resources_of(op: &str, req: &Value, region: &str, account: &str) -> Vec<String> {
    let str_field = |k: &str| req.get(k).and_then(Value::as_str);
    match op {
        "ListTables" | "ListStreams" | "GetRecords" => vec!["*".to_string()],
        "DescribeStream" | "GetShardIterator" => {
            vec![str_field("StreamArn").unwrap_or("*").to_string()]
        }
        "BatchGetItem" | "BatchWriteItem" => req
            .get("RequestItems")
            .and_then(Value::as_object)
            .map(|o| o.keys().map(|t| table_arn(region, account, t)).collect())
            .unwrap_or_default(),
        "TransactWriteItems" | "TransactGetItems" => {
            let mut out: Vec<String> = transact_actions(req)
                .map(|(_, body)| {
                    table_arn(
                        region,
                        account,
                        body.get("TableName").and_then(Value::as_str).unwrap_or(""),
                    )
                })
                .collect();
            out.sort();
            out.dedup();
            out
        }
        _ => {
            let table = table_arn(region, account, str_field("TableName").unwrap_or(""));
            match str_field("IndexName") {
                Some(index) => vec![format!("{table}/index/{index}")],
                None => vec![table],
            }
        }
    }
}

fn transact_actions(req: &Value) -> impl Iterator<Item = (&String, &Value)> {
    req.get("TransactItems")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|o| o.iter())
}

/// The partition-key values a request touches (`dynamodb:LeadingKeys`).
fn leading_keys(op: &str, req: &Value, hash_key: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut from_item = |table: &str, item: Option<&Value>| {
        let (Some(name), Some(item)) = (hash_key(table), item) else {
            return;
        };
        if let Some(v) = item.get(&name).and_then(scalar_text) {
            out.push(v);
        }
    };
    let table = req.get("TableName").and_then(Value::as_str).unwrap_or("");
    match op {
        "GetItem" | "UpdateItem" | "DeleteItem" => from_item(table, req.get("Key")),
        "PutItem" => from_item(table, req.get("Item")),
        "BatchGetItem" | "BatchWriteItem" => {
            let Some(items) = req.get("RequestItems").and_then(Value::as_object) else {
                return out;
            };
            for (t, v) in items {
                if let Some(keys) = v.get("Keys").and_then(Value::as_array) {
                    keys.iter().for_each(|k| from_item(t, Some(k)));
                }
                for w in v.as_array().into_iter().flatten() {
                    from_item(t, w.pointer("/PutRequest/Item"));
                    from_item(t, w.pointer("/DeleteRequest/Key"));
                }
            }
        }
        "TransactWriteItems" | "TransactGetItems" => {
            for (_, body) in transact_actions(req) {
                let t = body.get("TableName").and_then(Value::as_str).unwrap_or("");
                from_item(t, body.get("Key").or_else(|| body.get("Item")));
            }
        }
        "Query" => {
            if let Some(v) = query_partition_value(req, hash_key(table).as_deref()) {
                out.push(v);
            }
        }
        _ => {}
    }
    out
}

/// The value a Query's KeyConditionExpression compares the partition key with.
fn query_partition_value(req: &Value, hash: Option<&str>) -> Option<String> {
    let hash = hash?;
    let expr = req.get("KeyConditionExpression")?.as_str()?;
    let names = req.get("ExpressionAttributeNames");
    let values = req.get("ExpressionAttributeValues")?;
    let resolve = |s: &str| -> String {
        let s = s.trim().trim_matches(|c| c == '(' || c == ')').trim();
        match s.strip_prefix('#') {
            Some(_) => names
                .and_then(|n| n.get(s))
                .and_then(Value::as_str)
                .unwrap_or(s)
                .to_string(),
            None => s.to_string(),
        }
    };
    for clause in split_and(expr) {
        let Some((left, right)) = clause.split_once('=') else {
            continue;
        };
        let (l, r) = (resolve(left), resolve(right));
        let (name, placeholder) = if r.starts_with(':') { (l, r) } else { (r, l) };
        if name == hash && placeholder.starts_with(':') {
            return values.get(&placeholder).and_then(scalar_text);
        }
    }
    None
}

fn split_and(expr: &str) -> Vec<String> {
    let upper = expr.to_ascii_uppercase();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while let Some(pos) = upper[i..].find(" AND ") {
        let at = i + pos;
        out.push(expr[start..at].to_string());
        start = at + 5;
        i = start;
    }
    out.push(expr[start..].to_string());
    out
}

fn scalar_text(v: &Value) -> Option<String> {
    let av: AttributeValue = serde_json::from_value(v.clone()).ok()?;
    let json = serde_json::to_value(&av).ok()?;
    let obj = json.as_object()?;
    let (tag, inner) = obj.iter().next()?;
    match tag.as_str() {
        "S" | "N" | "B" => inner.as_str().map(str::to_string),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed_parts(body: &[u8], secret: &str) -> hyper::http::request::Parts {
        let headers = [
            ("host", "127.0.0.1:8000"),
            ("x-amz-date", "20260101T000000Z"),
            ("x-amz-target", "DynamoDB_20120810.GetItem"),
        ];
        let authorization = sign(
            "AKID",
            secret,
            "us-east-1",
            "20260101T000000Z",
            &headers,
            body,
        );
        let mut req = hyper::Request::post("/");
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req.header("authorization", authorization)
            .body(())
            .expect("valid request")
            .into_parts()
            .0
    }

    fn auth() -> Auth {
        let creds = Credentials {
            users: vec![User {
                user_name: "alice".into(),
                access_key_id: "AKID".into(),
                secret_access_key: "secret".into(),
            }],
        };
        Auth::new(creds, None).expect("no policy")
    }

    fn error_type(e: HttpError) -> &'static str {
        match e {
            HttpError::Framework { type_name, .. } => type_name,
            HttpError::Engine(e) => e.kind.name(),
        }
    }

    #[test]
    fn sigv4_accepts_a_correct_signature_and_rejects_tampering() {
        let now = parse_amz_date("20260101T000000Z").unwrap();
        let auth = auth();
        let body = br#"{"TableName":"t"}"#;
        let parts = signed_parts(body, "secret");
        assert!(
            auth.verify_signature(&parts, body, "us-east-1", now)
                .is_ok()
        );
        let tampered = br#"{"TableName":"u"}"#;
        let e = auth
            .verify_signature(&parts, tampered, "us-east-1", now)
            .unwrap_err();
        assert!(error_type(e).ends_with("#InvalidSignatureException"));
        let wrong_secret = signed_parts(body, "guess");
        let e = auth
            .verify_signature(&wrong_secret, body, "us-east-1", now)
            .unwrap_err();
        assert!(error_type(e).ends_with("#InvalidSignatureException"));
        let e = auth
            .verify_signature(&parts, body, "eu-west-1", now)
            .unwrap_err();
        assert!(error_type(e).ends_with("#InvalidSignatureException"));
        let e = auth
            .verify_signature(&parts, body, "us-east-1", now + 3600)
            .unwrap_err();
        assert!(
            error_type(e).ends_with("#InvalidSignatureException"),
            "expired"
        );
    }

    #[test]
    fn policy_explicit_deny_wins_and_leading_keys_confine() {
        let policy: Policy = serde_json::from_value(serde_json::json!({
            "Statement": [
                {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*",
                 "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}"]}}},
                {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*"}
            ]
        }))
        .unwrap();
        let arn = "arn:aws:dynamodb:us-east-1:0:table/t";
        let own = ["alice".to_string()];
        let other = ["bob".to_string()];
        assert_eq!(
            evaluate(&policy, "alice", "0", "dynamodb:GetItem", arn, &own),
            Verdict::Allow
        );
        assert_eq!(
            evaluate(&policy, "alice", "0", "dynamodb:GetItem", arn, &other),
            Verdict::ImplicitDeny
        );
        assert_eq!(
            evaluate(&policy, "alice", "0", "dynamodb:DeleteItem", arn, &own),
            Verdict::ExplicitDeny
        );
    }

    #[test]
    fn glob_matches_iam_wildcards() {
        assert!(glob("dynamodb:Get*", "dynamodb:GetItem"));
        assert!(glob(
            "arn:aws:dynamodb:*:*:table/orders",
            "arn:aws:dynamodb:us-east-1:000000000000:table/orders"
        ));
        assert!(!glob(
            "arn:aws:dynamodb:*:*:table/orders",
            "arn:aws:dynamodb:us-east-1:000000000000:table/orders2"
        ));
        assert!(glob("user-?", "user-1"));
    }

    #[test]
    fn amz_date_parses_to_unix_seconds() {
        assert_eq!(parse_amz_date("19700101T000000Z"), Some(0));
        assert_eq!(parse_amz_date("20260101T000000Z"), Some(1_767_225_600));
        assert_eq!(parse_amz_date("2026-01-01"), None);
    }

    #[test]
    fn query_leading_key_comes_from_the_partition_key_clause() {
        let req = serde_json::json!({
            "TableName": "t",
            "KeyConditionExpression": "#p = :p AND sk > :s",
            "ExpressionAttributeNames": {"#p": "pk"},
            "ExpressionAttributeValues": {":p": {"S": "alice"}, ":s": {"N": "1"}}
        });
        assert_eq!(
            query_partition_value(&req, Some("pk")),
            Some("alice".to_string())
        );
    }
}
