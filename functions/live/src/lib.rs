//! The cloud's WebSocket API, over the same pushes as `tacticeye serve`'s `/matches/{id}/live`:
//! `$connect` (`?match=ID`, authorised by the gateway as the mutating routes are) records the connection
//! as a watcher of the match, `$disconnect` forgets it, and any message (`{"after": N}` or `{}`) is answered
//! with what the client lacks: the segments after N, or a snapshot. The worker pushes every later commit.
//! Each invocation that serves a match goes into its `cost.json`: the function's time, its S3 requests and
//! the WebSocket messages it receives and sends.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use serde::Deserialize;
use tacticeye::cost::{self, Meter, Metered, Prices};
use tacticeye::ids::MatchId;
use tacticeye::push::{self, Connections, Gateway, Push};
use tacticeye::results::{self, ResultsError};
use tacticeye::storage::ObjectStore;

/// A client this many segments behind is sent a snapshot rather than every segment.
const CATCH_UP: u64 = 20;

pub async fn handle<S: ObjectStore>(
    store: &S,
    gateway: &Gateway,
    event: &ApiGatewayWebsocketProxyRequest,
) -> anyhow::Result<ApiGatewayProxyResponse> {
    let started = std::time::Instant::now();
    let metered = Metered { inner: store, meter: Meter::new() };
    let (response, served) = route(&metered, gateway, event).await?;
    if let Some(id) = served {
        metered.meter.record(&id, |u| u.lambda_invocation(cost::lambda_memory_mb(), started.elapsed().as_secs_f64()));
        // The answer stands whether or not its cost could be written now.
        if let Err(e) = metered.meter.flush(store, &id, &Prices::from_env()?).await {
            tracing::warn!(match_id = %id, "cost not recorded: {e}");
        }
    }
    Ok(response)
}

/// Answers a route; says which match it served, if any.
async fn route<S: ObjectStore>(
    store: &Metered<&S>,
    gateway: &Gateway,
    event: &ApiGatewayWebsocketProxyRequest,
) -> anyhow::Result<(ApiGatewayProxyResponse, Option<MatchId>)> {
    let context = &event.request_context;
    let Some(connection) = context.connection_id.as_deref().filter(|c| Connections::valid(c)) else {
        return Ok((answer(400, "no valid connection id"), None));
    };
    match context.route_key.as_deref() {
        Some("$connect") => {
            let Some(raw) = event.query_string_parameters.first("match") else {
                return Ok((answer(400, "give the match to watch: ?match=ID"), None));
            };
            let Ok(id) = MatchId::new(raw) else { return Ok((answer(400, "invalid match id"), None)) };
            if !exists(store, &id).await? {
                return Ok((answer(404, &format!("no match {id}")), None));
            }
            Connections::add(store, &id, connection).await?;
            Ok((answer(200, ""), Some(id)))
        }
        Some("$disconnect") => {
            let watched = Connections::remove(store, connection).await?;
            Ok((answer(200, ""), watched))
        }
        _ => {
            #[derive(Deserialize, Default)]
            struct Ask {
                after: Option<u64>,
            }
            let ask: Ask = match event.body.as_deref().map(serde_json::from_str).transpose() {
                Ok(ask) => ask.unwrap_or_default(),
                Err(e) => return Ok((answer(400, &format!("a message is {{\"after\": N}} or {{}}: {e}")), None)),
            };
            let Some(id) = Connections::watched(store, connection).await? else {
                return Ok((answer(404, "this connection watches no match"), None));
            };
            // The client's message is billed as one the gateway received.
            let received = push::billed_units(event.body.as_deref().unwrap_or_default());
            store.meter.record(&id, |u| u.websocket_messages += received);
            catch_up(store, gateway, &id, connection, ask.after).await?;
            Ok((answer(200, ""), Some(id)))
        }
    }
}

/// Started: a request, a manifest or a checkpoint.
async fn exists<S: ObjectStore>(store: &S, id: &MatchId) -> anyhow::Result<bool> {
    for key in [id.checkpoint_key(), id.manifest_key(), id.request_key()] {
        if !store.list(&key).await?.is_empty() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Posts the segments after `after` (or a snapshot), and the end if the match is over, counting the
/// messages delivered.
async fn catch_up<S: ObjectStore>(
    store: &Metered<&S>,
    gateway: &Gateway,
    id: &MatchId,
    connection: &str,
    after: Option<u64>,
) -> anyhow::Result<()> {
    let summary = match results::summary(store, id).await {
        Err(ResultsError::NotFound(_)) => return Ok(()), // nothing committed yet: the worker's pushes follow
        summary => summary?,
    };
    let done = summary.segments_done;
    let mut messages = Vec::new();
    match after.map(|n| n + 1) {
        Some(next) if done <= next + CATCH_UP => {
            for index in next..done {
                messages.push(push::segment(store, id, index, &summary).await?);
            }
        }
        _ => messages.push(push::snapshot(store, id).await?.0.json()),
    }
    if summary.status == "complete" {
        messages.push(Push::Completed { summary }.json());
    }
    for message in messages {
        let units = push::billed_units(&message);
        if !gateway.post(connection, message).await? {
            Connections::remove(store, connection).await?;
            return Ok(());
        }
        store.meter.record(id, |u| u.websocket_messages += units);
    }
    Ok(())
}

fn answer(status: i64, body: &str) -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = status;
    response.body = (!body.is_empty()).then(|| body.to_string().into());
    response
}
