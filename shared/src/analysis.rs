//! Running a match over the two seams, `ObjectStore` and `SegmentQueue`: the segments of a manifest are
//! enqueued; the worker applies them one by one, committing after each.
//!
//! Commit order: the segment's output under its deterministic key, then the checkpoint, replaced only if
//! it is still the one the worker read. A crash between the two leaves an output that the next attempt
//! rewrites with the same bytes; a segment already in the checkpoint is skipped. Nothing is lost or doubled.

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;

use crate::clock::{fault_point, unix_now};
use crate::events::{Event, EventKind};
use crate::ids::MatchId;
use crate::pipeline::{self, Models, Segment, SegmentOutput, StageTimes};
use crate::pitch::CalibrationMode;
use crate::queue::{LocalQueue, Message, SegmentQueue};
use crate::segment::{self, Listing, Manifest, Video, load_manifest};
use crate::source;
use crate::state::{Config, MatchState, Status};
use crate::storage::{Condition, ObjectStore};

pub async fn load_state<S: ObjectStore>(store: &S, match_id: &MatchId) -> anyhow::Result<Option<(MatchState, String)>> {
    let Some(obj) = store.get(&match_id.checkpoint_key()).await? else { return Ok(None) };
    Ok(Some((MatchState::from_json(match_id, &obj.bytes)?, obj.etag)))
}

/// Loads the match's checkpoint (with its ETag), or writes the initial one; refuses a checkpoint made
/// otherwise.
pub async fn start<S: ObjectStore>(
    store: &S,
    manifest: &Manifest,
    config: &Config,
    detector: &str,
) -> anyhow::Result<(MatchState, String)> {
    let id = &manifest.match_id;
    if let Some((state, etag)) = load_state(store, id).await? {
        state.check_compatible(config, detector, &manifest.fingerprint)?;
        return Ok((state, etag));
    }
    let state = MatchState::new(
        id.clone(),
        config.clone(),
        detector.to_string(),
        manifest.fingerprint.clone(),
        manifest.fps,
        manifest.width,
        manifest.height,
    );
    match store.put(&id.checkpoint_key(), state.to_json(), Condition::IfNoneMatch).await {
        Ok(etag) => Ok((state, etag)),
        // Another starter won the race: use its checkpoint.
        Err(crate::storage::StoreError::PreconditionFailed(_)) => {
            let (state, etag) = load_state(store, id).await?.context("checkpoint vanished")?;
            state.check_compatible(config, detector, &manifest.fingerprint)?;
            Ok((state, etag))
        }
        Err(e) => Err(e.into()),
    }
}

/// Sends the manifest's segments from `from_segment` on, and the end of the match once the manifest is
/// complete. Sending one twice is harmless: the queue drops duplicates and workers skip applied segments.
pub async fn enqueue<Q: SegmentQueue>(queue: &Q, manifest: &Manifest, from_segment: u64) -> anyhow::Result<()> {
    for index in from_segment..manifest.listed {
        queue.send(&Message::Segment { match_id: manifest.match_id.clone(), index }).await?;
    }
    if manifest.complete {
        queue.send(&Message::End { match_id: manifest.match_id.clone(), segments: manifest.listed }).await?;
    }
    Ok(())
}

/// What the worker did with a message.
#[derive(Debug)]
pub enum Outcome {
    /// `lag`: live only, seconds from receiving the segment's last frame to committing its results.
    Applied {
        index: u64,
        frames: u64,
        times: StageTimes,
        lag: Option<f64>,
    },
    /// Live: received `lag` seconds ago, over the match's bound; skipped, recorded as an event.
    Dropped {
        index: u64,
        lag: f64,
    },
    /// Already in the checkpoint (a duplicate or a redelivery): nothing written.
    AlreadyApplied {
        index: u64,
    },
    /// Ahead of the checkpoint: not applied; the earlier segments must come first.
    Ahead {
        index: u64,
        expected: u64,
    },
    Completed,
    /// An end message arrived before all segments were applied.
    NotYetComplete {
        done: u64,
        total: u64,
    },
}

impl Outcome {
    /// Whether the message is done with and leaves the queue. A segment ahead of the checkpoint and an
    /// early end of match are not: they must come back once the segments before them are applied.
    pub fn acknowledge(&self) -> bool {
        !matches!(self, Outcome::Ahead { .. } | Outcome::NotYetComplete { .. })
    }
}

