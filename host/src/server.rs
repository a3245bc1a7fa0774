//! The HTTP/1.1 server loop, with the connection hygiene a server on the internet needs
//! (`axum::serve` has none of it): a cap on open connections, a deadline for a request's head
//! (from its first byte), one for its body (from the head), one for an idle keep-alive
//! connection, and a bound on the head's size. Errors the HTTP parser answers by itself (431,
//! 400, 414) are sent as problem+json like every other error.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::ConnectInfo;
use http_body::{Body as HttpBody, Frame};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

use crate::config::Config;

/// The limits of one server, from [`Config`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// From a request's first byte to the end of its head.
    pub header_timeout: Duration,
    /// From the end of a request's head to the end of its body.
    pub body_timeout: Duration,
    /// A keep-alive connection with no request in flight is closed after this long.
    pub idle_timeout: Duration,
    /// Connections open at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Largest request head (request line and headers), in bytes; larger: 431.
    pub max_header_bytes: usize,
}

impl Limits {
    pub fn from_config(c: &Config) -> Limits {
        Limits {
            header_timeout: Duration::from_millis(c.header_timeout_ms),
            body_timeout: Duration::from_millis(c.body_timeout_ms),
            idle_timeout: Duration::from_millis(c.idle_timeout_ms),
            max_connections: c.max_connections.max(1),
            max_header_bytes: c.max_header_bytes,
        }
    }
}

/// A request body's deadline, kept in the request's extensions so that an error answer caused
/// by it becomes a 408 (`api::error::uniform`).
#[derive(Debug, Clone)]
pub struct BodyDeadline {
    at: Instant,
    expired: Arc<AtomicBool>,
}

impl BodyDeadline {
    fn new(timeout: Duration) -> Self {
        BodyDeadline {
            at: Instant::now() + timeout,
            expired: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Whether reading the body ran past the deadline.
    pub fn expired(&self) -> bool {
        self.expired.load(Ordering::Relaxed)
    }
}

/// Serves `app` on `listener` until `shutdown` completes; then stops accepting, lets requests
/// in flight finish (up to 30 s) and returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            _ = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let stop = stop_rx.clone();
        tokio::spawn(async move {
            connection(stream, peer, app, limits, stop).await;
            drop(permit);
        });
    }
    let _ = stop_tx.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(Duration::from_secs(30), permits.acquire_many(all)).await;
    Ok(())
}

/// One connection: hyper's HTTP/1.1 state machine, watched for the head and idle deadlines.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let state = Arc::new(ConnState::new());
    let io = TokioIo::new(Guarded {
        inner: Some(stream),
        state: state.clone(),
        rewrite: None,
        refused: false,
    });
    let service_state = state.clone();
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        let guard = InFlight::begin(service_state.clone());
        let deadline = BodyDeadline::new(limits.body_timeout);
        req.extensions_mut().insert(ConnectInfo(peer));
        req.extensions_mut().insert(deadline.clone());
        let req = req.map(|body| TimedBody::new(body, deadline));
        let app = app.clone();
        async move {
            let res = app.oneshot(req).await;
            drop(guard);
            res.map_err(|e: Infallible| match e {})
        }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.max_buf_size(limits.max_header_bytes.max(8192))
        .keep_alive(true);
    let conn = http.serve_connection(io, service);
    tokio::pin!(conn);
    let tick = (limits.header_timeout.min(limits.idle_timeout) / 8)
        .clamp(Duration::from_millis(10), Duration::from_secs(1));
    let mut stopping = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, %peer, "connection ended with an error");
                }
                return;
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = tokio::time::sleep(tick) => {
                if let Some(why) = state.overdue(&limits) {
                    tracing::debug!(%peer, why, "connection closed");
                    return;
                }
            }
        }
    }
}

/// What the watchdog needs to know of a connection.
struct ConnState {
    start: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds since `start` when the connection last became idle.
    idle_since: AtomicU64,
    /// Milliseconds since `start` (plus one) of the first byte of a head not yet complete; 0: none.
    head_since: AtomicU64,
}

