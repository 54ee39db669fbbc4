//! The dashboard: one page and its script and style, embedded in the binary, served at `/` locally and
//! by the HTTP function in the cloud. It holds no data; it reads the API with the token it is given.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

const PAGE: &str = include_str!("dashboard/index.html");
const SCRIPT: &str = include_str!("dashboard/dashboard.js");
const STYLE: &str = include_str!("dashboard/dashboard.css");

/// Scripts and connections from this origin only: a match id or an event shown on the page can never run.
const POLICY: &str = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:";

pub fn routes() -> Router {
    Router::new()
        .route("/", get(|| async { asset("text/html; charset=utf-8", PAGE) }))
        .route("/dashboard.js", get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }))
        .route("/dashboard.css", get(|| async { asset("text/css; charset=utf-8", STYLE) }))
}

fn asset(kind: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, kind), (header::CONTENT_SECURITY_POLICY, POLICY)], body)
}
