//! Lambda entry point of the segmenter: S3 `ObjectCreated` events on `uploads/`.

use aws_lambda_events::event::s3::S3Event;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use tacticeye::aws;
use tacticeye::cost::Prices;
use tacticeye::queue::SqsQueue;
use tacticeye::storage::S3Store;
use tacticeye_segmenter::Segmenter;

fn env(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("environment variable {name} is not set").into())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).without_time().init();
    let sdk = aws::sdk_config().await;
    let bucket = env("TACTICEYE_BUCKET")?;
    let segmenter = Segmenter::new(
        S3Store::new(aws::s3_client(&sdk), &bucket),
        SqsQueue::new(aws::sqs_client(&sdk), env("TACTICEYE_QUEUE_URL")?),
        bucket,
        env("TACTICEYE_SEGMENT_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0),
        env("TACTICEYE_MAX_UPLOAD_BYTES").ok().and_then(|s| s.parse().ok()).unwrap_or(4 << 30),
        Prices::from_env()?,
    );
    let segmenter = &segmenter;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<S3Event>| async move {
        // Lambda's deadline is wall-clock milliseconds; keep a margin for the hand-over itself.
        let left = event.context.deadline.saturating_sub(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() as u64);
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(left.saturating_sub(20_000));
        let manifests = segmenter.on_event(event.payload, Some(deadline)).await?;
        Ok::<_, Error>(serde_json::json!({ "matches": manifests.iter().map(|m| m.match_id.as_str()).collect::<Vec<_>>() }))
    }))
    .await
}
