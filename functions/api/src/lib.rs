//! The HTTP API over an axum router: the same router serves from Lambda (`lambda_http`) and locally
//! (`tacticeye serve`). Reads come from the last committed segment; ids from clients are validated before
//! any key is built, so no request reaches outside its match's prefix.

mod dashboard;
mod export;
mod live;

use std::sync::Arc;

use axum::extract::Request;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use tacticeye::cost::{self, Cost};
use tacticeye::ids::MatchId;
use tacticeye::jobs::{self, Job};
use tacticeye::pitch::Pitch;
use tacticeye::results::{self, EventFilter, ResultsError};
use tacticeye::segment::{SegmentRequest, StartOptions};
use tacticeye::source::url::{Source, SourceKind};
use tacticeye::stats::StatsReport;
use tacticeye::storage::{ObjectStore, StoreError};

/// An error as the client sees it: a status and a message in `{"error": ...}`.
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// A body or query that does not parse: its status, with the reason as JSON like every other error.
impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        ApiError(r.status(), r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError(r.status(), r.body_text())
    }
}

fn internal(e: anyhow::Error) -> ApiError {
    tracing::error!("{e:#}");
    ApiError(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into())
}

/// An unknown match is the client's 404; anything else went wrong on our side.
impl From<ResultsError> for ApiError {
    fn from(e: ResultsError) -> Self {
        match e {
            ResultsError::NotFound(_) => ApiError(StatusCode::NOT_FOUND, e.to_string()),
            ResultsError::NotCalibrated(_) => ApiError(StatusCode::CONFLICT, e.to_string()),
            e => internal(e.into()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        internal(e.into())
    }
}

/// How the router is deployed.
#[derive(Clone, Debug, Default)]
pub struct ApiConfig {
    /// Bearer token every route requires; `None` when a gateway authorizer guards them instead.
    pub token: Option<String>,
    /// GET routes answer without the token (an explicit opt-in: by default nothing is public).
    pub public_read: bool,
    /// Who analyses a match started by `POST /matches`.
    pub starts: Starts,
    /// The cloud's region and WebSocket API, for the dashboard to sign its calls (none locally).
    pub cloud: Option<CloudEndpoints>,
}

#[derive(Clone, Debug)]
pub struct CloudEndpoints {
    pub region: String,
    pub live_url: Option<String>,
}

/// Who analyses the matches `POST /matches` starts.
#[derive(Clone, Debug, Default)]
pub enum Starts {
    /// Nobody: `POST /matches` answers 501.
    #[default]
    Nobody,
    /// A segmenter listening to `requests/` (the cloud).
    Segmenter,
    /// `tacticeye serve`'s own analysis slots, told of each request; a file on its machine may be named.
    Local(tokio::sync::mpsc::UnboundedSender<Admission>),
}

/// A match for the local server's slots, and who to tell once it has its place in the line (if anyone).
pub type Admission = (MatchId, Option<tokio::sync::oneshot::Sender<()>>);

struct AppState<S> {
    store: S,
    config: ApiConfig,
    /// One look at a watched match's commits, shared by all its live clients.
    watchers: live::Watchers,
}

pub fn router<S: ObjectStore + 'static>(store: S, config: ApiConfig) -> Router {
    let dashboard_config = match &config.cloud {
        Some(cloud) => dashboard::DashboardConfig {
            auth: "aws_iam",
            region: Some(cloud.region.clone()),
            live_url: cloud.live_url.clone(),
        },
        None => dashboard::DashboardConfig { auth: "token", ..Default::default() },
    };
    let app = Arc::new(AppState { store, config, watchers: live::Watchers::default() });
    Router::new()
        .route("/matches", get(list_matches::<S>).post(start_match::<S>))
        .route("/matches/{id}/summary", get(summary::<S>))
        .route("/matches/{id}/events", get(events::<S>))
        .route("/matches/{id}/positions", get(positions::<S>))
        .route("/matches/{id}/cost", get(cost::<S>))
        .route("/matches/{id}/stats", get(stats::<S>))
        .route("/matches/{id}/live", get(live::live::<S>))
        .route("/matches/{id}/export", get(export::export::<S>))
        .route("/matches/{id}/annotated/{name}", get(annotated::<S>))
        .route("/uploads", post(upload::<S>))
        // Outermost, so the token is checked before any body or query is read.
        .layer(middleware::from_fn_with_state(app.clone(), authorise::<S>))
        .with_state(app)
        // The page holds no data: it asks for the token (or AWS credentials) and sends it with every request.
        .merge(dashboard::routes(dashboard_config))
}

fn match_id(raw: &str) -> ApiResult<MatchId> {
    MatchId::new(raw).map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.to_string()))
}

