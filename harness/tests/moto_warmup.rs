//! moto's start-up warm-up (`readiness::warm_up_moto`) names moto's default account with
//! `x-moto-account-id` on every call, as every other request of the harness does: without it moto
//! looks the access key up in every account's IAM backend of every partition and builds the
//! ones it lacks. A small HTTP server stands in for moto and records what it is sent.

use std::sync::{Arc, Mutex};

use harness::accounts::MOTO_DEFAULT_ACCOUNT;
use harness::emulator::readiness::{warm_up_moto, WARMUP_CALLS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves `200 OK` to every request on every connection; records each request's head.
async fn recording_server() -> (url::Url, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let heads = Arc::new(Mutex::new(Vec::new()));
    let recorded = heads.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let heads = recorded.clone();
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    // One whole request (head and Content-Length body) at a time.
                    let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map(|v| v.trim().parse().unwrap())
                        .unwrap_or(0);
                    while buffer.len() < end + 4 + length {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buffer.drain(..end + 4 + length);
                    heads.lock().unwrap().push(head);
                    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
                    if socket.write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url.parse().unwrap(), heads)
}

#[tokio::test]
async fn every_warm_up_call_names_the_default_account() {
    let (url, heads) = recording_server().await;
    warm_up_moto(&url).await;
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), WARMUP_CALLS.len(), "{heads:#?}");
    for head in &heads {
        assert!(
            head.contains(&format!("\r\nx-moto-account-id: {MOTO_DEFAULT_ACCOUNT}")),
            "{head}"
        );
        assert!(
            head.contains(&format!("credential={MOTO_DEFAULT_ACCOUNT}/")),
            "{head}"
        );
    }
}
