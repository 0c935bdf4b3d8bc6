//! Running the gRPC server: listener, health, reflection, graceful shutdown,
//! and on the same port gRPC-Web (tonic-web) and the JSON over HTTP API
//! ([`crate::http`]).
//!
//! [`serve`] takes an already-bound listener (so callers, tests included, can
//! bind port 0 and learn the address) and a shutdown future. Alongside
//! `fgf.v1.Tagger` it serves `grpc.health.v1.Health` and server reflection in
//! both `v1` and `v1alpha` (grpcurl 1.8 only speaks the latter). Accepted
//! sockets get TCP_NODELAY here because tonic ignores its own `tcp_nodelay`
//! setting under `serve_with_incoming*`.

use std::future::Future;
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::codegen::http;
use tonic::transport::Server;
use tonic_health::ServingStatus;

use crate::pb;
use crate::pb::tagger_server::TaggerServer;
use crate::service::{Limits, TaggerService};
use fgf_core::tagger::Tagger;

/// Settings of a running server.
#[derive(Debug)]
pub struct ServeConfig {
    pub limits: Limits,
    /// Documents processed at the same time (defaults to the core count).
    pub cpu_jobs: usize,
    /// Tagger calls one connection may have open at once (health and
    /// reflection are not counted); beyond that a call is refused at once
    /// with RESOURCE_EXHAUSTED naming the limit, so one greedy client cannot
    /// fill the queue that everyone shares. `None`: no per-connection limit.
    pub max_conn_calls: Option<usize>,
    /// When set, Tagger calls need this bearer token (health and reflection
    /// stay open).
    pub auth: Option<crate::auth::BearerToken>,
    /// When set, the server speaks TLS (and mutual TLS when the settings
    /// have a client CA); failed handshakes are logged (see [`crate::tls`]).
    pub tls: Option<crate::tls::TlsSettings>,
    /// The model file, reloaded on SIGHUP and by the admin rpc.
    pub model_path: Option<std::path::PathBuf>,
    /// Where to serve Prometheus metrics (`GET /metrics`), if anywhere:
    /// bound by the caller, so the port accepts before the server is
    /// announced.
    pub metrics: Option<TcpListener>,
    /// Lets pages of other origins call this server from a browser (CORS,
    /// for the JSON API and gRPC-Web), built by [`crate::http::cors`].
    /// `None`: no CORS header, so none but the server's own page.
    pub cors: Option<tower_http::cors::CorsLayer>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            cpu_jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_conn_calls: Some(64),
            auth: None,
            tls: None,
            model_path: None,
            metrics: None,
            cors: None,
        }
    }
}

