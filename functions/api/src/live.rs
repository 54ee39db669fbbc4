//! `GET /matches/{id}/live`: a WebSocket that pushes a match's progress as its segments are committed.
//!
//! Each client follows the committed outputs on its own (a snapshot, then one message per segment, then
//! `completed`), so a slow client delays nobody else, and a client that reconnects with `?after=N` is sent
//! what it missed from storage, not from anyone's memory. A client more than `CATCH_UP` segments behind
//! gets a fresh snapshot instead of the backlog.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tacticeye::events::Event;
use tacticeye::ids::MatchId;
use tacticeye::pipeline::FrameOutput;
use tacticeye::results::{self, PerTeam, ResultsError, Summary};
use tacticeye::storage::ObjectStore;

use super::{ApiResult, AppState, match_id};

/// How often a client's match is looked at for new commits.
const POLL: Duration = Duration::from_millis(200);
/// A client this many segments behind is sent a snapshot rather than every segment.
const CATCH_UP: u64 = 20;
/// How many of the latest segments' events a snapshot carries.
const RECENT_SEGMENTS: u64 = 3;

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Push {
    /// The match as it stands: the summary, the latest segments' events and the last frame's positions.
    Snapshot {
        summary: Summary,
        events: Vec<Event>,
        positions: Option<FrameOutput>,
    },
    /// One committed segment; possession, passes and lag are the match's as the message is sent.
    Segment {
        index: u64,
        frames_done: u64,
        possession: PerTeam<f64>,
        passes: PerTeam<u64>,
        lag_seconds: f64,
        events: Vec<Event>,
        positions: Option<FrameOutput>,
    },
    Completed {
        summary: Summary,
    },
}

#[derive(Deserialize)]
pub(crate) struct LiveParams {
    /// The last segment the client has: it is sent the ones after it, and no snapshot.
    after: Option<u64>,
}

pub(crate) async fn live<S: ObjectStore + 'static>(
    State(app): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
    Query(params): Query<LiveParams>,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    let id = match_id(&id)?;
    // An unknown match is a 404 before the upgrade.
    results::summary(&app.store, &id).await?;
    Ok(upgrade.on_upgrade(move |socket| async move {
        if let Err(e) = follow(&app.store, &id, params.after, socket).await {
            tracing::debug!(match_id = %id, "live client gone: {e}");
        }
    }))
}

async fn follow<S: ObjectStore>(
    store: &S,
    id: &MatchId,
    after: Option<u64>,
    mut socket: WebSocket,
) -> anyhow::Result<()> {
    let mut next = match after {
        Some(n) => n + 1,
        None => send(&mut socket, &snapshot(store, id).await?).await?,
    };
    loop {
        let summary = results::summary(store, id).await?;
        if summary.segments_done > next + CATCH_UP {
            next = send(&mut socket, &snapshot(store, id).await?).await?;
            continue;
        }
        while next < summary.segments_done {
            let output = results::output(store, id, next).await?;
            let push = Push::Segment {
                index: output.index,
                frames_done: output.first_frame + output.frames.len() as u64,
                possession: summary.possession.clone(),
                passes: summary.passes.clone(),
                lag_seconds: summary.lag_seconds,
                events: output.events,
                positions: output.frames.last().cloned(),
            };
            socket.send(Message::Text(serde_json::to_string(&push)?.into())).await?;
            next += 1;
        }
        if summary.status == "complete" && next >= summary.segments_done {
            socket.send(Message::Text(serde_json::to_string(&Push::Completed { summary })?.into())).await?;
            socket.send(Message::Close(None)).await.ok();
            return Ok(());
        }
        // Between looks, notice a client that has gone.
        if let Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) = tokio::time::timeout(POLL, socket.recv()).await {
            return Ok(());
        }
    }
}

/// The match as it stands, and the segment after it.
async fn snapshot<S: ObjectStore>(store: &S, id: &MatchId) -> Result<(Push, u64), ResultsError> {
    let summary = results::summary(store, id).await?;
    let done = summary.segments_done;
    let mut events = Vec::new();
    let mut positions = None;
    for index in done.saturating_sub(RECENT_SEGMENTS)..done {
        let output = results::output(store, id, index).await?;
        events.extend(output.events);
        positions = output.frames.last().cloned();
    }
    Ok((Push::Snapshot { summary, events, positions }, done))
}

async fn send(socket: &mut WebSocket, (push, next): &(Push, u64)) -> anyhow::Result<u64> {
    socket.send(Message::Text(serde_json::to_string(push)?.into())).await?;
    Ok(*next)
}
