//! Lambda entry point of the segmenter: S3 `ObjectCreated` events on `uploads/` and `requests/`.
//! `tacticeye-segmenter live MATCH` is the same segmenter as a long-running task: it follows the live
//! source named in `live/{MATCH}.json` to its end (a live match outlives any Lambda invocation). MATCH
//! may be that key itself, as the EventBridge rule on `live/` passes it.

use aws_lambda_events::event::s3::S3Event;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use tacticeye::aws;
use tacticeye::cost::Prices;
use tacticeye::queue::SqsQueue;
use tacticeye::segment::SegmentRequest;
use tacticeye::storage::ObjectStore;
use tacticeye::storage::S3Store;
use tacticeye_segmenter::Segmenter;

fn env(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set").into())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tacticeye::logging::init("info", tacticeye::logging::Clock::Without);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let live = match args.as_slice() {
        [] => None,
        [mode, id] if mode == "live" => Some(id.clone()),
        _ => return Err(format!("unexpected arguments {args:?}; usage: tacticeye-segmenter [live MATCH]").into()),
    };
    let sdk = aws::sdk_config().await;
    let bucket = env("TACTICEYE_BUCKET")?;
    let mut segmenter = Segmenter::new(
        S3Store::new(aws::s3_client(&sdk), &bucket),
        SqsQueue::new(aws::sqs_client(&sdk), env("TACTICEYE_QUEUE_URL")?),
        bucket,
        env("TACTICEYE_SEGMENT_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0),
        env("TACTICEYE_MAX_UPLOAD_BYTES").ok().and_then(|s| s.parse().ok()).unwrap_or(4 << 30),
        Prices::from_env()?,
    );
    if let Some(seconds) = env("TACTICEYE_METER_SECONDS").ok().and_then(|s| s.parse().ok()) {
        segmenter.meter_period = std::time::Duration::from_secs_f64(seconds);
    }
    if let Some(id) = live {
        return follow_live(&segmenter, &id).await;
    }
    let segmenter = &segmenter;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<S3Event>| async move {
        // Lambda's deadline is wall-clock milliseconds; keep a margin for the hand-over itself.
        let left = event
            .context
            .deadline
            .saturating_sub(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as u64);
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(left.saturating_sub(20_000));
        let manifests = segmenter.on_event(event.payload, Some(deadline)).await?;
        Ok::<_, Error>(
            serde_json::json!({ "matches": manifests.iter().map(|m| m.match_id.as_str()).collect::<Vec<_>>() }),
        )
    }))
    .await
}

/// The live segmenter task: reads the hand-over object and follows the source with no deadline.
async fn follow_live(segmenter: &Segmenter<S3Store, SqsQueue>, id: &str) -> Result<(), Error> {
    let match_id = tacticeye::ids::MatchId::from_request_key(id)?;
    let key = match_id.live_key();
    let request = segmenter.store().get(&key).await?.ok_or_else(|| format!("no live request at {key}"))?;
    match serde_json::from_slice(&request.bytes)? {
        SegmentRequest::Url { url, source_type } => {
            segmenter.on_url(&match_id, &url, source_type, None, false).await?;
            Ok(())
        }
        SegmentRequest::Upload { .. } | SegmentRequest::File { .. } => {
            Err(format!("{key} names a file, not a live URL").into())
        }
    }
}
