//! `GET /matches/{id}/export?format=cdf|parquet`: the match's export as objects beside it, written once
//! per completed match (and once per committed segment count while it runs), answered with presigned
//! URLs so the files never pass through the function's response. Writing one is metered in `cost.json`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use tacticeye::cost::{self, Meter, Metered, Prices};
use tacticeye::ids::MatchId;
use tacticeye::results;
use tacticeye::storage::{Condition, ObjectStore};

use super::{ApiError, ApiResult, AppState, internal, match_id};

/// How long the links are good for.
const VALID_SECONDS: u64 = 3600;

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ExportFormat {
    Cdf,
    Parquet,
}

#[derive(Deserialize)]
pub(crate) struct ExportParams {
    format: ExportFormat,
}

pub(crate) async fn export<S: ObjectStore + 'static>(
    State(app): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
    q: Result<Query<ExportParams>, QueryRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let Query(q) = q?;
    let id = match_id(&id)?;
    let summary = results::summary(&app.store, &id).await?;
    let name = match q.format {
        ExportFormat::Cdf => "cdf",
        ExportFormat::Parquet => "parquet",
    };
    let prefix = format!("matches/{id}/exports/{name}/{}/", summary.segments_done);
    // A local folder gives no links: the files are one `tacticeye export` away.
    let no_links = || ApiError(StatusCode::NOT_IMPLEMENTED, "this store has no links: run `tacticeye export`".into());
    if app.store.presign_get(&format!("{prefix}probe"), VALID_SECONDS).await?.is_none() {
        return Err(no_links());
    }
    let mut keys = app.store.list(&prefix).await?;
    if keys.is_empty() {
        keys = write(&app.store, &id, q.format, &prefix).await?;
    }
    let mut files = BTreeMap::new();
    for key in keys {
        let url = app.store.presign_get(&key, VALID_SECONDS).await?.ok_or_else(no_links)?;
        files.insert(key.trim_start_matches(&prefix).to_string(), url);
    }
    Ok(Json(serde_json::json!({
        "match_id": id, "format": name, "segments_done": summary.segments_done, "status": summary.status,
        "expires_in_seconds": VALID_SECONDS, "files": files,
    })))
}

/// Exports into a temporary folder (the same code as `tacticeye export`), then stores each file; its
/// requests and the function's time go into the match's `cost.json`.
async fn write<S: ObjectStore>(shared: &S, id: &MatchId, format: ExportFormat, prefix: &str) -> ApiResult<Vec<String>> {
    let started = std::time::Instant::now();
    let store = Metered { inner: shared, meter: Meter::new() };
    let keys = write_files(&store, id, format, prefix).await?;
    store.meter.record(id, |u| u.lambda_invocation(cost::lambda_memory_mb(), started.elapsed().as_secs_f64()));
    let prices = Prices::from_env().map_err(internal)?;
    store.meter.flush(shared, id, &prices).await?;
    Ok(keys)
}

async fn write_files<S: ObjectStore>(
    store: &S,
    id: &MatchId,
    format: ExportFormat,
    prefix: &str,
) -> ApiResult<Vec<String>> {
    let dir = tempfile::tempdir().map_err(|e| internal(e.into()))?;
    let out = dir.path().join("export");
    let exported = match format {
        ExportFormat::Cdf => tacticeye::cdf::export(store, id, &out).await.map(|_| ()),
        ExportFormat::Parquet => tacticeye::tables::export(store, id, &out).await.map(|_| ()),
    };
    if let Err(e) = exported {
        return Err(match e.downcast::<results::ResultsError>() {
            Ok(e) => e.into(),
            Err(e) => internal(e),
        });
    }
    let mut keys = Vec::new();
    for entry in std::fs::read_dir(&out).map_err(|e| internal(e.into()))? {
        let path = entry.map_err(|e| internal(e.into()))?.path();
        let key = format!("{prefix}{}", path.file_name().unwrap_or_default().to_string_lossy());
        let bytes = std::fs::read(&path).map_err(|e| internal(e.into()))?;
        store.put(&key, bytes, Condition::Always).await?;
        keys.push(key);
    }
    keys.sort();
    Ok(keys)
}
