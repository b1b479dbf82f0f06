//! The router served on a real socket (`127.0.0.1:0`), spoken to in raw HTTP/1.1, so that
//! chunked bodies (no `Content-Length`) meet the limit the way a proxy would send them.

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

/// Serves `app` on `listener` until the returned sender is dropped or fired.
fn serve(listener: TcpListener, app: Router) -> tokio::sync::oneshot::Sender<()> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
    });
    stop
}

/// Sends `head` + `body` and reads the whole answer (the request says `Connection: close`).
async fn exchange(addr: std::net::SocketAddr, head: &str, body: &[u8]) -> (u16, Value) {
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), conn.read_to_end(&mut raw))
        .await
        .expect("answer within 10 s")
        .unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("a full HTTP answer");
    let status = head[9..12].parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn chunked(body: &[u8], chunk: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for part in body.chunks(chunk) {
        out.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        out.extend_from_slice(part);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

fn head(path: &str, headers: &[(&str, String)], framing: &str) -> String {
    let mut h =
        format!("POST {path} HTTP/1.1\r\nHost: baton\r\nConnection: close\r\n{framing}\r\n");
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str("\r\n");
    h
}

#[tokio::test]
async fn over_a_socket_chunked_bodies_meet_the_limit_and_pushes_trigger() {
    let mut h = harness_with(4, |s| s.with_body_limit(4096));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = serve(listener, h.app.clone());

    // 8 KiB in 512-byte chunks with no Content-Length: refused once 4 KiB have arrived.
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(8192));
    let headers = signed(Provider::GitHub, &big, "big");
    let (status, json) = exchange(
        addr,
        &head("/hooks/github", &headers, "Transfer-Encoding: chunked"),
        &chunked(big.as_bytes(), 512),
    )
    .await;
    assert_eq!(status, 413, "{json}");
    assert_eq!(json["error"], "payload_too_large");

    // A signed Gitea push, chunked, under the limit: one check requested.
    let headers = signed(Provider::Gitea, GITEA, "g-1");
    let (status, json) = exchange(
        addr,
        &head("/hooks/gitea", &headers, "Transfer-Encoding: chunked"),
        &chunked(GITEA.as_bytes(), 100),
    )
    .await;
    assert_eq!(status, 202, "{json}");
    let got = drain(&mut h.checks);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].source, SourceId::from("gitea-hooks"));

    // The same push with Content-Length and a wrong token: 401.
    let mut headers = signed(Provider::GitLab, GITLAB, "l-1");
    headers[2].1 = "guess".into();
    let framing = format!("Content-Length: {}", GITLAB.len());
    let (status, json) = exchange(
        addr,
        &head("/hooks/gitlab", &headers, &framing),
        GITLAB.as_bytes(),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(json["detail"], "signature invalid");
    assert!(drain(&mut h.checks).is_empty());
    let _ = stop.send(());
}