/// The worker's step: applies one message to its match, idempotently. `config` is the worker's; the
/// segment length comes from the match's manifest. The first message of a match writes its checkpoint.
/// It reads the manifest, the one page of the segment list that holds its segment, and the checkpoint.
pub async fn handle<S: ObjectStore>(
    store: &S,
    models: &mut Models,
    config: &Config,
    message: &Message,
) -> anyhow::Result<Outcome> {
    let id = message.match_id();
    let manifest = load_manifest(store, id).await?.with_context(|| format!("match {id} has no manifest"))?;
    // The match's own calibration, given when it was started, wins over the worker's.
    let calibration = manifest.calibration.map(CalibrationMode::Fixed).or_else(|| config.calibration.clone());
    let config = Config { segment_seconds: manifest.segment_seconds, calibration, ..config.clone() };
    let (state, etag) = start(store, &manifest, &config, &models.detector.identity()).await?;
    let index = match message {
        Message::End { segments, .. } => {
            if state.next_segment < *segments {
                return Ok(Outcome::NotYetComplete { done: state.next_segment, total: *segments });
            }
            if state.status != Status::Complete {
                if manifest.annotate {
                    crate::annotate::end(store, &manifest).await?;
                }
                let done = MatchState { status: Status::Complete, ..state };
                store.put(&id.checkpoint_key(), done.to_json(), Condition::IfMatch(etag)).await?;
            }
            return Ok(Outcome::Completed);
        }
        Message::Segment { index, .. } => *index,
    };
    if index < state.next_segment {
        return Ok(Outcome::AlreadyApplied { index });
    }
    if index > state.next_segment {
        return Ok(Outcome::Ahead { index, expected: state.next_segment });
    }
    let mut listing = Listing::new(store, &manifest);
    let info = listing.get(index).await?.cloned().with_context(|| format!("match {id} has no segment {index}"))?;
    let (mut state, mut leading) = (state, Vec::new());
    state.live.last_received_at = info.received_at.or(state.live.last_received_at);
    if let Some(gap) = info.gap_seconds {
        leading.push(Event::discontinuity(EventKind::SourceGap, info.first_frame, state.fps, gap));
        state.possession.break_continuity();
        state.live.gaps += 1;
        state.live.gap_seconds += gap;
        state.next_frame = state.next_frame.max(info.first_frame);
    }
    let received = info.received_at.map(|at| unix_now() - at);
    if let (Some(lag), Some(bound)) = (received, manifest.max_lag_seconds)
        && lag > bound
    {
        let seconds = info.frames as f64 / state.fps;
        leading.push(Event::discontinuity(EventKind::SegmentDropped, info.first_frame, state.fps, seconds));
        state.possession.break_continuity();
        state.live.dropped_segments += 1;
        state.live.dropped_seconds += seconds;
        let next = MatchState { next_segment: index + 1, next_frame: info.first_frame + info.frames, ..state };
        let output = SegmentOutput {
            index,
            first_frame: info.first_frame,
            frames: Vec::new(),
            events: leading,
            stats: Default::default(),
        };
        commit(store, next, &output, etag).await?;
        return Ok(Outcome::Dropped { index, lag });
    }
    let video = store.get(&info.key).await?.with_context(|| format!("segment {} is missing from storage", info.key))?;
    let tmp = tempfile::Builder::new().suffix(".mp4").tempfile()?;
    std::fs::write(tmp.path(), &video.bytes)?;
    let frames = source::decode(tmp.path(), info.first_frame)?;
    if frames.len() as u64 != info.frames {
        anyhow::bail!("segment {index} decoded to {} frames, the manifest says {}", frames.len(), info.frames);
    }
    let (mut next, mut output, times) = pipeline::process_segment(models, state, &Segment { index, frames: &frames })?;
    output.events.splice(0..0, leading);
    if manifest.annotate {
        crate::annotate::segment(store, &manifest, &next, (&info, &frames, &output)).await?;
    }
    // The lag is measured as of the commit, less the two puts themselves.
    let lag = info.received_at.map(|at| unix_now() - at);
    if let Some(lag) = lag {
        next.live.record_lag(lag);
    }
    commit(store, next, &output, etag).await?;
    Ok(Outcome::Applied { index, frames: frames.len() as u64, times, lag })
}

/// The segment's output and the event pages it fills, then the checkpoint that counts them.
async fn commit<S: ObjectStore>(
    store: &S,
    mut state: MatchState,
    output: &SegmentOutput,
    etag: String,
) -> anyhow::Result<()> {
    let id = &state.match_id;
    store.put(&id.output_key(output.index), serde_json::to_vec(output)?, Condition::Always).await?;
    for (page, events) in state.events.append(&output.events) {
        store.put(&id.event_page_key(page), serde_json::to_vec(&events)?, Condition::Always).await?;
    }
    fault_point("before-checkpoint", output.index);
    store.put(&id.checkpoint_key(), state.to_json(), Condition::IfMatch(etag)).await?;
    fault_point("after-commit", output.index);
    Ok(())
}

