//! The listener: accepts TCP connections (TLS when configured) up to a limit, serves HTTP/1.1 and
//! HTTP/2 on each with hyper, and closes connections that stall. It owns everything that happens
//! before a request reaches the router, and the graceful shutdown.
//!
//! A hostile client can hold a server by its connections rather than its requests: connections that
//! never send a byte, a request head sent one byte a second (slowloris), keep-alive connections left
//! idle, responses never read. Each has its own bound here (`Timeouts`, README "Configuration"):
//!
//! - **connection limit**: at most `max_connections` at once; at the limit the listener stops
//!   accepting (new clients wait in the kernel's backlog) instead of failing on the open-file limit,
//!   which would also starve the store of file descriptors;
//! - **header read**: a request head must arrive whole within `header_read` of its first byte, and a
//!   new connection must send its first request head within `header_read` of being accepted;
//! - **idle**: a connection with no request in flight is closed after `idle` without a byte;
//! - **write**: a response write that makes no progress for `idle` closes the connection;
//! - **TLS handshake**: within `header_read`.
//!
//! Reading a request's body has its own deadline (`body_read_timeout_seconds`), in the gateway, which
//! knows how large a body the request may have. hyper has a single `header_read_timeout` that since 1.4
//! also bounds keep-alive idleness, so the two could not differ; the phases are tracked here instead
//! (`Activity`), on the connection's byte stream.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt;

/// How long a connection may take at each stage.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// From a connection's accept, or a request's first byte, to the end of its head; also the TLS
    /// handshake.
    pub header_read: Duration,
    /// Without a byte while no request is in flight, or without progress writing a response.
    pub idle: Duration,
}

/// What the listener is doing; connections follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Serving,
    /// Not accepting; open connections finish their requests and close.
    Draining,
    /// Every connection is dropped.
    Stopped,
}

/// Stops a server started by [`serve`].
#[derive(Clone)]
pub struct Handle {
    state: Arc<watch::Sender<State>>,
}

impl Handle {
    fn new() -> Handle {
        Handle {
            state: Arc::new(watch::channel(State::Serving).0),
        }
    }

    /// Stop accepting and let open connections finish their requests.
    pub fn drain(&self) {
        self.state.send_if_modified(|s| {
            let changed = *s == State::Serving;
            if changed {
                *s = State::Draining;
            }
            changed
        });
    }

    /// Drop every connection now.
    pub fn stop(&self) {
        self.state.send_replace(State::Stopped);
    }
}

/// A listening socket (and its TLS acceptor) ready to serve.
pub struct Listener {
    pub tcp: TcpListener,
    pub tls: Option<tokio_rustls::TlsAcceptor>,
}

/// Serve `app` on `listener` in the background until the handle drains or stops it. The task ends
/// when every connection has ended (after a drain) or at once (after a stop).
pub fn serve(
    listener: Listener,
    app: Router,
    max_connections: usize,
    timeouts: Timeouts,
) -> (Handle, tokio::task::JoinHandle<()>) {
    let handle = Handle::new();
    let task = tokio::spawn(accept_loop(
        listener,
        app,
        max_connections,
        timeouts,
        handle.clone(),
    ));
    (handle, task)
}

async fn accept_loop(
    listener: Listener,
    app: Router,
    max_connections: usize,
    timeouts: Timeouts,
    handle: Handle,
) {
    let slots = Arc::new(Semaphore::new(max_connections.max(1)));
    let mut state = handle.state.subscribe();
    let mut connections = JoinSet::new();
    let mut warned_full = false;
    let mut at_limit = false;
    loop {
        // A slot first: at the limit the listener does not accept at all.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            _ = state.wait_for(|s| *s != State::Serving) => break,
        };
        let accepted = tokio::select! {
            accepted = listener.tcp.accept() => accepted,
            _ = state.wait_for(|s| *s != State::Serving) => break,
        };
        // Reap finished connection tasks so the set does not grow with the server's age.
        while connections.try_join_next().is_some() {}
        let (tcp, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // EMFILE/ENFILE and aborted handshakes: wait a little rather than spin.
                if !warned_full {
                    tracing::warn!(error = %e, "accept failed; retrying");
                    warned_full = true;
                }
                drop(slot);
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        warned_full = false;
        // Said once per stay at the limit, not once per connection accepted there.
        if slots.available_permits() == 0 && !at_limit {
            tracing::warn!(
                max_connections,
                "connection limit reached; new connections wait until one closes"
            );
        }
        at_limit = slots.available_permits() == 0;
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let tls = listener.tls.clone();
        let state = handle.state.subscribe();
        connections.spawn(async move {
            match tls {
                None => connection(tcp, peer, app, timeouts, state).await,
                Some(tls) => {
                    match tokio::time::timeout(timeouts.header_read, tls.accept(tcp)).await {
                        Ok(Ok(stream)) => connection(stream, peer, app, timeouts, state).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
            drop(slot);
        });
    }
    // Closing the socket refuses new connections at once.
    drop(listener);
    tokio::select! {
        _ = async { while connections.join_next().await.is_some() {} } => {}
        _ = state.wait_for(|s| *s == State::Stopped) => connections.abort_all(),
    }
}

/// Serve one connection until it ends, the server stops, or (when draining) its requests are done.
async fn connection<IO>(
    io: IO,
    peer: SocketAddr,
    app: Router,
    timeouts: Timeouts,
    mut state: watch::Receiver<State>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let io = Watched::new(io, activity.clone(), timeouts);
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            // Ends the request's part of the connection's activity however its future ends:
            // answered, or dropped by hyper (an HTTP/2 stream reset mid-request).
            let in_flight = InFlight::begin(activity.clone());
            req.extensions_mut().insert(ConnectInfo(peer));
            let app = app.clone();
            async move {
                let response = app.oneshot(req.map(axum::body::Body::new)).await;
                drop(in_flight);
                response
            }
        });
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = state.wait_for(|s| *s != State::Serving) => {}
    }
    // Draining: an idle connection closes now, a busy one after its request.
    conn.as_mut().graceful_shutdown();
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = state.wait_for(|s| *s == State::Stopped) => {}
    }
}