/// Serves on `listener` until `shutdown` completes, then lets in-flight calls
/// finish and returns.
pub async fn serve(
    listener: TcpListener,
    tagger: Arc<Tagger>,
    mut config: ServeConfig,
    shutdown: impl Future<Output = ()> + Send,
    reload_signal: Option<tokio::signal::unix::Signal>,
) -> Result<()> {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    let reflection_v1 = reflection().build_v1().context("building reflection v1")?;
    let reflection_v1alpha = reflection()
        .build_v1alpha()
        .context("building reflection v1alpha")?;

    let limits = config.limits;
    limits.check()?;
    let service = TaggerService::new(tagger, limits, config.cpu_jobs).with_reload(
        crate::service::ReloadConfig {
            model_path: config.model_path.clone(),
            admin_allowed: config.auth.is_some(),
        },
    );
    let draining = service.draining();
    let telemetry = service.telemetry();
    if let Some(listener) = config.metrics.take() {
        let addr = listener.local_addr().context("metrics listener")?;
        tracing::info!(%addr, "serving Prometheus metrics at /metrics");
        let (telemetry, svc) = (service.telemetry(), service.clone());
        tokio::spawn(crate::telemetry::serve_metrics(listener, move || {
            telemetry.render(&svc.current().model().version)
        }));
    }
    if let (Some(path), Some(hup)) = (config.model_path.clone(), reload_signal) {
        tokio::spawn(reload_on_sighup(service.clone(), path, hup));
    }
    // Messages well over --max-doc-bytes are still read, so that an
    // oversized document gets INVALID_ARGUMENT naming the limit (in a
    // TagStream, as its own answer, and the stream goes on); only a message
    // over the ceiling is refused unread (see Limits::decode_ceiling).
    let http_api = crate::http::HttpApi::new(
        service.clone(),
        config.auth.clone(),
        limits.decode_ceiling(),
    );
    let tagger_server = TaggerServer::new(service)
        .max_decoding_message_size(limits.decode_ceiling())
        .max_encoding_message_size(usize::MAX);
    let tagger_server = CallGuard {
        inner: tagger_server,
        limits,
        per_connection: config.max_conn_calls,
        open: Arc::default(),
    };

    // The model is loaded before we get here: report SERVING now.
    health_reporter
        .set_serving::<TaggerServer<TaggerService>>()
        .await;
    health_reporter
        .set_service_status("", ServingStatus::Serving)
        .await;

    let reporter = health_reporter.clone();
    let shutdown = async move {
        shutdown.await;
        tracing::info!("shutting down: finishing in-flight calls");
        draining.cancel();
        reporter
            .set_not_serving::<TaggerServer<TaggerService>>()
            .await;
        reporter
            .set_service_status("", ServingStatus::NotServing)
            .await;
    };

    // Health and reflection stay open; the Tagger checks the token when one
    // is set. Reflection only describes the public API (the same as
    // proto/), and grpcurl needs it for every call, a health check too: so
    // probes and `grpcurl ... grpc.health.v1.Health/Check` need no secret.
    let token = config.auth.clone();
    // The per-connection call limit is CallGuard's (tonic's own answers
    // "Too many active requests for the connection", naming neither the
    // limit nor the remedy).
    let mut grpc = tonic::service::Routes::builder();
    grpc.add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(Authenticated::new(tagger_server, &token, &telemetry));
    // The JSON over HTTP API on the same port (HTTP/1.1 and h2c), see
    // crate::http; a path nobody serves gets UNIMPLEMENTED over gRPC, a
    // JSON 404 otherwise.
    // gRPC-Web (browser clients: application/grpc-web[-text]) is turned
    // into gRPC in front of the gRPC services only: tonic-web answers any
    // other HTTP/1.1 request with 400, so the JSON API and the page sit
    // beside it, not behind it.
    let routes = grpc
        .routes()
        .into_axum_router()
        .layer(tonic_web::GrpcWebLayer::new())
        .merge(http_api.router())
        .fallback(crate::http::fallback);
    // CORS outermost, so a browser's preflight is answered for every path.
    let routes = match config.cors.clone() {
        Some(cors) => routes.layer(cors),
        None => routes,
    };
    let router = Server::builder()
        .accept_http1(true)
        .add_routes(tonic::service::Routes::from(routes));
    match config.tls.clone() {
        Some(tls) => {
            router
                .serve_with_incoming_shutdown(crate::tls::incoming(listener, tls), shutdown)
                .await
        }
        None => {
            let incoming = TcpListenerStream::new(listener).map(|conn| {
                conn.inspect(|stream| {
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::warn!(error = %e, "could not set TCP_NODELAY");
                    }
                })
            });
            router
                .serve_with_incoming_shutdown(incoming, shutdown)
                .await
        }
    }
    .context("gRPC server failed")
}

/// Wraps a service that needs the bearer token (when the server has one):
/// a call without it, with another scheme, or with a wrong token gets
/// UNAUTHENTICATED saying what to send, is counted in
/// `fgf_auth_failures_total{reason}` and logged at warn with the peer, the
/// rpc and the reason (never what was presented).
#[derive(Clone)]
struct Authenticated<S> {
    inner: S,
    token: Option<crate::auth::BearerToken>,
    telemetry: Arc<crate::telemetry::Telemetry>,
}

impl<S> Authenticated<S> {
    fn new(
        inner: S,
        token: &Option<crate::auth::BearerToken>,
        telemetry: &Arc<crate::telemetry::Telemetry>,
    ) -> Self {
        Self {
            inner,
            token: token.clone(),
            telemetry: telemetry.clone(),
        }
    }
}

/// The response future of the service wrappers below.
type BoxedResponse = std::pin::Pin<
    Box<
        dyn Future<Output = Result<http::Response<tonic::body::Body>, std::convert::Infallible>>
            + Send
            + 'static,
    >,
>;

/// The service that `poll_ready` made ready, leaving a fresh clone in its
/// place: the ready one must serve the call (tower's rule).
fn take_ready<S: Clone>(service: &mut S) -> S {
    let clone = service.clone();
    std::mem::replace(service, clone)
}

