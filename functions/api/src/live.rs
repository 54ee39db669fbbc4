//! `GET /matches/{id}/live`: a WebSocket that pushes a match's progress as its segments are committed.
//!
//! One watcher a match looks at its commits five times a second and shares each new segment's message
//! with every client of the match; each client sends at its own pace (a snapshot, then one message per
//! segment, then `completed`), so a slow client delays nobody else. A client that missed a segment's
//! shared message (it was slow, or it reconnects with `?after=N`) reads it from storage, not from anyone's
//! memory; one more than `CATCH_UP` segments behind gets a fresh snapshot instead of the backlog.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
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
use tokio::sync::watch;

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
    /// One committed segment; possession, passes, turnovers, kits and lag are the match's as the message
    /// is sent.
    Segment {
        index: u64,
        frames_done: u64,
        possession: PerTeam<f64>,
        passes: PerTeam<u64>,
        turnovers_won: PerTeam<u64>,
        kits: Option<PerTeam<String>>,
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

/// What a match's watcher last saw: its summary, and the newest segment's message, built once.
#[derive(Clone)]
struct Seen {
    summary: Arc<Summary>,
    newest: Option<(u64, Arc<str>)>,
}

/// The watchers of the matches being watched, by match.
#[derive(Default)]
pub(crate) struct Watchers(Mutex<HashMap<MatchId, watch::Receiver<Seen>>>);

impl Watchers {
    /// The match's watcher, started for its first client; it stops when its last client has gone.
    async fn subscribe<S: ObjectStore + 'static>(
        app: &Arc<AppState<S>>,
        id: &MatchId,
    ) -> ApiResult<watch::Receiver<Seen>> {
        if let Some(rx) = app.watchers.0.lock().unwrap().get(id).filter(|rx| rx.has_changed().is_ok()) {
            return Ok(rx.clone());
        }
        let first = Seen { summary: Arc::new(results::summary(&app.store, id).await?), newest: None };
        let (tx, rx) = watch::channel(first);
        app.watchers.0.lock().unwrap().insert(id.clone(), rx.clone());
        let (app, id) = (app.clone(), id.clone());
        tokio::spawn(async move {
            if let Err(e) = look(&app, &id, &tx).await {
                tracing::warn!(match_id = %id, "live watcher stopped: {e}");
                app.watchers.forget(&id, &tx);
            }
        });
        Ok(rx)
    }

    /// Drops the match's entry if it is `tx`'s (another watcher may have replaced it).
    fn forget(&self, id: &MatchId, tx: &watch::Sender<Seen>) {
        let mut map = self.0.lock().unwrap();
        if map.get(id).is_some_and(|rx| rx.same_channel(&tx.subscribe())) {
            map.remove(id);
        }
    }
}

/// Looks at the match's commits until nobody watches (the map's own receiver is the last), deciding that
/// under the map's lock so that no client joins a watcher that is stopping.
async fn look<S: ObjectStore>(app: &AppState<S>, id: &MatchId, tx: &watch::Sender<Seen>) -> anyhow::Result<()> {
    loop {
        tokio::time::sleep(POLL).await;
        {
            let mut map = app.watchers.0.lock().unwrap();
            let ours = map.get(id).is_some_and(|rx| rx.same_channel(&tx.subscribe()));
            if tx.receiver_count() <= usize::from(ours) {
                if ours {
                    map.remove(id);
                }
                return Ok(());
            }
        }
        let summary = results::summary(&app.store, id).await?;
        let before = tx.borrow().summary.clone();
        if summary.segments_done == before.segments_done && summary.status == before.status {
            continue;
        }
        let newest = match summary.segments_done.checked_sub(1) {
            Some(index) if summary.segments_done > before.segments_done => {
                Some((index, segment_message(&app.store, id, index, &summary).await?.into()))
            }
            _ => None,
        };
        tx.send_replace(Seen { summary: Arc::new(summary), newest });
    }
}

pub(crate) async fn live<S: ObjectStore + 'static>(
    State(app): State<Arc<AppState<S>>>,
    Path(id): Path<String>,
    Query(params): Query<LiveParams>,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    let id = match_id(&id)?;
    // An unknown match is a 404 before the upgrade.
    let seen = Watchers::subscribe(&app, &id).await?;
    Ok(upgrade.on_upgrade(move |socket| async move {
        if let Err(e) = follow(&app.store, &id, params.after, seen, socket).await {
            tracing::debug!(match_id = %id, "live client gone: {e:#}");
        }
    }))
}

async fn follow<S: ObjectStore>(
    store: &S,
    id: &MatchId,
    after: Option<u64>,
    mut seen: watch::Receiver<Seen>,
    mut socket: WebSocket,
) -> anyhow::Result<()> {
    let mut next = match after {
        Some(n) => n + 1,
        None => send(&mut socket, &snapshot(store, id).await?).await?,
    };
    loop {
        let now = seen.borrow_and_update().clone();
        let done = now.summary.segments_done;
        if done > next + CATCH_UP {
            next = send(&mut socket, &snapshot(store, id).await?).await?;
            continue;
        }
        while next < done {
            let text = match &now.newest {
                Some((index, text)) if *index == next => text.to_string(),
                _ => segment_message(store, id, next, &now.summary).await?,
            };
            socket.send(Message::Text(text.into())).await?;
            next += 1;
        }
        if now.summary.status == "complete" && next >= done {
            let summary = (*now.summary).clone();
            socket.send(Message::Text(serde_json::to_string(&Push::Completed { summary })?.into())).await?;
            socket.send(Message::Close(None)).await.ok();
            return Ok(());
        }
        // Wait for the next commit, noticing a client that has gone.
        tokio::select! {
            changed = seen.changed() => changed?,
            message = socket.recv() => {
                if let None | Some(Err(_)) | Some(Ok(Message::Close(_))) = message {
                    return Ok(());
                }
            }
        }
    }
}

/// Segment `index`'s message, with the match's figures as of `summary`.
async fn segment_message<S: ObjectStore>(
    store: &S,
    id: &MatchId,
    index: u64,
    summary: &Summary,
) -> anyhow::Result<String> {
    let output = results::output(store, id, index).await?;
    let push = Push::Segment {
        index: output.index,
        frames_done: output.first_frame + output.frames.len() as u64,
        possession: summary.possession.clone(),
        passes: summary.passes.clone(),
        turnovers_won: summary.turnovers_won.clone(),
        kits: summary.kits.clone(),
        lag_seconds: summary.lag_seconds,
        events: output.events,
        positions: output.frames.last().cloned(),
    };
    Ok(serde_json::to_string(&push)?)
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
