//! Why this file exists: the proxy can only fault, model and journal an operation it recognises.
//! This sends nothing over the network: the pinned botocore (the foreign clients' venv,
//! pyclients.rs) builds one signed request per operation of every service it models
//! (`operation_corpus/corpus.py`, written to `<target>/operation-corpus/corpus.jsonl`), and
//! faultproxy's `classify` must name the same (service, operation). It first checks that the
//! checked-in operation table is what `scripts/gen-operations.py` makes of that botocore.
//!
//! An operation whose request is byte for byte another's (a twin: `docdb` and `rds` share one
//! query API, a deprecated S3 operation and its successor share a URI) counts as recognised
//! when it is classified as that twin; the count of such is printed apart.
//!
//! Prints the coverage (overall, per protocol, over the services moto serves). Fails when an
//! operation is missed that `operation_corpus/exceptions.txt` does not list with its reason,
//! when a listed one is recognised after all (the list only shrinks), when a service moto serves
//! is below 100 %, or when the whole is below 99.5 %.
//!
//! Run: `cargo test -p harness --test operation_corpus -- --nocapture`.

#[path = "foreign_clients/pyclients.rs"]
#[allow(dead_code)]
mod pyclients;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use faultproxy::aws::classify::classify;
use faultproxy::aws::{Operation, Service};
use harness::emulator::moto_bootstrap::Bootstrap;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};

/// One line of the corpus.
#[derive(serde::Deserialize)]
struct Row {
    service: String,
    operation: String,
    variant: String,
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

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: could not start: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
        .collect()
}

/// What faultproxy makes of a corpus row: `Ok` or why not.
fn check(row: &Row) -> Result<(), String> {
    if let Some(e) = &row.error {
        return Err(format!("botocore could not build it: {e}"));
    }
    let url: url::Url = row
        .url
        .parse()
        .map_err(|e| format!("url {}: {e}", row.url))?;
    let origin = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let uri: Uri = origin.parse().map_err(|e| format!("uri {origin}: {e}"))?;
    let mut headers = HeaderMap::new();
    // Sent on the wire by the HTTP client, not in botocore's request.
    let host = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    };
    headers.insert(http::header::HOST, HeaderValue::from_str(&host).unwrap());
    for (k, v) in &row.headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_bytes(v.as_bytes()),
        ) {
            headers.insert(k, v);
        }
    }
    let method: Method = row.method.parse().map_err(|_| "bad method".to_string())?;
    let info = classify(&method, &uri, &headers, &hex(&row.body));
    let got = (info.service_name(), info.operation_name());
    let want = Service::from_name(&row.service).and_then(|s| s.operation(&row.operation));
    if info.operation.is_some() && info.operation == want {
        Ok(())
    } else if info.operation.is_some() && info.operation == want.map(Operation::canonical) {
        // The same request as another operation's (`Operation::canonical`): rules naming
        // either match it.
        Ok(())
    } else {
        Err(format!(
            "classified as {}:{} ({} {origin})",
            got.0.unwrap_or("?"),
            got.1.unwrap_or("?"),
            row.method
        ))
    }
}

/// `service Operation  reason` lines (`#` comments); the reason is required.
fn exceptions() -> BTreeMap<(String, String), String> {
    let path = workspace().join("harness/tests/operation_corpus/exceptions.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.splitn(3, char::is_whitespace);
        let (Some(s), Some(o), Some(reason)) = (parts.next(), parts.next(), parts.next()) else {
            panic!(
                "{}:{}: expected `service Operation reason`",
                path.display(),
                n + 1
            );
        };
        assert!(
            !reason.trim().is_empty(),
            "{}:{}: no reason",
            path.display(),
            n + 1
        );
        out.insert((s.to_string(), o.to_string()), reason.trim().to_string());
    }
    out
}

/// The botocore services the pinned moto serves (its backend index, mapped by name).
fn moto_services() -> BTreeSet<Service> {
    let boot = Bootstrap::from_env();
    boot.ensure()
        .unwrap_or_else(|e| panic!("the pinned moto is needed: {e}"));
    let names = run(
        Command::new(boot.venv_python()).args([
            "-c",
            "import moto.backend_index as b; print('\\n'.join(n for n, _ in b.backend_url_patterns))",
        ]),
        "listing moto's backends",
    );
    let mut out = BTreeSet::new();
    for name in names.lines().map(str::trim).filter(|n| !n.is_empty()) {
        match Service::from_name(name) {
            Some(s) => {
                out.insert(s);
            }
            None => println!("moto backend {name:?} is no botocore service name (not counted)"),
        }
    }
    out
}

