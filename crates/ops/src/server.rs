//! The small HTTP/1.1 server for `/metrics`, `/healthz` and `/readyz`.
//!
//! ```text
//!  TcpListener (metrics_addr) ─► one task per connection (hyper http1) ─► route
//!      GET /metrics  ─► Metrics::render            text/plain; version=0.0.4
//!      GET /healthz  ─► Health::liveness           200 | 503, JSON
//!      GET /readyz   ─► Health::readiness          200 | 503, JSON
//!      anything else ─► 404 / 405
//! ```
//! Only GET and HEAD are served; nothing here changes state, so the endpoints are safe to
//! expose to the monitoring network (bind to loopback unless a scraper needs them).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::OpsError;
use crate::health::{Health, Report};
use crate::names;
use crate::recorder::Metrics;

/// What the server answers with.
#[derive(Clone, Debug)]
pub struct Endpoints {
    /// Rendered for `/metrics`.
    pub metrics: Metrics,
    /// Asked for `/healthz` and `/readyz`.
    pub health: Arc<Health>,
}

/// A bound server, not yet serving (so the caller learns the port before spawning it).
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    endpoints: Endpoints,
}

impl Server {
    /// Binds `addr` (`host:port`; port 0 picks a free port).
    pub async fn bind(addr: &str, endpoints: Endpoints) -> Result<Server, OpsError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| OpsError::Bind {
                addr: addr.to_string(),
                source,
            })?;
        Ok(Server {
            listener,
            endpoints,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> Result<SocketAddr, OpsError> {
        self.listener.local_addr().map_err(|source| OpsError::Bind {
            addr: "(bound listener)".into(),
            source,
        })
    }

    /// Serves until `shutdown` becomes true. Connection errors are logged at debug level and
    /// never stop the server.
    pub async fn serve(self, mut shutdown: watch::Receiver<bool>) {
        let endpoints = self.endpoints;
        loop {
            let accepted = tokio::select! {
                a = self.listener.accept() => a,
                _ = shutdown.wait_for(|v| *v) => return,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::debug!(error = %e, "metrics server: accept failed");
                    continue;
                }
            };
            let endpoints = endpoints.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let endpoints = endpoints.clone();
                    async move { Ok::<_, Infallible>(route(&endpoints, req).await) }
                });
                if let Err(e) = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!(%peer, error = %e, "metrics server: connection error");
                }
            });
        }
    }
}

async fn route(endpoints: &Endpoints, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return respond(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "only GET and HEAD\n".into(),
        );
    }
    match req.uri().path() {
        names::ROUTE_METRICS => respond(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            endpoints.metrics.render(),
        ),
        names::ROUTE_HEALTHZ => report(endpoints.health.liveness()),
        names::ROUTE_READYZ => report(endpoints.health.readiness().await),
        _ => respond(StatusCode::NOT_FOUND, "text/plain", "not found\n".into()),
    }
}

fn report(r: Report) -> Response<Full<Bytes>> {
    let status = if r.ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    respond(status, "application/json", r.body + "\n")
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}
