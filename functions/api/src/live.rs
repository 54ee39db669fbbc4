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
use serde::Deserialize;
use tacticeye::ids::MatchId;
use tacticeye::push::{self, Push};
use tacticeye::results::{self, Summary};
use tacticeye::storage::ObjectStore;
use tokio::sync::watch;

use super::{ApiResult, AppState, match_id};

/// How often a client's match is looked at for new commits.
const POLL: Duration = Duration::from_millis(200);
/// A client this many segments behind is sent a snapshot rather than every segment.
const CATCH_UP: u64 = 20;

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
                Some((index, push::segment(&app.store, id, index, &summary).await?.into()))
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
        None => send(&mut socket, &push::snapshot(store, id).await?).await?,
    };
    loop {
        let now = seen.borrow_and_update().clone();
        let done = now.summary.segments_done;
        if done > next + CATCH_UP {
            next = send(&mut socket, &push::snapshot(store, id).await?).await?;
            continue;
        }
        while next < done {
            let text = match &now.newest {
                Some((index, text)) if *index == next => text.to_string(),
                _ => push::segment(store, id, next, &now.summary).await?,
            };
            socket.send(Message::Text(text.into())).await?;
            next += 1;
        }
        if now.summary.status == "complete" && next >= done {
            let summary = (*now.summary).clone();
            socket.send(Message::Text(Push::Completed { summary }.json().into())).await?;
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

async fn send(socket: &mut WebSocket, (push, next): &(Push, u64)) -> anyhow::Result<u64> {
    socket.send(Message::Text(push.json().into())).await?;
    Ok(*next)
}
