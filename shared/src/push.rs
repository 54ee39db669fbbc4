//! What a match's watchers are pushed while it is analysed (`GET /matches/{id}/live` on the local server;
//! the cloud's WebSocket API): a snapshot on arrival, one message per committed segment, and the end.
//! Every message is built from committed outputs, so a client that comes back `after` segment N gets
//! exactly what it missed. The cloud's WebSocket connections are kept per match beside it (`Connections`).

use serde::{Deserialize, Serialize};

use crate::events::Event;
use crate::ids::MatchId;
use crate::pipeline::FrameOutput;
use crate::results::{self, PerTeam, ResultsError, Summary};
use crate::storage::{Condition, ObjectStore, StoreError};

/// How many of the latest segments' events a snapshot carries.
const RECENT_SEGMENTS: u64 = 3;

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Push {
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

impl Push {
    pub fn json(&self) -> String {
        serde_json::to_string(self).expect("a push serialises")
    }
}

/// Segment `index`'s message, with the match's figures as of `summary`.
pub async fn segment<S: ObjectStore>(
    store: &S,
    id: &MatchId,
    index: u64,
    summary: &Summary,
) -> Result<String, ResultsError> {
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
    Ok(push.json())
}

/// The match as it stands, and the segment after it.
pub async fn snapshot<S: ObjectStore>(store: &S, id: &MatchId) -> Result<(Push, u64), ResultsError> {
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

/// The cloud's WebSocket connections watching a match: `matches/{id}/watchers/{connection}` for the worker
/// to list after each commit, and `watchers/{connection}` naming the match for `$disconnect`, which is
/// told only the connection.
pub struct Connections;

#[derive(Serialize, Deserialize)]
struct Watching {
    match_id: MatchId,
}

impl Connections {
    fn key(id: &MatchId, connection: &str) -> String {
        format!("matches/{id}/watchers/{connection}")
    }

    fn reverse_key(connection: &str) -> String {
        format!("watchers/{connection}")
    }

    /// A connection id as API Gateway makes them (base64-like); anything else could leave the prefix.
    pub fn valid(connection: &str) -> bool {
        (1..=128).contains(&connection.len())
            && connection.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'-' | b'_' | b'+'))
    }

    pub async fn add<S: ObjectStore>(store: &S, id: &MatchId, connection: &str) -> Result<(), StoreError> {
        let watching = serde_json::to_vec(&Watching { match_id: id.clone() }).expect("serialises");
        store.put(&Self::reverse_key(connection), watching, Condition::Always).await?;
        store.put(&Self::key(id, connection), Vec::new(), Condition::Always).await.map(|_| ())
    }

    /// Forgets a connection, whichever match it watched; returns that match.
    pub async fn remove<S: ObjectStore>(store: &S, connection: &str) -> Result<Option<MatchId>, StoreError> {
        let reverse = Self::reverse_key(connection);
        let mut watched = None;
        if let Some(obj) = store.get(&reverse).await?
            && let Ok(w) = serde_json::from_slice::<Watching>(&obj.bytes)
        {
            store.delete(&Self::key(&w.match_id, connection)).await?;
            watched = Some(w.match_id);
        }
        store.delete(&reverse).await?;
        Ok(watched)
    }

    /// The match a connection watches.
    pub async fn watched<S: ObjectStore>(store: &S, connection: &str) -> Result<Option<MatchId>, StoreError> {
        let Some(obj) = store.get(&Self::reverse_key(connection)).await? else { return Ok(None) };
        Ok(serde_json::from_slice::<Watching>(&obj.bytes).ok().map(|w| w.match_id))
    }

    pub async fn of<S: ObjectStore>(store: &S, id: &MatchId) -> Result<Vec<String>, StoreError> {
        let prefix = format!("matches/{id}/watchers/");
        let keys = store.list(&prefix).await?;
        Ok(keys.iter().filter_map(|k| k.strip_prefix(&prefix)).filter(|c| Self::valid(c)).map(String::from).collect())
    }
}

/// API Gateway's management API for a WebSocket API stage
/// (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`): how the cloud pushes to its watchers.
#[derive(Clone)]
pub struct Gateway {
    client: aws_sdk_apigatewaymanagement::Client,
}

impl Gateway {
    pub fn new(sdk: &aws_config::SdkConfig, endpoint: &str) -> Gateway {
        let config = aws_sdk_apigatewaymanagement::config::Builder::from(sdk).endpoint_url(endpoint).build();
        Gateway { client: aws_sdk_apigatewaymanagement::Client::from_conf(config) }
    }

    /// Sends `data`; `Ok(false)` when the connection is gone (410) and should be forgotten.
    pub async fn post(&self, connection: &str, data: String) -> anyhow::Result<bool> {
        let sent =
            self.client.post_to_connection().connection_id(connection).data(data.into_bytes().into()).send().await;
        match sent {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_gone_exception()) => Ok(false),
            Err(e) => Err(aws_sdk_apigatewaymanagement::Error::from(e).into()),
        }
    }
}

/// What was just committed, for the watchers.
pub enum Commit {
    Segment(u64),
    Completed,
}

/// After a commit: every watcher of the match is sent the segment's message (or the end). A gone
/// connection is forgotten; any other failure is logged and never fails the segment, whose results are
/// committed already and reach the watcher on its next reconnect (`after`).
pub async fn broadcast<S: ObjectStore>(store: &S, gateway: &Gateway, id: &MatchId, commit: Commit) -> u64 {
    let mut billed = 0;
    if let Err(e) = try_broadcast(store, gateway, id, commit, &mut billed).await {
        tracing::warn!(match_id = %id, "watchers not told: {e:#}");
    }
    billed
}

/// API Gateway bills a WebSocket message per started 32 KiB.
pub fn billed_units(message: &str) -> u64 {
    (message.len() as u64).div_ceil(32 * 1024).max(1)
}

async fn try_broadcast<S: ObjectStore>(
    store: &S,
    gateway: &Gateway,
    id: &MatchId,
    commit: Commit,
    billed: &mut u64,
) -> anyhow::Result<()> {
    let watchers = Connections::of(store, id).await?;
    if watchers.is_empty() {
        return Ok(());
    }
    let summary = results::summary(store, id).await?;
    let message = match commit {
        Commit::Segment(index) => segment(store, id, index, &summary).await?,
        Commit::Completed => Push::Completed { summary }.json(),
    };
    for connection in watchers {
        match gateway.post(&connection, message.clone()).await {
            Ok(true) => *billed += billed_units(&message),
            Ok(false) => {
                tracing::info!(match_id = %id, connection, "watcher gone, forgotten");
                Connections::remove(store, &connection).await?;
            }
            Err(e) => tracing::warn!(match_id = %id, connection, "push failed: {e:#}"),
        }
    }
    Ok(())
}
