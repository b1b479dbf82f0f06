//! The accept loop behind [`super::serve`]: HTTP/1.1 connections with a header timeout, an idle
//! keep-alive timeout and a connection cap, each connection watched by its own task.
//!
//! Why not `axum::serve`: it has no connection cap and no timeouts of its own, and it logs and
//! retries `accept` errors once a second, so 20,000 idle sockets made it log `Too many open
//! files` forever while `/healthz` stopped answering (issue 17).
//!
//! Each connection is in one phase: *idle* (no byte of a request yet), *head* (a request has
//! started but its headers are not complete) or *busy* (a request is being handled, under the
//! request timeout of [`super::limits::finish`]). Idle longer than `idle_timeout` or head longer
//! than `header_timeout` closes the connection. At `max_connections`, a new connection makes
//! the connection that has been idle or in its head the longest close, so a flood of idle or
//! slow clients cannot lock out a health probe; if every connection is busy the new one is
//! refused. Refusals and closures are logged once per interval, with counts.

use std::collections::HashMap;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use super::limits::{ApiSettings, RateLimitedLog};

const IDLE: u8 = 0;
const HEAD: u8 = 1;
const BUSY: u8 = 2;
const CLOSING: u8 = 3;

/// How often a limit is logged at most.
const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// One connection's phase and when it began (ms since the server's epoch).
struct Conn {
    phase: AtomicU8,
    since: AtomicU64,
    changed: Notify,
    close: Notify,
}

struct Table {
    epoch: Instant,
    cap: usize,
    next: AtomicU64,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    full: RateLimitedLog,
    evicted: AtomicU64,
    refused: AtomicU64,
}

impl Table {
    fn new(cap: usize) -> Self {
        Self {
            epoch: Instant::now(),
            cap: cap.max(1),
            next: AtomicU64::new(0),
            conns: Mutex::new(HashMap::new()),
            full: RateLimitedLog::new(LOG_INTERVAL),
            evicted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.conns.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new connection, closing the longest-waiting idle one when at the cap;
    /// `None` when at the cap and every connection is busy.
    fn admit(&self) -> Option<(u64, Arc<Conn>)> {
        let mut conns = self.lock();
        while conns.len() >= self.cap {
            let oldest = conns
                .iter()
                .filter(|(_, c)| matches!(c.phase.load(Ordering::Acquire), IDLE | HEAD))
                .min_by_key(|(_, c)| c.since.load(Ordering::Acquire))
                .map(|(id, c)| (*id, c.clone()));
            let Some((id, victim)) = oldest else {
                drop(conns);
                self.refused.fetch_add(1, Ordering::Relaxed);
                self.log_full();
                return None;
            };
            let phase = victim.phase.load(Ordering::Acquire);
            if victim
                .phase
                .compare_exchange(phase, CLOSING, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                conns.remove(&id);
                victim.close.notify_one();
                self.evicted.fetch_add(1, Ordering::Relaxed);
            }
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn {
            phase: AtomicU8::new(IDLE),
            since: AtomicU64::new(self.now()),
            changed: Notify::new(),
            close: Notify::new(),
        });
        conns.insert(id, conn.clone());
        let at_cap = conns.len() >= self.cap;
        drop(conns);
        if at_cap {
            self.log_full();
        }
        Some((id, conn))
    }

    fn log_full(&self) {
        if let Some(quiet) = self.full.due() {
            tracing::warn!(
                max_connections = self.cap,
                closed_idle = self.evicted.swap(0, Ordering::Relaxed),
                refused = self.refused.swap(0, Ordering::Relaxed),
                repeats = quiet,
                "connection limit reached (api.max_connections): closing the longest-idle connections to make room"
            );
        }
    }

    fn set(&self, conn: &Conn, from: &[u8], to: u8) {
        let now = self.now();
        let phase = conn.phase.load(Ordering::Acquire);
        if from.contains(&phase)
            && conn
                .phase
                .compare_exchange(phase, to, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            conn.since.store(now, Ordering::Release);
            conn.changed.notify_one();
        }
    }

    /// When `conn` passes its limit in its current phase; `None` while busy.
    fn deadline(&self, conn: &Conn, s: &ApiSettings) -> Option<Instant> {
        let since = self.epoch + Duration::from_millis(conn.since.load(Ordering::Acquire));
        match conn.phase.load(Ordering::Acquire) {
            IDLE => Some(since + s.idle_timeout),
            HEAD => Some(since + s.header_timeout),
            CLOSING => Some(Instant::now()),
            _ => None,
        }
    }
}

/// The socket, marking the connection's head as started when a byte arrives while idle.
struct Watched {
    io: TcpStream,
    conn: Arc<Conn>,
    table: Arc<Table>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before && self.conn.phase.load(Ordering::Acquire) == IDLE {
            self.table.set(&self.conn, &[IDLE], HEAD);
        }
        polled
    }
}

/// Writes go straight to the socket, vectored writes included: hyper checks
/// `is_write_vectored` and, when it is false, copies every response body into its own buffer
/// before writing (a 2 MB `/metrics` page at 10,000 sources was copied whole).
impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Accepts until `shutdown`, then lets open requests finish and returns when every connection
/// is closed. `cap` is the connection cap (see [`super::limits::connection_cap`]).
pub(super) async fn run(
    listener: TcpListener,
    router: Router,
    settings: ApiSettings,
    cap: usize,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let table = Arc::new(Table::new(cap));
    let accept_errors = RateLimitedLog::new(LOG_INTERVAL);
    let tracker = TaskTracker::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    // The head timeout is ours (phase HEAD), so hyper's would only cut idle keep-alives short.
    http.timer(TokioTimer::new()).header_read_timeout(None);
    let settings = Arc::new(settings);
    loop {
        let stream = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    if let Some(quiet) = accept_errors.due() {
                        tracing::error!(error = %e, repeats = quiet, "accept failed; lower api.max_connections or raise `ulimit -n`");
                    }
                    // EMFILE and friends: give closing connections a moment instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some((id, conn)) = table.admit() else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let io = Watched {
            io: stream,
            conn: conn.clone(),
            table: table.clone(),
        };
        let (table, settings, router, shutdown) = (
            table.clone(),
            settings.clone(),
            router.clone(),
            shutdown.clone(),
        );
        let service = {
            let (table, conn) = (table.clone(), conn.clone());
            hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let (table, conn, router) = (table.clone(), conn.clone(), router.clone());
                async move {
                    table.set(&conn, &[IDLE, HEAD], BUSY);
                    let answer = router.oneshot(req.map(axum::body::Body::new)).await;
                    table.set(&conn, &[BUSY], IDLE);
                    answer
                }
            })
        };
        let connection = http.serve_connection(TokioIo::new(io), service);
        tracker.spawn(async move {
            watch(connection, &table, &conn, &settings, &shutdown).await;
            table.lock().remove(&id);
        });
    }
    tracker.close();
    tracker.wait().await;
    Ok(())
}