#[test]
fn every_operation_of_every_service_is_classified() {
    let clients = pyclients::ensure().unwrap_or_else(|e| panic!("pinned botocore: {e}"));
    if let Some(took) = clients.installed_in {
        println!("installed the pinned clients in {took:?}");
    }
    let ws = workspace();
    print!(
        "{}",
        run(
            Command::new(&clients.python)
                .arg(ws.join("scripts/gen-operations.py"))
                .arg("--check"),
            "scripts/gen-operations.py --check (is the operation table up to date?)",
        )
    );
    let dir = pyclients::root().join("../../operation-corpus");
    std::fs::create_dir_all(&dir).unwrap();
    let corpus = dir.join("corpus.jsonl");
    print!(
        "{}",
        run(
            Command::new(&clients.python)
                .arg(ws.join("harness/tests/operation_corpus/corpus.py"))
                .arg(&corpus),
            "operation_corpus/corpus.py",
        )
    );
    let text = std::fs::read_to_string(&corpus).unwrap();
    // Per (service, operation) of the table: the first failure of any of its variants.
    let mut result: BTreeMap<(String, String), Result<(), String>> = Service::all()
        .flat_map(|s| s.operations())
        .map(|op: Operation| {
            let key = (op.service().name().to_string(), op.name().to_string());
            (key, Err("not in the corpus".to_string()))
        })
        .collect();
    let mut seen = BTreeSet::new();
    for line in text.lines() {
        let row: Row = serde_json::from_str(line).unwrap();
        let key = (row.service.clone(), row.operation.clone());
        let outcome = check(&row).map_err(|e| format!("[{}] {e}", row.variant));
        let first = seen.insert(key.clone());
        let slot = result.entry(key).or_insert(Ok(()));
        if first || slot.is_ok() {
            *slot = outcome;
        }
    }
    report(&result, &exceptions(), &moto_services());
}

fn report(
    result: &BTreeMap<(String, String), Result<(), String>>,
    exceptions: &BTreeMap<(String, String), String>,
    moto: &BTreeSet<Service>,
) {
    let mut by_protocol: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let (mut moto_ok, mut moto_all) = (0, 0);
    let mut problems = Vec::new();
    for ((service, op), outcome) in result {
        let svc = Service::from_name(service);
        let proto = svc.map_or("?", |s| s.protocol().botocore_name());
        let entry = by_protocol.entry(proto).or_default();
        entry.1 += 1;
        let in_moto = svc.is_some_and(|s| moto.contains(&s));
        moto_all += usize::from(in_moto);
        let excepted = exceptions.get(&(service.clone(), op.clone()));
        match (outcome, excepted) {
            (Ok(()), None) => {
                entry.0 += 1;
                moto_ok += usize::from(in_moto);
            }
            (Ok(()), Some(_)) => {
                entry.0 += 1;
                moto_ok += usize::from(in_moto);
                problems.push(format!(
                    "{service} {op}: recognised now; delete it from exceptions.txt"
                ));
            }
            (Err(e), None) => problems.push(format!("{service} {op}: {e}")),
            (Err(e), Some(reason)) => println!("excepted {service} {op}: {e} -- {reason}"),
        }
        if in_moto && outcome.is_err() {
            problems.push(format!(
                "{service} {op}: moto serves {service}, so it must be recognised"
            ));
        }
    }
    for key in exceptions.keys() {
        if !result.contains_key(key) {
            problems.push(format!(
                "{} {}: in exceptions.txt but not in the table",
                key.0, key.1
            ));
        }
    }
    let twins = result
        .iter()
        .filter(|((s, o), r)| {
            r.is_ok()
                && Service::from_name(s)
                    .and_then(|s| s.operation(o))
                    .is_some_and(|op| op.canonical() != op)
        })
        .count();
    let ok: usize = by_protocol.values().map(|v| v.0).sum();
    let all: usize = by_protocol.values().map(|v| v.1).sum();
    for (p, (k, n)) in &by_protocol {
        println!("coverage {p:<20} {k:>6}/{n:<6} {:6.2} %", pct(*k, *n));
    }
    println!(
        "coverage of the {} services moto serves: {moto_ok}/{moto_all} ({:.2} %)",
        moto.len(),
        pct(moto_ok, moto_all)
    );
    println!(
        "coverage overall: {ok}/{all} operations of {} services ({:.2} %; {twins} of them as \
         their wire twin, {:.2} % exactly), {} excepted",
        Service::count(),
        pct(ok, all),
        pct(ok - twins, all),
        exceptions.len()
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(
        pct(ok, all) >= 99.5,
        "overall coverage {:.2} % < 99.5 %",
        pct(ok, all)
    );
}

fn pct(k: usize, n: usize) -> f64 {
    if n == 0 {
        100.0
    } else {
        100.0 * k as f64 / n as f64
    }
}
