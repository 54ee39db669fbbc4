//! The segmenter: an upload under `uploads/` becomes a match. The video is cut into 2-5 s segments in S3
//! (`segment::segment_step`, as in the local mode) and each segment is enqueued on the FIFO queue in the
//! match's own message group, followed by an end-of-match message.
//!
//! A source that cannot be cut within one invocation (re-encoding a long video) is cut chunk by chunk;
//! when the time left would not fit another chunk, the segmenter writes `requests/{match}.json` naming the
//! upload, and that object's creation starts the next invocation, which goes on from the manifest.
//!
//! A request may name a URL instead (`POST /matches`). A VOD URL is cut the same way, invocation after
//! invocation, each resuming with a seek where the manifest ends. A live URL outlives any invocation:
//! it is handed to the live segmenter, the same binary run as a long-lived container task
//! (`tacticeye-segmenter live MATCH`), started by the creation of `live/{match}.json` (infra/README.md).

use std::path::Path;

use anyhow::Context;
use aws_lambda_events::event::s3::S3Event;
use std::sync::Arc;
use std::time::Instant;

use tacticeye::analysis;
use tacticeye::cost::{Meter, Metered, MeteredQueue, Prices};
use tacticeye::ids::MatchId;
use tacticeye::queue::SegmentQueue;
use tacticeye::segment::{self, FollowOptions, Followed, Manifest, SegmentRequest};
use tacticeye::source::url::{Source, SourceKind};
use tacticeye::storage::Condition;
use tacticeye::storage::ObjectStore;

pub use tacticeye::ids::UPLOADS;
pub const REQUESTS: &str = "requests/";

pub struct Segmenter<S, Q> {
    store: Metered<S>,
    queue: MeteredQueue<Q>,
    meter: Arc<Meter>,
    /// The bucket the store writes to: events from any other are refused.
    bucket: String,
    segment_seconds: f64,
    max_upload_bytes: u64,
    prices: Prices,
    /// The function's memory, to meter GB-seconds (Lambda's `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`).
    memory_mb: f64,
    /// Segments per re-encoded chunk (one step).
    pub chunk_segments: u64,
    /// How URL sources are followed (deadline and hand-over are set per call).
    pub follow: FollowOptions,
    /// Priced as this when not in Lambda (the live segmenter's container).
    pub instance_type: String,
    /// How often a long-running segmenter adds its time and requests to the match's cost.
    pub meter_period: std::time::Duration,
}

/// S3 event keys are URL-encoded, with `+` for spaces.
fn decode_key(key: &str) -> anyhow::Result<String> {
    let spaced = key.replace('+', " ");
    Ok(percent_encoding::percent_decode_str(&spaced).decode_utf8().context("upload key is not UTF-8")?.into_owned())
}

impl<S: ObjectStore, Q: SegmentQueue> Segmenter<S, Q> {
    pub fn new(
        store: S,
        queue: Q,
        bucket: impl Into<String>,
        segment_seconds: f64,
        max_upload_bytes: u64,
        prices: Prices,
    ) -> Self {
        let meter = Meter::new();
        Segmenter {
            store: Metered { inner: store, meter: meter.clone() },
            queue: MeteredQueue { inner: queue, meter: meter.clone() },
            meter,
            bucket: bucket.into(),
            segment_seconds,
            max_upload_bytes,
            prices,
            memory_mb: tacticeye::cost::lambda_memory_mb(),
            chunk_segments: segment::CHUNK_SEGMENTS,
            follow: FollowOptions { segment_seconds, ..FollowOptions::default() },
            instance_type: std::env::var("TACTICEYE_INSTANCE_TYPE").unwrap_or_else(|_| "fargate-1vcpu-2gb".into()),
            meter_period: std::time::Duration::from_secs(60),
        }
    }

    /// The bucket, as the segmenter reads it (metered).
    pub fn store(&self) -> &Metered<S> {
        &self.store
    }

    /// Handles every record of an S3 `ObjectCreated` notification: an upload, or a request to go on.
    /// `deadline` is when this invocation ends (Lambda's deadline).
    pub async fn on_event(&self, event: S3Event, deadline: Option<Instant>) -> anyhow::Result<Vec<Manifest>> {
        let mut done = Vec::new();
        for record in event.records {
            let bucket = record.s3.bucket.name.unwrap_or_default();
            if bucket != self.bucket {
                anyhow::bail!("event for bucket {bucket:?}, this segmenter serves {:?}", self.bucket);
            }
            let key = decode_key(&record.s3.object.key.context("event record without an object key")?)?;
            if key.starts_with(REQUESTS) {
                let request = self.store.get(&key).await?.with_context(|| format!("request {key} is gone"))?;
                let request: SegmentRequest =
                    serde_json::from_slice(&request.bytes).with_context(|| format!("request {key} is malformed"))?;
                match request {
                    SegmentRequest::Upload { upload } => done.push(self.on_upload(&upload, None, deadline).await?),
                    SegmentRequest::Url { url, source_type } => {
                        let id = MatchId::from_request_key(&key)?;
                        done.extend(self.on_url(&id, &url, source_type, deadline, true).await?);
                    }
                    SegmentRequest::File { path } => {
                        anyhow::bail!("request {key} names a file ({path}): only `tacticeye serve` reads files")
                    }
                }
            } else {
                done.push(self.on_upload(&key, record.s3.object.size, deadline).await?);
            }
        }
        Ok(done)
    }