impl<S: tonic::server::NamedService> tonic::server::NamedService for Authenticated<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> tonic::codegen::Service<http::Request<tonic::body::Body>> for Authenticated<S>
where
    S: tonic::codegen::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxedResponse;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        if let Some(token) = &self.token {
            let header = req.headers().get(http::header::AUTHORIZATION);
            if let Err(why) = token.verify(header.map(|v| v.as_bytes())) {
                self.telemetry.auth_failed(why);
                let peer = peer_of(&req).map_or_else(|| "unknown".to_string(), |p| p.to_string());
                tracing::warn!(
                    %peer,
                    rpc = %req.uri().path(),
                    reason = %why.name(),
                    "call refused: bearer token {}",
                    match why {
                        crate::auth::AuthFailure::Missing => "missing",
                        crate::auth::AuthFailure::Malformed => "not in the form 'Bearer <token>'",
                        crate::auth::AuthFailure::WrongToken => "not accepted",
                    }
                );
                return Box::pin(std::future::ready(Ok(why.status().into_http())));
            }
        }
        let mut inner = take_ready(&mut self.inner);
        Box::pin(inner.call(req))
    }
}

/// Calls open per connection, by the peer's address.
type OpenCalls = Arc<std::sync::Mutex<std::collections::HashMap<std::net::SocketAddr, usize>>>;

/// Wraps the Tagger service: refuses a call over the per-connection limit
/// at once with RESOURCE_EXHAUSTED (naming `--max-conn-calls` and what to
/// do), and makes the transport's answer to a message over the decode
/// ceiling say to split the document.
#[derive(Clone)]
struct CallGuard<S> {
    inner: S,
    limits: Limits,
    per_connection: Option<usize>,
    open: OpenCalls,
}

/// One open call of a connection; the count goes down when dropped.
struct OpenCall {
    open: OpenCalls,
    peer: std::net::SocketAddr,
}

impl Drop for OpenCall {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.peer) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.peer);
            }
        }
    }
}

/// The peer address of the connection a request came on.
fn peer_of<B>(req: &http::Request<B>) -> Option<std::net::SocketAddr> {
    use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
    let ext = req.extensions();
    ext.get::<TcpConnectInfo>()
        .and_then(TcpConnectInfo::remote_addr)
        .or_else(|| {
            ext.get::<TlsConnectInfo<TcpConnectInfo>>()
                .and_then(|t| t.get_ref().remote_addr())
        })
}

impl<S: tonic::server::NamedService> tonic::server::NamedService for CallGuard<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> tonic::codegen::Service<http::Request<tonic::body::Body>> for CallGuard<S>
where
    S: tonic::codegen::Service<
            http::Request<tonic::body::Body>,
            Response = http::Response<tonic::body::Body>,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxedResponse;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let mut slot = None;
        if let (Some(limit), Some(peer)) = (self.per_connection, peer_of(&req)) {
            let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            let n = open.entry(peer).or_insert(0);
            if *n >= limit {
                drop(open);
                let status = tonic::Status::resource_exhausted(format!(
                    "too many calls open on this connection: the server allows {limit} at once \
                     (--max-conn-calls); wait for some to finish, spread calls over more \
                     connections, or send batches over one TagStream"
                ));
                return Box::pin(std::future::ready(Ok(status.into_http())));
            }
            *n += 1;
            slot = Some(OpenCall {
                open: self.open.clone(),
                peer,
            });
        }
        let mut inner = take_ready(&mut self.inner);
        let limits = self.limits;
        Box::pin(async move {
            let mut response = inner.call(req).await?;
            drop(slot);
            // A unary call whose message tonic refused unread answers in
            // its headers (trailers-only).
            if let Some(status) = tonic::Status::from_header_map(response.headers())
                && status.code() == tonic::Code::OutOfRange
            {
                let status = crate::service::explain_transport_error(status, &limits);
                let _ = status.add_header(response.headers_mut());
            }
            Ok(response)
        })
    }
}

/// Starts listening for SIGHUP. Call it before announcing the server: from
/// then on SIGHUP reloads instead of ending the process.
pub fn reload_signal() -> Option<tokio::signal::unix::Signal> {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; reload with the ReloadModel rpc");
            None
        }
    }
}

/// Reloads the model file on every SIGHUP; a bad file is logged and the
/// old model keeps serving.
async fn reload_on_sighup(
    service: TaggerService,
    path: std::path::PathBuf,
    mut hup: tokio::signal::unix::Signal,
) {
    while hup.recv().await.is_some() {
        let (service, path) = (service.clone(), path.clone());
        match tokio::task::spawn_blocking(move || service.reload(&path)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(
                error = %format!("{e:#}"),
                "SIGHUP: model not reloaded; the old model keeps serving"
            ),
            Err(e) => tracing::warn!(error = %e, "SIGHUP: reload task failed"),
        }
    }
}

/// Reflection over the Tagger and Health protos (built once per version).
fn reflection() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