/// Drives one connection until it ends, passes a limit, is evicted, or drains at shutdown.
async fn watch<F>(
    connection: hyper::server::conn::http1::Connection<TokioIo<Watched>, F>,
    table: &Table,
    conn: &Conn,
    settings: &ApiSettings,
    shutdown: &CancellationToken,
) where
    F: hyper::service::HttpService<Incoming>,
    F::ResBody: 'static,
    <F::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut connection = pin!(connection);
    let mut draining = false;
    loop {
        let deadline = table.deadline(conn, settings);
        tokio::select! {
            _ = connection.as_mut() => return,
            () = conn.close.notified() => return,
            () = conn.changed.notified() => {}
            () = sleep_until(deadline) => {
                if table.deadline(conn, settings).is_some_and(|d| d <= Instant::now()) {
                    return;
                }
            }
            () = shutdown.cancelled(), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// hyper copies every response body into a buffer of its own unless the connection says
    /// it writes vectored; the watched socket must say what the socket says.
    #[tokio::test]
    async fn the_watched_socket_writes_vectored_like_the_socket() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
        let (io, _) = accepted.unwrap();
        let table = Arc::new(Table::new(1));
        let (_, conn) = table.admit().unwrap();
        let vectored = io.is_write_vectored();
        assert!(vectored, "a tokio TcpStream writes vectored");
        let mut watched = Watched { io, conn, table };
        assert_eq!(watched.is_write_vectored(), vectored);
        let parts = [std::io::IoSlice::new(b"ab"), std::io::IoSlice::new(b"cd")];
        let n = std::future::poll_fn(|cx| Pin::new(&mut watched).poll_write_vectored(cx, &parts))
            .await
            .unwrap();
        assert_eq!(n, 4, "both slices in one write");
        let mut got = [0u8; 4];
        tokio::io::AsyncReadExt::read_exact(&mut client.unwrap(), &mut got)
            .await
            .unwrap();
        assert_eq!(&got, b"abcd");
    }
}