/// Where a connection is in its life, for the read deadline.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for a request head that started (or for the first one) at this instant.
    Head(Instant),
    /// Requests in flight: the gateway bounds their bodies; nothing is due here.
    Busy(u32),
    /// No request in flight since this instant.
    Idle(Instant),
}

/// One request in flight on a connection, from its complete head until its response is ready or
/// its future is dropped.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn begin(activity: Arc<Activity>) -> InFlight {
        activity.begin();
        InFlight(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// The phase of one connection, shared by its byte stream and its request handler.
struct Activity {
    inner: Mutex<(Phase, Option<Waker>)>,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            inner: Mutex::new((Phase::Head(Instant::now()), None)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Phase, Option<Waker>)> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A request head is complete.
    fn begin(&self) {
        let mut inner = self.lock();
        inner.0 = match inner.0 {
            Phase::Busy(n) => Phase::Busy(n + 1),
            Phase::Head(_) | Phase::Idle(_) => Phase::Busy(1),
        };
    }

    /// A response is ready; when it was the last one, the idle clock starts and the reader, which
    /// had no deadline while the request ran, is woken to arm it.
    fn end(&self) {
        let mut inner = self.lock();
        if let Phase::Busy(n) = inner.0 {
            inner.0 = if n > 1 {
                Phase::Busy(n - 1)
            } else {
                Phase::Idle(Instant::now())
            };
        }
        if matches!(inner.0, Phase::Idle(_)) {
            if let Some(waker) = inner.1.take() {
                waker.wake();
            }
        }
    }

    /// Bytes arrived: on an idle connection they start a request head.
    fn bytes_in(&self) {
        let mut inner = self.lock();
        if let Phase::Idle(_) = inner.0 {
            inner.0 = Phase::Head(Instant::now());
        }
    }

    /// When a pending read must give up, remembering who to wake when that changes.
    fn read_deadline(&self, timeouts: &Timeouts, waker: &Waker) -> Option<Instant> {
        let mut inner = self.lock();
        if !inner.1.as_ref().is_some_and(|w| w.will_wake(waker)) {
            inner.1 = Some(waker.clone());
        }
        match inner.0 {
            Phase::Head(since) => Some(since + timeouts.header_read),
            Phase::Idle(since) => Some(since + timeouts.idle),
            Phase::Busy(_) => None,
        }
    }
}

/// A connection's byte stream with the read and write deadlines of its phase.
struct Watched<IO> {
    io: IO,
    activity: Arc<Activity>,
    timeouts: Timeouts,
    read_timer: Pin<Box<Sleep>>,
    /// Armed while a write makes no progress.
    write_timer: Option<Pin<Box<Sleep>>>,
}

impl<IO> Watched<IO> {
    fn new(io: IO, activity: Arc<Activity>, timeouts: Timeouts) -> Self {
        Watched {
            io,
            activity,
            timeouts,
            read_timer: Box::pin(tokio::time::sleep(timeouts.header_read)),
            write_timer: None,
        }
    }

    /// After an inner write returned `Pending`: time out if it has made no progress for `idle`.
    fn write_stalled(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let idle = self.timeouts.idle;
        let timer = self
            .write_timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client did not read its response",
            )),
            Poll::Pending => Poll::Pending,
        }
    }

    fn write_result<T>(
        &mut self,
        cx: &mut Context<'_>,
        r: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match r {
            Poll::Pending => self.write_stalled(cx).map(Err),
            ready => {
                self.write_timer = None;
                ready
            }
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.activity.bytes_in();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                let Some(deadline) = this.activity.read_deadline(&this.timeouts, cx.waker()) else {
                    return Poll::Pending;
                };
                if this.read_timer.deadline() != deadline {
                    this.read_timer.as_mut().reset(deadline);
                }
                match this.read_timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "connection idle, or a request head too slow",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
            error => error,
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write(cx, buf);
        self.write_result(cx, r)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.write_result(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.io).poll_flush(cx);
        self.write_result(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The TLS acceptor for a certificate chain and key in PEM files; offers HTTP/2 and HTTP/1.1.
pub fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> anyhow::Result<tokio_rustls::TlsAcceptor> {
    use anyhow::Context as _;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    // Pick the ring provider explicitly; a second call finds it installed, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading the TLS certificate {}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("reading the TLS key {}", key.display()))?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not form a valid pair")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_dropped_before_its_answer_leaves_the_connection_idle() {
        let activity = Arc::new(Activity::new());
        let timeouts = Timeouts {
            header_read: Duration::from_secs(10),
            idle: Duration::from_secs(30),
        };
        let waker = futures_util::task::noop_waker();
        let first = InFlight::begin(activity.clone());
        let second = InFlight::begin(activity.clone());
        assert_eq!(
            activity.read_deadline(&timeouts, &waker),
            None,
            "busy: no deadline"
        );
        // One stream reset (its future dropped), then the other answered.
        drop(first);
        assert_eq!(
            activity.read_deadline(&timeouts, &waker),
            None,
            "one still in flight"
        );
        drop(second);
        let deadline = activity
            .read_deadline(&timeouts, &waker)
            .expect("idle again");
        assert!(deadline > Instant::now() + Duration::from_secs(29));
    }
}