/// The matches with a checkpoint or a local job: one listing of the match folders, then one of each match's checkpoint
/// key, never a listing of every match's objects.
async fn list_matches<S: ObjectStore>(State(app): State<Arc<AppState<S>>>) -> ApiResult<Json<serde_json::Value>> {
    let mut ids = Vec::new();
    for id in app.store.folders("matches/").await?.iter().filter_map(|name| MatchId::new(name).ok()) {
        if !app.store.list(&id.checkpoint_key()).await?.is_empty() || !app.store.list(&id.job_key()).await?.is_empty() {
            ids.push(id);
        }
    }
    Ok(Json(serde_json::json!({ "matches": ids })))
}

/// The summary with the cost so far (`cost_usd`, absent where nothing was metered).
async fn summary<S: ObjectStore>(
    State(app): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let id = match_id(&id)?;
    let summary = match results::summary(&app.store, &id).await {
        Err(ResultsError::NotFound(_)) => return pending(&app.store, &id).await.map(Json),
        summary => summary?,
    };
    let mut body = serde_json::to_value(summary).map_err(|e| internal(e.into()))?;
    if let Some(cost) = cost::load(&app.store, &id).await.map_err(internal)? {
        body["cost_usd"] = cost.dollars.total.into();
    }
    // Only the local server keeps jobs: an analysis that failed after its first commits says so.
    if matches!(app.config.starts, Starts::Local(_))
        && let Some(failed @ Job::Failed { .. }) = jobs::load(&app.store, &id).await?
    {
        merge(&mut body, &failed);
    }
    Ok(Json(body))
}

/// A match started with nothing committed yet: queued (with its place, locally), starting or failed.
async fn pending<S: ObjectStore>(store: &S, id: &MatchId) -> ApiResult<serde_json::Value> {
    let mut body = serde_json::json!({ "match_id": id });
    match jobs::load(store, id).await? {
        Some(job) => merge(&mut body, &job),
        None if store.get(&id.request_key()).await?.is_some() => body["status"] = "queued".into(),
        None => return Err(ResultsError::NotFound(id.clone()).into()),
    }
    Ok(body)
}

fn merge(body: &mut serde_json::Value, job: &Job) {
    if let (Some(body), serde_json::Value::Object(job)) = (body.as_object_mut(), serde_json::json!(job)) {
        body.extend(job);
    }
}

async fn cost<S: ObjectStore>(State(app): State<Arc<AppState<S>>>, Path(id): Path<String>) -> ApiResult<Json<Cost>> {
    let id = match_id(&id)?;
    if let Some(cost) = cost::load(&app.store, &id).await.map_err(internal)? {
        return Ok(Json(cost));
    }
    // Listing the checkpoint's own key tells whether the match exists without reading it.
    if app.store.list(&id.checkpoint_key()).await?.is_empty() {
        return Err(ResultsError::NotFound(id).into());
    }
    Err(ApiError(StatusCode::NOT_FOUND, format!("no cost recorded for match {id}")))
}

/// Per-player distances and speeds and per-team figures on the pitch; 409 for a match analysed without
/// a pitch calibration.
async fn stats<S: ObjectStore>(
    State(app): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
) -> ApiResult<Json<StatsReport>> {
    Ok(Json(results::stats(&app.store, &match_id(&id)?).await?))
}

