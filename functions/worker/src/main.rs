//! The GPU container task: a long-running loop that takes segment messages off the match FIFO queue and
//! applies each to its match's checkpoint in S3, through the same `analysis::handle` as the local mode.
//! While a segment is processed its message is kept hidden from other workers by a heartbeat.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use tacticeye::analysis::{self, Outcome};
use tacticeye::aws;
use tacticeye::cost::{Meter, Metered, MeteredQueue, Prices};
use tacticeye::detect::{self, DetectorChoice, truth::Noise};
use tacticeye::pipeline::Models;
use tacticeye::pitch::Pitch;
use tacticeye::pitch::keypoints::{Camera, KeypointModel};
use tacticeye::push;
use tacticeye::queue::{SegmentQueue, SqsQueue};
use tacticeye::state::Config;
use tacticeye::storage::S3Store;

#[derive(Parser)]
#[command(name = "tacticeye-worker", about = "Applies queued segments to their matches in S3")]
struct Args {
    #[arg(long, env = "TACTICEYE_BUCKET")]
    bucket: String,
    #[arg(long, env = "TACTICEYE_QUEUE_URL")]
    queue_url: String,
    /// `default`, `truth` (tests) or a path to an .onnx model.
    #[arg(long, env = "TACTICEYE_DETECTOR", default_value = "default")]
    detector: String,
    #[arg(long)]
    truth: Option<PathBuf>,
    #[arg(long, default_value = "default")]
    noise: Noise,
    /// How long a received segment stays hidden from other workers; the heartbeat renews it.
    #[arg(long, default_value_t = 120)]
    visibility_seconds: u32,
    #[arg(long, default_value_t = 20)]
    wait_seconds: u32,
    /// Exit after this long without messages (0: never), so a scaled-in task stops by itself.
    #[arg(long, default_value_t = 0)]
    idle_exit_seconds: u64,
    /// `auto`: positions on the pitch too, the pitch keypoint model finding the camera every few frames
    /// (broadcast footage); `fixed`: found once for a camera that never moves; `none`: image positions
    /// only.
    #[arg(long, env = "TACTICEYE_CALIBRATION", default_value = "none")]
    calibration: String,
    /// The pitch keypoint model for `--calibration auto` or `fixed`: `default` or a path.
    #[arg(long, env = "TACTICEYE_PITCH_MODEL", default_value = "default")]
    pitch_model: String,
    /// The WebSocket API's management endpoint (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`):
    /// each match's watchers are pushed every commit.
    #[arg(long, env = "TACTICEYE_LIVE_ENDPOINT")]
    live_endpoint: Option<String>,
    /// Instance type the task runs on, to price its compute time.
    #[arg(long, env = "TACTICEYE_INSTANCE_TYPE", default_value = "local")]
    instance_type: String,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    tacticeye::logging::init("info", tacticeye::logging::Clock::Timestamps);
    let args = Args::parse();
    let detector = detect::open(&DetectorChoice::parse(&args.detector, args.truth.clone(), args.noise.clone())?)?;
    let mut models = Models::new(detector);
    let mut config = Config::default();
    match (args.calibration.as_str(), Camera::named(&args.calibration)) {
        ("none", _) => {}
        (_, Some(camera)) => {
            let model = KeypointModel::open_named(&args.pitch_model)?;
            config.calibration = Some(model.calibration(Pitch::default(), camera));
            models.pitch = Some(model);
        }
        (other, None) => anyhow::bail!("--calibration is `auto`, `fixed` or `none`, not {other:?}"),
    }
    let prices = Prices::from_env()?;
    let sdk = aws::sdk_config().await;
    let meter = Meter::new();
    let store = Metered { inner: S3Store::new(aws::s3_client(&sdk), &args.bucket), meter: meter.clone() };
    let mut sqs = SqsQueue::new(aws::sqs_client(&sdk), &args.queue_url);
    sqs.wait_seconds = args.wait_seconds as i32;
    sqs.visibility_seconds = args.visibility_seconds as i32;
    let queue = MeteredQueue { inner: sqs, meter: meter.clone() };
    let gateway = args.live_endpoint.as_deref().map(|endpoint| push::Gateway::new(&sdk, endpoint));
    let mut idle_since = Instant::now();
    loop {
        let Some(delivery) = queue.receive().await? else {
            if args.idle_exit_seconds > 0 && idle_since.elapsed() >= Duration::from_secs(args.idle_exit_seconds) {
                tracing::info!("idle for {} s, exiting", args.idle_exit_seconds);
                return Ok(());
            }
            continue;
        };
        let heartbeat = {
            let (queue, receipt, every) = (queue.clone(), delivery.receipt.clone(), args.visibility_seconds);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs((every / 3).max(1) as u64)).await;
                    if let Err(e) = queue.extend(&receipt, every).await {
                        tracing::warn!("could not extend the message's visibility: {e:#}");
                    }
                }
            })
        };
        let started = Instant::now();
        let outcome = analysis::handle(&store, &mut models, &config, &delivery.message).await;
        heartbeat.abort();
        let id = delivery.message.match_id();
        meter.record(id, |u| {
            *u.worker_seconds.entry(args.instance_type.clone()).or_default() += started.elapsed().as_secs_f64()
        });
        match &outcome {
            Ok(Outcome::Applied { index, frames, times, lag }) => {
                tracing::info!(match_id = %id, index, frames, ?times, ?lag, "segment committed")
            }
            Ok(Outcome::Dropped { index, lag }) => {
                tracing::warn!(match_id = %id, index, lag, "live segment dropped to keep up with the stream")
            }
            Ok(Outcome::AlreadyApplied { index }) => {
                tracing::info!(match_id = %id, index, "segment already applied: duplicate or redelivery, dropped")
            }
            Ok(Outcome::Completed) => tracing::info!(match_id = %id, "match complete"),
            // Left hidden for a while and redelivered; retries end in the dead-letter queue.
            Ok(Outcome::Ahead { index, expected }) => {
                tracing::warn!(match_id = %id, index, expected, "segment ahead of the checkpoint, not applied")
            }
            Ok(Outcome::NotYetComplete { done, total }) => {
                tracing::warn!(match_id = %id, done, total, "end of match before all its segments were applied")
            }
            Err(e) => tracing::error!(match_id = %id, "segment failed: {e:#}"),
        }
        let commit = match &outcome {
            Ok(Outcome::Applied { index, .. } | Outcome::Dropped { index, .. }) => Some(push::Commit::Segment(*index)),
            Ok(Outcome::Completed) => Some(push::Commit::Completed),
            _ => None,
        };
        if let (Some(gateway), Some(commit)) = (&gateway, commit) {
            let billed = push::broadcast(&store, gateway, id, commit).await;
            meter.record(id, |u| u.websocket_messages += billed);
        }
        match &outcome {
            Ok(o) if o.acknowledge() => queue.ack(&delivery.receipt).await?,
            Ok(_) => {}
            Err(_) => {
                queue.extend(&delivery.receipt, 10).await.ok();
            }
        }
        if let Err(e) = meter.flush(&store.inner, id, &prices).await {
            tracing::warn!(match_id = %id, "cost not recorded yet, kept for the next flush: {e}");
        }
        idle_since = Instant::now();
    }
}