    /// Segments one uploaded video and enqueues its segments, as far as `deadline` allows. Safe to run
    /// twice for one upload: it goes on from the manifest, the queue drops duplicate messages, and workers
    /// skip applied segments.
    pub async fn on_upload(&self, key: &str, size: Option<i64>, deadline: Option<Instant>) -> anyhow::Result<Manifest> {
        let mut started = Instant::now();
        let match_id = MatchId::from_upload_key(key)?;
        if size.is_some_and(|s| s as u64 > self.max_upload_bytes) {
            anyhow::bail!("upload {key} is {} bytes, over the limit of {}", size.unwrap_or(0), self.max_upload_bytes);
        }
        let object = self.store.get(key).await?.with_context(|| format!("upload {key} is gone"))?;
        if object.bytes.len() as u64 > self.max_upload_bytes {
            anyhow::bail!("upload {key} is {} bytes, over the limit of {}", object.bytes.len(), self.max_upload_bytes);
        }
        let work = tempfile::tempdir()?;
        // The upload's own file name, so ffmpeg sees its extension.
        let video = work.path().join(Path::new(key).file_name().unwrap_or_default());
        std::fs::write(&video, &object.bytes)?;
        let video = segment::Video::open(&video)?;
        let request = match_id.request_key();
        let manifest = loop {
            let step = Instant::now();
            let (manifest, added) =
                segment::segment_step(&self.store, &match_id, &video, self.segment_seconds, self.chunk_segments)
                    .await?;
            analysis::enqueue(&self.queue, &manifest, added.first().map_or(manifest.listed, |s| s.index)).await?;
            if manifest.complete {
                self.store.delete(&request).await?;
                tracing::info!(match_id = %match_id, segments = manifest.listed, "segmented and enqueued");
                break manifest;
            }
            // Another step takes about as long as this one; hand over if it might not fit.
            if deadline.is_some_and(|d| d.saturating_duration_since(Instant::now()) < 2 * step.elapsed()) {
                let body = serde_json::to_vec(&SegmentRequest::Upload { upload: key.to_string() })?;
                self.store.put(&request, body, tacticeye::storage::Condition::Always).await?;
                tracing::info!(match_id = %match_id, segments = manifest.listed, "out of time: continues in a new invocation");
                break manifest;
            }
        };
        self.bill(&match_id, &mut started).await?;
        Ok(manifest)
    }

    /// Segments a URL source and enqueues its segments as they come. With a `deadline` (Lambda), a VOD
    /// source is cut until the time runs short and continued through `requests/`, and a live one is
    /// handed to the live segmenter at once (`hand_over_live`); without, it is followed to its end.
    /// `None` when handed over.
    pub async fn on_url(
        &self,
        match_id: &MatchId,
        url: &str,
        kind: Option<SourceKind>,
        deadline: Option<Instant>,
        hand_over_live: bool,
    ) -> anyhow::Result<Option<Manifest>> {
        let started = Instant::now();
        let source = Source::parse(url, kind)?;
        if !source.is_url() {
            anyhow::bail!("{url:?} is not a URL");
        }
        let options = FollowOptions { deadline, hand_over_live, ..self.follow.clone() };
        let request = SegmentRequest::Url { url: url.to_string(), source_type: kind };
        let mut billed = started;
        let followed = segment::follow(&self.store, &self.queue, match_id, &source, &options);
        tokio::pin!(followed);
        // A live task runs for hours: its time and requests go into cost.json as it runs, so a task
        // that is killed loses at most one period of metering. (An invocation is billed once, at its end.)
        let mut tick = tokio::time::interval_at((started + self.meter_period).into(), self.meter_period);
        let followed = loop {
            tokio::select! {
                followed = &mut followed => break followed,
                _ = tick.tick(), if deadline.is_none() => self.bill(match_id, &mut billed).await?,
            }
        };
        let manifest = match followed? {
            Followed::Complete(m) => {
                self.store.delete(&match_id.request_key()).await?;
                tracing::info!(match_id = %match_id, segments = m.listed, "source read to its end");
                Some(m)
            }
            Followed::Paused(m) => {
                self.store.put(&match_id.request_key(), serde_json::to_vec(&request)?, Condition::Always).await?;
                tracing::info!(match_id = %match_id, segments = m.listed, "out of time: continues in a new invocation");
                Some(m)
            }
            Followed::Live => {
                self.store.put(&match_id.live_key(), serde_json::to_vec(&request)?, Condition::Always).await?;
                self.store.delete(&match_id.request_key()).await?;
                tracing::info!(match_id = %match_id, "live source: handed to the live segmenter");
                None
            }
        };
        self.bill(match_id, &mut billed).await?;
        Ok(manifest)
    }

    /// Meters this run's compute since `since` (then moved to now): a Lambda invocation, or (no Lambda
    /// memory set) container time; and flushes it with the requests counted.
    async fn bill(&self, match_id: &MatchId, since: &mut Instant) -> anyhow::Result<()> {
        let seconds = since.elapsed().as_secs_f64();
        *since = Instant::now();
        self.meter.record(match_id, |u| {
            if self.memory_mb > 0.0 {
                u.lambda_invocation(self.memory_mb, seconds);
            } else {
                *u.worker_seconds.entry(self.instance_type.clone()).or_default() += seconds;
            }
        });
        self.meter.flush(&self.store.inner, match_id, &self.prices).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_are_url_decoded() {
        assert_eq!(decode_key("uploads/Cup+Final%282026%29.mp4").unwrap(), "uploads/Cup Final(2026).mp4");
    }
}
