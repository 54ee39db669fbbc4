//! `tacticeye serve`: the API router over the data folder, on a multi-threaded runtime, with a limit on
//! how long a client may take to send its headers and on how long one request may run.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tacticeye::storage::LocalStore;

pub struct Limits {
    /// A connection that has not sent a whole request head by then is closed (slowloris, half-open).
    pub header_timeout: Duration,
    /// A request still running after this answers 503.
    pub request_timeout: Duration,
}

pub async fn serve(
    store: LocalStore,
    addr: SocketAddr,
    config: tacticeye_api::ApiConfig,
    limits: Limits,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("serving on http://{}", listener.local_addr()?);
    let request_timeout = limits.request_timeout;
    let app = tacticeye_api::router(store, config)
        .layer(middleware::from_fn(move |request: Request, next: Next| timeout(request_timeout, request, next)));
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors and the like: keep serving the connections already open.
            Err(e) => {
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(app.clone());
        let header_timeout = limits.header_timeout;
        tokio::spawn(async move {
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
            if let Err(e) = served {
                tracing::debug!("connection closed: {e}");
            }
        });
    }
}

async fn timeout(limit: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, axum::Json(serde_json::json!({ "error": "request timed out" })))
            .into_response(),
    }
}
