//! A TCP proxy in front of the rig's git smart-HTTP server that counts the protocol-v2
//! commands clients send through it (`command=ls-refs`, `command=fetch`): proof of which
//! requests a path makes, without timing anything.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// The proxy; it stops accepting when dropped.
pub struct GitCounter {
    /// `http://127.0.0.1:PORT`: put it in place of the server's scheme, host and port.
    pub base: String,
    counts: Arc<[AtomicUsize; 2]>,
    task: tokio::task::JoinHandle<()>,
}

const MARKERS: [&[u8]; 2] = [b"command=ls-refs", b"command=fetch"];

impl GitCounter {
    /// Proxies to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let counts: Arc<[AtomicUsize; 2]> = Arc::new(Default::default());
        let (upstream, c) = (upstream.to_owned(), counts.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (upstream, c) = (upstream.clone(), c.clone());
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(&upstream).await {
                        let _ = relay(client, server, &c).await;
                    }
                });
            }
        });
        Self { base, counts, task }
    }

    /// `ls-refs` commands seen so far.
    pub fn ls_refs(&self) -> usize {
        self.counts[0].load(Ordering::SeqCst)
    }

    /// `fetch` commands seen so far.
    pub fn fetches(&self) -> usize {
        self.counts[1].load(Ordering::SeqCst)
    }
}

impl Drop for GitCounter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(
    client: TcpStream,
    server: TcpStream,
    counts: &[AtomicUsize; 2],
) -> std::io::Result<()> {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async {
        // The tail of the previous read, so that a marker split over two reads counts once.
        let mut carry: Vec<u8> = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = cr.read(&mut buf).await?;
            if n == 0 {
                return sw.shutdown().await;
            }
            let mut seen = std::mem::take(&mut carry);
            let old = seen.len();
            seen.extend_from_slice(&buf[..n]);
            for (marker, count) in MARKERS.iter().zip(counts) {
                let found = seen
                    .windows(marker.len())
                    .enumerate()
                    .filter(|(i, w)| w == marker && i + marker.len() > old)
                    .count();
                count.fetch_add(found, Ordering::SeqCst);
            }
            carry = seen[seen.len().saturating_sub(16)..].to_vec();
            sw.write_all(&buf[..n]).await?;
        }
    };
    let down = tokio::io::copy(&mut sr, &mut cw);
    let (a, b) = tokio::join!(up, down);
    a.and(b.map(drop))
}
