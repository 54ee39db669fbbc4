//! The dashboard: one page and its script and style, embedded in the binary, served at `/` locally and
//! by the HTTP function in the cloud. It holds no data; it reads the API with the token it is given.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

const PAGE: &str = include_str!("dashboard/index.html");
const SCRIPT: &str = include_str!("dashboard/dashboard.js");
const STYLE: &str = include_str!("dashboard/dashboard.css");
const SIGV4: &str = include_str!("dashboard/sigv4.js");

/// Scripts and connections from this origin only: a match id or an event shown on the page can never run.
const POLICY: &str = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:";

/// How the page calls this server: with the bearer token (local), or signing with AWS credentials for
/// the cloud's IAM-authorised routes and its WebSocket API at `live_url`.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct DashboardConfig {
    pub auth: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_url: Option<String>,
}

pub fn routes(config: DashboardConfig) -> Router {
    Router::new()
        .route("/", get(|| async { asset("text/html; charset=utf-8", PAGE) }))
        .route("/dashboard.js", get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }))
        .route("/sigv4.js", get(|| async { asset("text/javascript; charset=utf-8", SIGV4) }))
        .route("/dashboard.css", get(|| async { asset("text/css; charset=utf-8", STYLE) }))
        .route("/dashboard.json", get(move || async move { axum::Json(config) }))
}

fn asset(kind: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, kind), (header::CONTENT_SECURITY_POLICY, POLICY)], body)
}
