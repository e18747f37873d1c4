//! What classifying a request costs: faultproxy's `classify` over the operation corpus (one
//! request per operation of every service botocore models, as botocore sends it; written by
//! `cargo test -p harness --test operation_corpus` to `target/operation-corpus/corpus.jsonl`).
//! Each request is classified in a batch of [`BATCH`] calls and the batch's mean is that
//! request's cost, so the clock's own cost does not count; the figures are percentiles over the
//! requests. The operation table's one-time load (parsing the embedded text) is timed apart.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use faultproxy::aws::classify::classify;
use faultproxy::aws::Service;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};

/// Calls per request and timing.
const BATCH: u32 = 32;

/// The figures of one run.
#[derive(Debug, serde::Serialize)]
pub struct ClassifyCost {
    pub requests: usize,
    pub classify_ns_p50: f64,
    pub classify_ns_p99: f64,
    pub classify_ns_mean: f64,
    /// Loading the operation table on first use (once per process).
    pub table_load_ms: f64,
}

#[derive(serde::Deserialize)]
struct Row {
    #[serde(default)]
    method: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: String,
    error: Option<String>,
}

type Request = (Method, Uri, HeaderMap, Vec<u8>);

/// The request as it reaches the proxy: origin-form URI, the `Host` header the client sends.
fn request(row: Row) -> Option<Request> {
    if row.error.is_some() {
        return None;
    }
    let url: url::Url = row.url.parse().ok()?;
    let origin = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let mut headers = HeaderMap::new();
    let host = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str()?),
        None => url.host_str()?.to_string(),
    };
    headers.insert(http::header::HOST, HeaderValue::from_str(&host).ok()?);
    for (k, v) in &row.headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_bytes(v.as_bytes()),
        ) {
            headers.insert(k, v);
        }
    }
    let body = (0..row.body.len() / 2)
        .filter_map(|i| u8::from_str_radix(&row.body[2 * i..2 * i + 2], 16).ok())
        .collect();
    Some((
        row.method.parse().ok()?,
        origin.parse().ok()?,
        headers,
        body,
    ))
}

/// Measures `classify` over the corpus at `path`.
pub fn run(path: &Path) -> Result<ClassifyCost, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "no corpus at {} ({e}): `cargo test -p harness --test operation_corpus` writes it",
            path.display()
        )
    })?;
    let started = Instant::now();
    black_box(Service::count());
    let table_load_ms = started.elapsed().as_secs_f64() * 1e3;
    let requests: Vec<Request> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Row>(l).ok())
        .filter_map(request)
        .collect();
    if requests.is_empty() {
        return Err(format!("{} holds no request", path.display()));
    }
    // Warm-up: every route and hash table touched once.
    for (m, u, h, b) in &requests {
        black_box(classify(m, u, h, b));
    }
    let mut ns: Vec<f64> = requests
        .iter()
        .map(|(m, u, h, b)| {
            let t = Instant::now();
            for _ in 0..BATCH {
                black_box(classify(black_box(m), u, h, b));
            }
            t.elapsed().as_nanos() as f64 / f64::from(BATCH)
        })
        .collect();
    ns.sort_by(f64::total_cmp);
    let at = |q: f64| ns[((ns.len() - 1) as f64 * q).round() as usize];
    Ok(ClassifyCost {
        requests: ns.len(),
        classify_ns_p50: at(0.5),
        classify_ns_p99: at(0.99),
        classify_ns_mean: ns.iter().sum::<f64>() / ns.len() as f64,
        table_load_ms,
    })
}