/// A match's annotated playlist or one of its pieces (`annotate`), for an HLS player.
async fn annotated<S: ObjectStore>(
    State(app): State<Arc<AppState<S>>>,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    let id = match_id(&id)?;
    let kind = if name == tacticeye::annotate::PLAYLIST {
        "application/vnd.apple.mpegurl"
    } else if name.strip_suffix(".ts").is_some_and(|n| n.len() == 6 && n.bytes().all(|b| b.is_ascii_digit())) {
        "video/mp2t"
    } else {
        return Err(ApiError(StatusCode::NOT_FOUND, format!("no annotated {name:?}")));
    };
    match app.store.get(&id.annotated_key(&name)).await? {
        Some(obj) => Ok(([(header::CONTENT_TYPE, kind)], obj.bytes).into_response()),
        None => {
            Err(ApiError(StatusCode::NOT_FOUND, format!("match {id} has no annotated {name} (started with annotate?)")))
        }
    }
}

fn default_per_page() -> usize {
    100
}

// Query strings are flat: serde's `flatten` would read every value as a string, so no shared paging struct.
#[derive(Deserialize)]
struct EventParams {
    #[serde(rename = "type")]
    kind: Option<tacticeye::events::EventKind>,
    from: Option<f64>,
    to: Option<f64>,
    #[serde(default)]
    page: usize,
    #[serde(default = "default_per_page")]
    per_page: usize,
}

async fn events<S: ObjectStore>(
    State(app): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
    q: Result<Query<EventParams>, QueryRejection>,
) -> ApiResult<Json<results::Page<tacticeye::events::Event>>> {
    let Query(q) = q?;
    let id = match_id(&id)?;
    if let (Some(from), Some(to)) = (q.from, q.to)
        && from > to
    {
        return Err(ApiError(StatusCode::BAD_REQUEST, "`from` is after `to`".into()));
    }
    let filter = EventFilter { kind: q.kind, from: q.from, to: q.to };
    Ok(Json(results::events(&app.store, &id, &filter, q.page, q.per_page).await?))
}

#[derive(Deserialize)]
struct PositionParams {
    #[serde(default)]
    from_frame: u64,
    to_frame: Option<u64>,
    #[serde(default)]
    page: usize,
    #[serde(default = "default_per_page")]
    per_page: usize,
}

async fn positions<S: ObjectStore>(
    State(app): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
    q: Result<Query<PositionParams>, QueryRejection>,
) -> ApiResult<Json<results::Page<tacticeye::pipeline::FrameOutput>>> {
    let Query(q) = q?;
    let id = match_id(&id)?;
    let to = q.to_frame.unwrap_or(u64::MAX);
    if q.from_frame > to {
        return Err(ApiError(StatusCode::BAD_REQUEST, "`from_frame` is after `to_frame`".into()));
    }
    Ok(Json(results::positions(&app.store, &id, q.from_frame, to, q.page, q.per_page).await?))
}

/// Every route needs the bearer token, compared in constant time, unless reads are public or a gateway
/// authorizer stands in front (no token configured).
async fn authorise<S>(State(app): State<Arc<AppState<S>>>, request: Request, next: Next) -> Response {
    let Some(token) = &app.config.token else { return next.run(request).await };
    if app.config.public_read && request.method() == Method::GET {
        return next.run(request).await;
    }
    let header = request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let given = match header.and_then(|v| v.strip_prefix("Bearer ")) {
        Some(given) => given.to_string(),
        // A browser cannot set headers on a WebSocket: its upgrade may carry the token in the query.
        None if is_upgrade(&request) => access_token(&request).unwrap_or_default(),
        None => String::new(),
    };
    if bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
        next.run(request).await
    } else {
        ApiError(StatusCode::UNAUTHORIZED, "missing or wrong bearer token".into()).into_response()
    }
}