impl ConnState {
    fn new() -> Self {
        ConnState {
            start: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
            head_since: AtomicU64::new(0),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn on_read(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0 {
            let now = self.now_ms() + 1;
            let _ = self
                .head_since
                .compare_exchange(0, now, Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    /// Why the connection should be closed now, if it should.
    fn overdue(&self, limits: &Limits) -> Option<&'static str> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let now = self.now_ms();
        let head = self.head_since.load(Ordering::Acquire);
        if head > 0 {
            let elapsed = Duration::from_millis(now.saturating_sub(head - 1));
            return (elapsed >= limits.header_timeout)
                .then_some("request head not received in time");
        }
        let idle =
            Duration::from_millis(now.saturating_sub(self.idle_since.load(Ordering::Acquire)));
        (idle >= limits.idle_timeout).then_some("idle")
    }
}

/// A request being served: the connection is neither idle nor reading a head.
struct InFlight(Arc<ConnState>);

impl InFlight {
    fn begin(state: Arc<ConnState>) -> Self {
        state.in_flight.fetch_add(1, Ordering::AcqRel);
        state.head_since.store(0, Ordering::Release);
        InFlight(state)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let now = self.0.now_ms();
        self.0.idle_since.store(now, Ordering::Release);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The socket, noting reads for the watchdog and turning the bare error answers of the HTTP
/// parser (no `content-type`, empty body) into problem+json.
struct Guarded {
    /// Always present until dropped.
    inner: Option<TcpStream>,
    state: Arc<ConnState>,
    /// A rewritten answer and how much of it is written.
    rewrite: Option<(Vec<u8>, usize)>,
    /// An error answer was rewritten: the client may still be sending what was refused.
    refused: bool,
}

impl Drop for Guarded {
    /// After refusing a request the parser could not read, the rest of what the client sends is
    /// read and dropped for a moment before closing: closing with unread data would reset the
    /// connection and could destroy the answer before the client reads it.
    fn drop(&mut self) {
        let (Some(mut stream), true) = (self.inner.take(), self.refused) else {
            return;
        };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let _ = stream.shutdown().await;
                let mut scratch = vec![0u8; 16 * 1024];
                let _ = tokio::time::timeout(Duration::from_secs(2), async {
                    while let Ok(n) = stream.read(&mut scratch).await {
                        if n == 0 {
                            break;
                        }
                    }
                })
                .await;
            });
        }
    }
}

impl Guarded {
    fn io(&mut self) -> Pin<&mut TcpStream> {
        Pin::new(
            self.inner
                .as_mut()
                .expect("the socket is present until dropped"),
        )
    }

    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.rewrite {
            if *written >= bytes.len() {
                self.rewrite = None;
                break;
            }
            let n = ready!(
                Pin::new(self.inner.as_mut().expect("socket")).poll_write(cx, &bytes[*written..])
            )?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(self.io().poll_read(cx, buf))?;
        if buf.filled().len() > before {
            self.state.on_read();
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        if let Some((replacement, consumed)) = problem_for_bare_error(buf) {
            self.rewrite = Some((replacement, 0));
            self.refused = true;
            let _ = self.drain(cx)?;
            return Poll::Ready(Ok(consumed));
        }
        self.io().poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        self.io().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        self.io().poll_shutdown(cx)
    }
}

/// hyper answers a head it cannot parse (too large, malformed) itself, with a status line,
/// `content-length: 0` and no `content-type`; every answer of the application has a
/// `content-type`. Such a head becomes a problem+json answer; returns it and the length of the
/// head it replaces.
fn problem_for_bare_error(buf: &[u8]) -> Option<(Vec<u8>, usize)> {
    if !(buf.starts_with(b"HTTP/1.1 4")
        || buf.starts_with(b"HTTP/1.0 4")
        || buf.starts_with(b"HTTP/1.1 5"))
    {
        return None;
    }
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    if head.contains("\r\ncontent-type:") || !head.contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    let status = std::str::from_utf8(&buf[9..12]).ok()?.parse::<u16>().ok()?;
    let status = axum::http::StatusCode::from_u16(status).ok()?;
    let detail = match status.as_u16() {
        431 => "the request's headers are larger than this server accepts".to_owned(),
        414 => "the request's URI is longer than this server accepts".to_owned(),
        _ => "the request could not be parsed as HTTP/1.1".to_owned(),
    };
    let problem =
        crate::api::error::Problem::new(status, crate::api::error::code_for_status(status), detail);
    let body = serde_json::to_vec(&problem).ok()?;
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error"),
        crate::api::error::PROBLEM_JSON,
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    Some((out, end))
}

/// A request body that fails once its deadline passes (a client sending a byte a second).
struct TimedBody {
    inner: Incoming,
    deadline: BodyDeadline,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl TimedBody {
    fn new(inner: Incoming, deadline: BodyDeadline) -> Self {
        TimedBody {
            inner,
            deadline,
            sleep: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the request body was not received in time")]
pub struct BodyTimeout;

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let at = this.deadline.at;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at.into())));
        if sleep.as_mut().poll(cx).is_ready() {
            this.deadline.expired.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(Box::new(BodyTimeout))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