/// The local mode's run of a video file: a thread cuts it into segments and enqueues each chunk as soon as
/// it is stored, while this one analyses them in order, so the first results are readable after the first
/// chunk, not after the whole file. A run that was stopped goes on where it stopped. Analysed segments are
/// deleted unless `keep_segments` (the video is on disk already). `progress` sees each commit.
pub async fn run_video<S: ObjectStore + 'static>(
    store: std::sync::Arc<S>,
    models: &mut Models,
    (id, video): (MatchId, Video),
    config: &Config,
    keep_segments: bool,
    progress: impl FnMut(&Outcome),
) -> anyhow::Result<MatchState> {
    // Refused before anything is cut: another video or other segments than the match was started with...
    let manifest = segment::stored_manifest(store.as_ref(), &id, config.segment_seconds, &video.fingerprint).await?;
    let state = load_state(store.as_ref(), &id).await?;
    if let Some((state, _)) = &state {
        // ...or another detector or other settings.
        state.check_compatible(config, &models.detector.identity(), &video.fingerprint)?;
        if state.status == Status::Complete {
            return Ok(state.clone());
        }
    }
    let queue = std::sync::Arc::new(LocalQueue::new());
    // The local queue lives in memory: what was listed but not analysed is enqueued again.
    if let Some(manifest) = manifest {
        enqueue(queue.as_ref(), &manifest, state.map_or(0, |(s, _)| s.next_segment)).await?;
    }
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let cutter = {
        let (store, queue, id, seconds) = (store.clone(), queue.clone(), id.clone(), config.segment_seconds);
        let stop = stop.clone();
        std::thread::spawn(move || -> anyhow::Result<Manifest> {
            // ffmpeg blocks the thread that waits for it: the cutting has a runtime of its own.
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(segment_and_enqueue(store.as_ref(), queue.as_ref(), &id, &video, seconds, &stop))
        })
    };
    let more = || !cutter.is_finished();
    let worked = work(store.as_ref(), queue.as_ref(), models, config, more, progress, keep_segments).await;
    // An analysis that failed stops the cutting after its current chunk.
    stop.store(worked.is_err(), Ordering::Relaxed);
    let cut = cutter.join().map_err(|_| anyhow::anyhow!("the segmenting thread panicked"))?;
    // The cutting's error first: it is the cause when both fail.
    cut?;
    worked?;
    Ok(load_state(store.as_ref(), &id).await?.context("checkpoint vanished")?.0)
}

/// Cuts a video into its match's segments, a chunk at a time, enqueuing each chunk once it is listed,
/// until the manifest is complete or `stop` is set (the manifest says where a later run goes on).
pub async fn segment_and_enqueue<S: ObjectStore, Q: SegmentQueue>(
    store: &S,
    queue: &Q,
    match_id: &MatchId,
    video: &Video,
    segment_seconds: f64,
    stop: &AtomicBool,
) -> anyhow::Result<Manifest> {
    loop {
        let (manifest, added) =
            segment::segment_step(store, match_id, video, segment_seconds, segment::CHUNK_SEGMENTS).await?;
        enqueue(queue, &manifest, added.first().map_or(manifest.listed, |s| s.index)).await?;
        if manifest.complete || stop.load(Ordering::Relaxed) {
            return Ok(manifest);
        }
    }
}

/// The local worker loop: applies messages until the match completes, or the queue is empty while
/// `more()` says no more can come (a segmenter still running says yes). A segment's video is deleted once
/// it is applied unless `keep_segments`.
pub async fn work<S: ObjectStore, Q: SegmentQueue>(
    store: &S,
    queue: &Q,
    models: &mut Models,
    config: &Config,
    more: impl Fn() -> bool,
    mut progress: impl FnMut(&Outcome),
    keep_segments: bool,
) -> anyhow::Result<()> {
    loop {
        let Some(delivery) = queue.receive().await? else {
            if !more() {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        let outcome = handle(store, models, config, &delivery.message).await;
        match &outcome {
            Ok(o) if o.acknowledge() => {
                queue.ack(&delivery.receipt).await?;
                tracing::info!(match_id = %delivery.message.match_id(), outcome = ?o, "message handled");
                if let (false, Message::Segment { match_id, index }) = (keep_segments, &delivery.message) {
                    store.delete(&match_id.segment_key(*index)).await?;
                }
                progress(o);
                if matches!(o, Outcome::Completed) {
                    return Ok(());
                }
            }
            Ok(Outcome::Ahead { index, expected }) => {
                queue.release(&delivery.receipt).await?;
                anyhow::bail!("segment {index} arrived before segment {expected}");
            }
            // The local queue holds every segment: an end before them all means some were lost.
            Ok(o) => anyhow::bail!("the queue ran dry before the match was complete: {o:?}"),
            Err(_) => queue.release(&delivery.receipt).await?,
        }
        outcome?;
    }
}

/// Deletes everything stored for a match.
pub async fn discard<S: ObjectStore>(store: &S, match_id: &MatchId) -> anyhow::Result<()> {
    // The checkpoint goes first so that a half-done discard never leaves a checkpoint without its outputs.
    store.delete(&match_id.checkpoint_key()).await?;
    for key in store.list(&match_id.prefix()).await? {
        store.delete(&key).await?;
    }
    Ok(())
}