fn is_upgrade(request: &Request) -> bool {
    request
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

fn access_token(request: &Request) -> Option<String> {
    #[derive(Deserialize)]
    struct Token {
        access_token: String,
    }
    Query::<Token>::try_from_uri(request.uri()).ok().map(|Query(t)| t.access_token)
}

#[derive(Deserialize)]
struct StartRequest {
    /// An uploaded video, `uploads/{file}`...
    key: Option<String>,
    /// ...or a URL: http(s) video, HLS, rtmp(s), rtsp(s), YouTube or Veo.
    url: Option<String>,
    /// What the URL is, when it does not tell (`hls`, `rtmp`, ...).
    source_type: Option<SourceKind>,
    /// ...or, on `tacticeye serve` only, a video file on its machine.
    path: Option<String>,
    /// For a URL or a file; defaults to its last path segment or file name.
    match_id: Option<MatchId>,
    #[serde(flatten)]
    settings: StartSettings,
}

/// A fixed camera's calibration for the match (`tacticeye analyze --calibration FILE`'s JSON) and its
/// pitch (`LxW` metres, default 105x68); and whether to write it annotated as it is analysed.
#[derive(Deserialize)]
struct StartSettings {
    calibration: Option<tacticeye::pitch::CalibrationFile>,
    pitch: Option<String>,
    #[serde(default)]
    annotate: bool,
}

impl StartSettings {
    /// Checks the calibration and keeps it, and the options, beside the match for its segmenter; a match
    /// already cut keeps what it was started with.
    async fn store<S: ObjectStore>(self, store: &S, id: &MatchId) -> ApiResult<()> {
        let bad = |m: String| ApiError(StatusCode::BAD_REQUEST, m);
        if self.annotate {
            if store.get(&id.manifest_key()).await?.is_some() {
                return Err(ApiError(StatusCode::CONFLICT, format!("match {id} is already started, unannotated")));
            }
            StartOptions { annotate: true }.save(store, id).await?;
        }
        let Some(file) = self.calibration else {
            return match self.pitch {
                Some(_) => Err(bad("pitch is given with a calibration".into())),
                None => Ok(()),
            };
        };
        let pitch = self.pitch.as_deref().map_or(Ok(Pitch::default()), Pitch::parse).map_err(bad)?;
        let calibration = file.calibration(pitch).map_err(|e| bad(format!("calibration: {e}")))?;
        if store.get(&id.manifest_key()).await?.is_some() {
            return Err(ApiError(
                StatusCode::CONFLICT,
                format!("match {id} is already started; it keeps the calibration it began with"),
            ));
        }
        let body = serde_json::to_vec(&calibration).map_err(|e| internal(e.into()))?;
        store.put(&id.calibration_key(), body, tacticeye::storage::Condition::Always).await?;
        Ok(())
    }
}

/// Starts (or resumes) the analysis of an uploaded video or of a URL: 202 with the match id. The
/// segmenter is asked through `requests/{match}.json`, whose creation invokes it.
async fn start_match<S: ObjectStore>(
    State(app): State<Arc<AppState<S>>>,
    req: Result<Json<StartRequest>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(req) = req?;
    let bad = |m: String| ApiError(StatusCode::BAD_REQUEST, m);
    let (id, request) = match (req.key, req.url, req.path) {
        (Some(key), None, None) => {
            (MatchId::from_upload_key(&key).map_err(|e| bad(e.to_string()))?, SegmentRequest::Upload { upload: key })
        }
        (None, Some(url), None) => {
            let source = Source::parse(&url, req.source_type).map_err(|e| bad(e.to_string()))?;
            if !source.is_url() {
                return Err(bad(format!("{url:?} is not a URL; upload a file through POST /uploads")));
            }
            let id = req.match_id.or_else(|| source.default_match_id());
            let id = id.ok_or_else(|| bad(format!("cannot make a match id from {url}; give match_id")))?;
            (id, SegmentRequest::Url { url, source_type: req.source_type })
        }
        (None, None, Some(path)) => {
            if !matches!(app.config.starts, Starts::Local(_)) {
                return Err(bad("a file path is for the local server; upload the file through POST /uploads".into()));
            }
            if !std::path::Path::new(&path).is_file() {
                return Err(ApiError(StatusCode::NOT_FOUND, format!("no video file at {path}")));
            }
            let id = match req.match_id {
                Some(id) => id,
                None => MatchId::from_file_name(std::path::Path::new(&path))
                    .map_err(|e| bad(format!("{e}; give match_id")))?,
            };
            (id, SegmentRequest::File { path })
        }
        _ => return Err(bad("give one of key (an upload), url or path (a file, local server only)".into())),
    };
    if matches!(app.config.starts, Starts::Nobody) {
        return Err(ApiError(
            StatusCode::NOT_IMPLEMENTED,
            "no segmenter here: run `tacticeye analyze` on the video".into(),
        ));
    }
    if let SegmentRequest::Upload { upload } = &request {
        let listed = app.store.list(upload).await?;
        if !listed.iter().any(|k| k == upload) {
            return Err(ApiError(StatusCode::NOT_FOUND, format!("no upload at {upload}")));
        }
    }
    req.settings.store(&app.store, &id).await?;
    let body = serde_json::to_vec(&request).map_err(|e| internal(e.into()))?;
    app.store.put(&id.request_key(), body, tacticeye::storage::Condition::Always).await?;
    if let Starts::Local(slots) = &app.config.starts {
        let (told, placed) = tokio::sync::oneshot::channel();
        let stopped = || internal(anyhow::anyhow!("the analysis slots have stopped"));
        slots.send((id.clone(), Some(told))).map_err(|_| stopped())?;
        // Answered once the match has its place in the line, so its summary says it from the first read.
        placed.await.map_err(|_| stopped())?;
    }
    let summary = format!("/matches/{id}/summary");
    Ok((StatusCode::ACCEPTED, Json(serde_json::json!({ "match_id": id, "summary": summary }))).into_response())
}

#[derive(Deserialize)]
struct UploadRequest {
    /// The file's name; the upload lands at `uploads/{file_name}` and becomes match `{stem}`.
    file_name: String,
    #[serde(flatten)]
    settings: StartSettings,
}

/// A presigned PUT URL for a new upload; the upload itself starts the analysis.
async fn upload<S: ObjectStore>(
    State(app): State<Arc<AppState<S>>>,
    req: Result<Json<UploadRequest>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(req) = req?;
    let bad = |m: &str| ApiError(StatusCode::BAD_REQUEST, m.into());
    let (key, id) = tacticeye::ids::upload_key(req.file_name.trim()).map_err(|e| bad(&e.to_string()))?;
    let url = app.store.presign_put(&key, 3600).await?;
    if url.is_some() {
        req.settings.store(&app.store, &id).await?;
    }
    match url {
        Some(url) => {
            Ok((StatusCode::CREATED, Json(serde_json::json!({ "match_id": id, "key": key, "upload_url": url })))
                .into_response())
        }
        None => Err(ApiError(
            StatusCode::NOT_IMPLEMENTED,
            "this store takes no uploads: copy the video and run `tacticeye analyze`".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tacticeye::detect::Class;
    use tacticeye::events::{Event, EventKind};
    use tacticeye::geometry::BBox;
    use tacticeye::pipeline::{FrameOutput, ObjectOutput, SegmentOutput, SegmentStats};
    use tacticeye::segment::{Manifest, SegmentInfo};
    use tacticeye::state::{Config, MatchState};
    use tacticeye::storage::{Condition, LocalStore};
    use tower::ServiceExt;

    use super::*;

    /// A match of two 2-frame segments, the first committed, with one pass in it.
    async fn store() -> (tempfile::TempDir, LocalStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let id = MatchId::new("m1").unwrap();
        let segments = (0..2)
            .map(|i| SegmentInfo {
                index: i,
                key: id.segment_key(i),
                first_frame: 2 * i,
                frames: 2,
                start_time: 2.0 * i as f64 / 25.0,
                source_end: None,
                received_at: None,
                gap_seconds: None,
            })
            .collect::<Vec<_>>();
        let mut manifest = Manifest {
            frames: 4,
            complete: true,
            ..Manifest::new(id.clone(), ("x.mp4".into(), "md5:x".into()), (100, 50, 25.0), 2.0)
        };
        tacticeye::segment::list(&store, &mut manifest, &segments).await.unwrap();
        let mut state = MatchState::new(id.clone(), Config::default(), "truth:x".into(), "md5:x".into(), 25.0, 100, 50);
        state.next_segment = 1;
        state.next_frame = 2;
        let object = ObjectOutput {
            track_id: 3,
            team: Some(0),
            role: Class::Player,
            bbox: BBox::from([1.0, 2.0, 3.0, 4.0]),
            confidence: 0.9,
            pitch: Some([30.5, 20.25]),
        };
        let frames = (0..2)
            .map(|f| FrameOutput {
                frame: f,
                time: f as f64 / 25.0,
                objects: vec![object.clone()],
                ball: None,
                owner: None,
                ball_pitch: None,
            })
            .collect();
        let pass = Event {
            kind: EventKind::Pass,
            frame: 1,
            time: 0.04,
            team: Some(0),
            from_track: Some(3),
            to_track: Some(4),
            start_frame: Some(0),
            seconds: None,
            from_pitch: None,
            to_pitch: None,
        };
        let output =
            SegmentOutput { index: 0, first_frame: 0, frames, events: vec![pass], stats: SegmentStats::default() };
        store.put(&id.output_key(0), serde_json::to_vec(&output).unwrap(), Condition::Always).await.unwrap();
        assert!(state.events.append(&output.events).is_empty());
        store.put(&id.checkpoint_key(), state.to_json(), Condition::Always).await.unwrap();
        (dir, store)
    }

    async fn call(
        app: Router,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: &str,
    ) -> (StatusCode, serde_json::Value) {
        let mut req = Request::builder().method(method).uri(uri).header("content-type", "application/json");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let res = app.oneshot(req.body(Body::from(body.to_string())).unwrap()).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
    }

    #[tokio::test]
    async fn summary_events_and_positions_come_from_committed_segments() {
        let (_dir, store) = store().await;
        let app = router(
            store,
            ApiConfig { token: Some("secret".into()), public_read: true, starts: Starts::Segmenter, cloud: None },
        );
        let (status, summary) = call(app.clone(), "GET", "/matches/m1/summary", None, "").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((summary["segments_done"].as_u64(), summary["status"].as_str()), (Some(1), Some("running")));
        assert_eq!((summary["progress"].as_f64(), summary["lag_seconds"].as_f64()), (Some(0.5), Some(2.0 / 25.0)));
        let (_, events) = call(app.clone(), "GET", "/matches/m1/events?type=pass&from=0&to=1", None, "").await;
        assert_eq!(events["total"], 1);
        let (_, none) = call(app.clone(), "GET", "/matches/m1/events?type=turnover", None, "").await;
        assert_eq!(none["total"], 0);
        let (_, positions) = call(app.clone(), "GET", "/matches/m1/positions?from_frame=1&per_page=10", None, "").await;
        assert_eq!(positions["items"].as_array().unwrap().len(), 1, "only frame 1 of the committed segment");
        let (status, stats) = call(app.clone(), "GET", "/matches/m1/stats", None, "").await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(stats["error"].as_str().unwrap().contains("without a pitch calibration"), "{stats}");
        let (_, list) = call(app, "GET", "/matches", None, "").await;
        assert_eq!(list["matches"], serde_json::json!(["m1"]));
    }

    #[tokio::test]
    async fn bad_ids_unknown_matches_and_malformed_queries_get_clear_4xx() {
        let (_dir, store) = store().await;
        let app = router(
            store,
            ApiConfig { token: Some("secret".into()), public_read: true, starts: Starts::Segmenter, cloud: None },
        );
        let (status, body) = call(app.clone(), "GET", "/matches/..%2Fetc/summary", None, "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["error"].as_str().unwrap().contains("invalid match id"));
        assert_eq!(call(app.clone(), "GET", "/matches/ghost/summary", None, "").await.0, StatusCode::NOT_FOUND);
        assert_eq!(
            call(app.clone(), "GET", "/matches/m1/events?from=5&to=1", None, "").await.0,
            StatusCode::BAD_REQUEST
        );
        let (status, body) = call(app, "GET", "/matches/m1/positions?from_frame=x", None, "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body["error"].as_str().unwrap().contains("from_frame"), "a JSON error naming the field: {body}");
    }

    #[tokio::test]
    async fn every_route_needs_the_token_unless_reads_are_made_public_and_it_is_checked_before_the_body() {
        let (_dir, store) = store().await;
        let app = router(
            store,
            ApiConfig { token: Some("secret".into()), public_read: false, starts: Starts::Segmenter, cloud: None },
        );
        for uri in
            ["/matches", "/matches/m1/summary", "/matches/m1/events", "/matches/m1/positions", "/matches/m1/cost"]
        {
            assert_eq!(call(app.clone(), "GET", uri, None, "").await.0, StatusCode::UNAUTHORIZED, "{uri}");
            assert_eq!(call(app.clone(), "GET", uri, Some("secreT"), "").await.0, StatusCode::UNAUTHORIZED, "{uri}");
        }
        assert_eq!(call(app.clone(), "GET", "/matches/m1/summary", Some("secret"), "").await.0, StatusCode::OK);
        // A malformed body is not even read without the token.
        let (status, body) = call(app.clone(), "POST", "/matches", None, "{not json").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(body["error"].as_str().unwrap().contains("token"), "{body}");

        let (_public_dir, public_store) = super::tests::store().await;
        let public = router(
            public_store,
            ApiConfig { token: Some("secret".into()), public_read: true, starts: Starts::Segmenter, cloud: None },
        );
        assert_eq!(call(public.clone(), "GET", "/matches/m1/summary", None, "").await.0, StatusCode::OK);
        assert_eq!(
            call(public, "POST", "/uploads", None, r#"{"file_name": "a.mp4"}"#).await.0,
            StatusCode::UNAUTHORIZED
        );
    }

    #[tokio::test]
    async fn uploads_need_the_token_and_a_plain_file_name() {
        let (_dir, store) = store().await;
        let app = router(
            store,
            ApiConfig { token: Some("secret".into()), public_read: false, starts: Starts::Segmenter, cloud: None },
        );
        let body = r#"{"file_name": "final.mp4"}"#;
        assert_eq!(call(app.clone(), "POST", "/uploads", None, body).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(call(app.clone(), "POST", "/uploads", Some("wrong"), body).await.0, StatusCode::UNAUTHORIZED);
        let (status, _) = call(app.clone(), "POST", "/uploads", Some("secret"), r#"{"file_name": "../x.mp4"}"#).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(call(app.clone(), "POST", "/uploads", Some("secret"), "{not json").await.0.is_client_error());
        // A local folder cannot presign: it says so rather than pretending.
        assert_eq!(call(app, "POST", "/uploads", Some("secret"), body).await.0, StatusCode::NOT_IMPLEMENTED);
    }

    #[tokio::test]
    async fn starting_a_match_asks_the_segmenter_for_an_existing_upload_only() {
        let (dir, store) = store().await;
        store.put("uploads/Cup Final.mp4", b"video".to_vec(), Condition::Always).await.unwrap();
        let app = router(
            LocalStore::new(dir.path()),
            ApiConfig { token: Some("secret".into()), public_read: false, starts: Starts::Segmenter, cloud: None },
        );
        let start = |key: &str| format!(r#"{{"key": "{key}"}}"#);
        assert_eq!(
            call(app.clone(), "POST", "/matches", None, &start("uploads/Cup Final.mp4")).await.0,
            StatusCode::UNAUTHORIZED
        );
        let (status, body) =
            call(app.clone(), "POST", "/matches", Some("secret"), &start("uploads/Cup Final.mp4")).await;
        assert_eq!((status, body["match_id"].as_str()), (StatusCode::ACCEPTED, Some("Cup_Final")));
        let request = store.get("requests/Cup_Final.json").await.unwrap().unwrap();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&request.bytes).unwrap()["upload"],
            "uploads/Cup Final.mp4"
        );
        assert_eq!(
            call(app.clone(), "POST", "/matches", Some("secret"), &start("uploads/none.mp4")).await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            call(app.clone(), "POST", "/matches", Some("secret"), &start("matches/m1/checkpoint.json")).await.0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            call(app, "POST", "/matches", Some("secret"), &start("uploads/../x.mp4")).await.0,
            StatusCode::BAD_REQUEST
        );
    }
}
