//! Segmenting a URL source while it plays. Each segment ffmpeg closes is stored, listed in the manifest
//! and enqueued at once, so the analysis runs a few seconds behind a live stream.
//!
//! The manifest is the progress. A VOD source (an http file, an HLS VOD, a finished YouTube match)
//! resumes at the end of its last listed segment with a seek, so the segments and the results equal an
//! uninterrupted run's. A live source resumes at the live edge, and the first segment after the break
//! records how much of the stream was lost. A connection that drops is retried with backoff for
//! `reconnect_seconds`; a live stream that does not come back within that time has ended.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::{Manifest, SegmentInfo, claim, save_manifest, stored_manifest};
use crate::clock::unix_now;
use crate::ids::MatchId;
use crate::queue::{Message, SegmentQueue};
use crate::source::resolve::{self, Media};
use crate::source::stream::{Closed, CutOptions, StreamCut};
use crate::source::url::{Source, SourceKind};
use crate::source::{self, SourceError};
use crate::storage::{Condition, ObjectStore};

#[derive(Clone, Debug)]
pub struct FollowOptions {
    pub segment_seconds: f64,
    /// Live only: the worker drops a segment received longer ago than this (the lag stays bounded).
    pub max_lag_seconds: Option<f64>,
    /// After a drop, how long to keep reconnecting before giving up (a live stream has then ended).
    pub reconnect_seconds: f64,
    /// A connection silent this long counts as dropped.
    pub io_timeout: f64,
    /// Stop in time to hand over before this instant (a Lambda invocation's end).
    pub deadline: Option<Instant>,
    /// Return `Followed::Live` as soon as the source turns out to be live, having stored nothing.
    pub hand_over_live: bool,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            segment_seconds: 3.0,
            max_lag_seconds: Some(30.0),
            reconnect_seconds: 60.0,
            io_timeout: 10.0,
            deadline: None,
            hand_over_live: false,
        }
    }
}

#[derive(Debug)]
pub enum Followed {
    /// The source has been read to its end.
    Complete(Manifest),
    /// Out of time (`deadline`); a later call goes on from the manifest.
    Paused(Manifest),
    /// The source is live and `hand_over_live` was asked.
    Live,
}

/// Errors that another try will not mend: no such video, no permission, not a video, no protocol.
fn permanent(errors: &[String]) -> bool {
    const SIGNS: [&str; 7] = [
        "Server returned 4",
        "404",
        "403",
        "Invalid data found",
        "Protocol not found",
        "not supported",
        "No such file",
    ];
    errors.iter().any(|e| SIGNS.iter().any(|s| e.contains(s)))
}

/// Segments `source` into the match's manifest, enqueuing each new segment, until the source ends,
/// the deadline nears, or the source fails for good.
pub async fn follow<S: ObjectStore, Q: SegmentQueue>(
    store: &S,
    queue: &Q,
    match_id: &MatchId,
    source: &Source,
    opts: &FollowOptions,
) -> anyhow::Result<Followed> {
    let fingerprint = format!("url:{}", source.location);
    let mut manifest = stored_manifest(store, match_id, opts.segment_seconds, &fingerprint).await?;
    if let Some(m) = manifest.as_ref().filter(|m| m.complete) {
        return Ok(Followed::Complete(m.clone()));
    }
    let media = resolve::media(source)?;
    // Known live without connecting (RTMP, RTSP, or as yt-dlp says; a publisher may serve one player
    // only), or a match already found live: to the live segmenter (a task that stopped starts again).
    let known_live = media.live == Some(true) || manifest.as_ref().is_some_and(|m| m.live);
    if opts.hand_over_live && known_live {
        return Ok(Followed::Live);
    }
    let work = tempfile::tempdir()?;
    let cutter = Cutter { store, queue, match_id, source, media, opts, fingerprint };
    let mut last_progress = Instant::now();
    let mut backoff = Duration::from_millis(500);
    let mut last_errors: Vec<String>;
    let mut run = 0;
    loop {
        run += 1;
        let dir = work.path().join(format!("run{run}"));
        let segments_before = manifest.as_ref().map_or(0, |m| m.listed);
        match cutter.run_once(&mut manifest, &dir).await? {
            RunEnd::Complete => {
                let m = manifest.as_mut().context("the source ended before its first segment")?;
                return Ok(Followed::Complete(cutter.complete(m).await?));
            }
            RunEnd::Paused => {
                let m = manifest.context("out of time before the first segment")?;
                return Ok(Followed::Paused(m));
            }
            RunEnd::Live => return Ok(Followed::Live),
            RunEnd::Restart => continue,
            RunEnd::Dropped(errors) => last_errors = errors,
        }
        if manifest.as_ref().map_or(0, |m| m.listed) > segments_before {
            last_progress = Instant::now();
            backoff = Duration::from_millis(500);
        }
        let started = manifest.as_ref().is_some_and(|m| m.listed > 0);
        let window = if started { opts.reconnect_seconds } else { opts.reconnect_seconds.min(10.0) };
        let reason = source::reason(&last_errors);
        if !started && permanent(&last_errors) {
            return Err(SourceError::Unreadable { url: source.location.clone(), reason }.into());
        }
        if last_progress.elapsed().as_secs_f64() + backoff.as_secs_f64() > window {
            match manifest.as_mut() {
                Some(m) if m.live => {
                    tracing::info!(match_id = %match_id, "no data for {window} s: the live stream has ended");
                    return Ok(Followed::Complete(cutter.complete(m).await?));
                }
                Some(m) if m.listed > 0 => anyhow::bail!(
                    "lost {} after {:.1} s and could not reconnect within {window} s ({reason}); run again to resume",
                    source.location,
                    m.last.as_ref().map_or(0.0, |s| s.source_end.unwrap_or(0.0))
                ),
                _ => return Err(SourceError::Unreadable { url: source.location.clone(), reason }.into()),
            }
        }
        tracing::warn!(match_id = %match_id, %reason, "source dropped; reconnecting in {:?}", backoff);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}

/// One ffmpeg run: where it started in a VOD, when it connected (wall clock), and whether it follows a
/// break (a dropped connection, a restarted segmenter), so that its first segment may follow a gap.
struct Run {
    seek: f64,
    began: f64,
    after_break: bool,
}

enum RunEnd {
    /// ffmpeg read the source to its end.
    Complete,
    Paused,
    Live,
    /// Switched to re-encoding: read again from the last segment's end.
    Restart,
    /// The connection failed or ended without an end of stream.
    Dropped(Vec<String>),
}

struct Cutter<'a, S, Q> {
    store: &'a S,
    queue: &'a Q,
    match_id: &'a MatchId,
    source: &'a Source,
    media: Media,
    opts: &'a FollowOptions,
    fingerprint: String,
}

impl<S: ObjectStore, Q: SegmentQueue> Cutter<'_, S, Q> {
    /// One ffmpeg run, from where the manifest ends.
    async fn run_once(&self, manifest: &mut Option<Manifest>, dir: &Path) -> anyhow::Result<RunEnd> {
        let resuming_live = manifest.as_ref().is_some_and(|m| m.live && m.listed > 0);
        let seek = manifest.as_ref().filter(|m| !m.live).and_then(|m| m.last.as_ref()).and_then(|s| s.source_end);
        let reencode = manifest.as_ref().is_some_and(|m| m.reencoded);
        let options =
            CutOptions { segment_seconds: self.opts.segment_seconds, seek, reencode, io_timeout: self.opts.io_timeout };
        let mut run = Run { seek: seek.unwrap_or(0.0), began: unix_now(), after_break: resuming_live };
        let mut cut = StreamCut::start(&self.media, dir, &options)?;
        let seek = run.seek;
        loop {
            let finished = cut.finished();
            // A VOD resumed at its very end: ffmpeg would seek back to the last keyframe and cut it again.
            if let (true, Some(length)) = (seek > 0.0, cut.observed().duration)
                && length > 0.0
                && seek >= length - 0.01
            {
                return Ok(RunEnd::Complete);
            }
            if self.opts.hand_over_live && manifest.is_none() {
                let seen = cut.observed();
                if seen.video.is_some() && self.is_live(seen.duration) {
                    return Ok(RunEnd::Live);
                }
            }
            for closed in cut.closed() {
                if !self.add(manifest, &cut, &closed, &mut run).await? {
                    return Ok(RunEnd::Restart);
                }
            }
            if finished {
                let clean = cut.wait();
                // A last segment may have been listed as ffmpeg exited.
                for closed in cut.closed() {
                    if !self.add(manifest, &cut, &closed, &mut run).await? {
                        return Ok(RunEnd::Restart);
                    }
                }
                // ffmpeg ends a live HLS stream whose playlist fails to reload as quietly as one that
                // reached its end tag: a live end is only believed once a reconnection finds the playlist
                // finished (with a length). RTMP and RTSP never say; their end is the reconnection window.
                let ended = clean && !self.is_live(cut.observed().duration);
                return Ok(if ended { RunEnd::Complete } else { RunEnd::Dropped(cut.observed().errors) });
            }
            // Stop while another segment and the hand-over still fit; the unfinished one is cut again.
            let margin = Duration::from_secs_f64(2.0 * self.opts.segment_seconds + 5.0);
            if self.opts.deadline.is_some_and(|d| d.saturating_duration_since(Instant::now()) < margin) {
                return Ok(RunEnd::Paused);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn is_live(&self, duration: Option<f64>) -> bool {
        self.media.live.unwrap_or_else(|| self.source.kind.always_live() || !duration.is_some_and(|d| d > 0.0))
    }

    /// Stores one closed segment, lists it and enqueues it. False when it is too long for a stream
    /// copy: the manifest switches to re-encoding and the segment is cut again.
    async fn add(
        &self,
        manifest: &mut Option<Manifest>,
        cut: &StreamCut,
        closed: &Closed,
        run: &mut Run,
    ) -> anyhow::Result<bool> {
        let fresh = manifest.is_none();
        let frames = source::count_frames(&closed.path)?;
        let m = match manifest {
            Some(m) => m,
            None => {
                // The first segment tells the match's size and frame rate.
                let info = source::probe(&closed.path)?;
                let (id, source) = (self.match_id.clone(), self.source.location.clone());
                let size = (info.width, info.height, info.fps);
                manifest.insert(Manifest {
                    live: self.is_live(cut.observed().duration),
                    ..Manifest::new(id, (source, self.fingerprint.clone()), size, self.opts.segment_seconds)
                })
            }
        };
        if m.live {
            m.max_lag_seconds = self.opts.max_lag_seconds;
        }
        if fresh {
            claim(self.store, m).await?;
        }
        if frames as f64 / m.fps > 5.001 && !m.reencoded {
            tracing::info!(match_id = %self.match_id, "keyframes too sparse for {} s segments: re-encoding", m.segment_seconds);
            m.reencoded = true;
            save_manifest(self.store, m).await?;
            return Ok(false);
        }
        let now = unix_now();
        // A VOD is placed from its seek point; a live HLS stream in its own timeline (it survives a
        // reconnection); other live streams from where this run began reading.
        let offset = match (m.live, self.media.kind) {
            (false, _) => run.seek,
            (true, SourceKind::Hls) => cut.observed().start.unwrap_or(0.0),
            (true, _) => 0.0,
        };
        let source_end = offset + closed.end;
        // The list starts a run's first segment at the output's zero, which precedes its first frame by
        // the decoder delay; later segments start exactly where the one before ended.
        let source_start = if closed.start > 0.0 { offset + closed.start } else { source_end - frames as f64 / m.fps };
        // A new RTMP/RTSP session starts a new timeline, at about the time it connected; an HLS stream
        // keeps its own.
        let restarted =
            (std::mem::take(&mut run.after_break) && self.media.kind != SourceKind::Hls).then_some(run.began);
        let (first_frame, gap) = match place(m, (source_start, source_end), restarted) {
            Some(placed) => placed,
            None => {
                tracing::info!(match_id = %self.match_id, source_end, "segment already listed (rejoined the stream before where it left): skipped");
                return Ok(true);
            }
        };
        let index = m.listed;
        let key = self.match_id.segment_key(index);
        self.store.put(&key, std::fs::read(&closed.path)?, Condition::Always).await?;
        let entry = SegmentInfo {
            index,
            key,
            first_frame,
            frames,
            start_time: first_frame as f64 / m.fps,
            source_end: Some(source_end),
            received_at: m.live.then_some(now),
            gap_seconds: gap,
        };
        m.frames = first_frame + frames;
        super::list(self.store, m, &[entry]).await?;
        self.queue.send(&Message::Segment { match_id: self.match_id.clone(), index }).await?;
        std::fs::remove_file(&closed.path).ok();
        crate::clock::fault_point("segmented", index);
        Ok(true)
    }

    async fn complete(&self, m: &mut Manifest) -> anyhow::Result<Manifest> {
        m.complete = true;
        save_manifest(self.store, m).await?;
        self.queue.send(&Message::End { match_id: self.match_id.clone(), segments: m.listed }).await?;
        Ok(m.clone())
    }
}

/// Where a new segment goes in the match, from its span in the source's timeline: its first frame and
/// the seconds lost before it; `None` when the match already has it (an HLS stream rejoined a few
/// segments back). Live streams jump over what was lost, so frame numbers keep to the match clock. A
/// stream `restarted` (a new timeline, connected at that wall-clock time) can only measure the loss by
/// the wall clock: from the last segment's arrival to the reconnection.
fn place(m: &Manifest, (source_start, source_end): (f64, f64), restarted: Option<f64>) -> Option<(u64, Option<f64>)> {
    let Some(last) = &m.last else { return Some((0, None)) };
    let end = last.first_frame + last.frames;
    let half_frame = 0.5 / m.fps;
    let gap = match (restarted, last.source_end) {
        (Some(connected), _) => Some((connected - last.received_at.unwrap_or(connected)).max(0.0)),
        (None, None) => None,
        (None, Some(last_end)) => {
            if source_end <= last_end + half_frame {
                return None;
            }
            let lost = source_start - last_end;
            (m.live && lost > 3.0 * half_frame).then_some(lost)
        }
    };
    Some((end + gap.map_or(0, |g| (g * m.fps).round() as u64), gap))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(last_end: Option<f64>) -> Manifest {
        let id = MatchId::new("m").unwrap();
        let seg = SegmentInfo {
            index: 0,
            key: id.segment_key(0),
            first_frame: 0,
            frames: 50,
            start_time: 0.0,
            source_end: last_end,
            received_at: Some(100.0),
            gap_seconds: None,
        };
        Manifest {
            frames: 50,
            listed: 1,
            last: Some(seg),
            live: true,
            ..Manifest::new(id, ("http://x/live.m3u8".into(), "url:x".into()), (480, 270, 25.0), 2.0)
        }
    }

    #[test]
    fn a_live_segment_is_placed_by_the_source_timeline_when_it_continues() {
        let m = manifest(Some(3.48));
        assert_eq!(place(&m, (3.48, 5.48), None), Some((50, None)), "contiguous");
        assert_eq!(place(&m, (1.48, 3.48), None), None, "a repeat of the last segment");
        assert_eq!(place(&m, (-0.52, 1.48), None), None, "rejoined further back");
        let (first, gap) = place(&m, (9.48, 11.48), None).unwrap();
        assert_eq!((first, gap.map(|g| (g * 100.0).round() / 100.0)), (200, Some(6.0)), "6 s lost");
    }

    #[test]
    fn after_a_new_timeline_the_gap_is_measured_by_the_wall_clock() {
        let m = manifest(Some(3.48));
        // Received at 100 s; reconnected at 103 s: 3 s lost, whatever the new timeline says.
        let (first, gap) = place(&m, (0.0, 2.0), Some(103.0)).unwrap();
        assert_eq!((first, gap), (50 + 75, Some(3.0)));
    }

    #[test]
    fn vod_segments_follow_each_other_without_gaps() {
        let mut m = manifest(Some(2.08));
        m.live = false;
        assert_eq!(place(&m, (2.08, 4.08), None), Some((50, None)));
    }

    #[test]
    fn a_short_last_segment_whose_end_runs_long_is_no_gap() {
        // A publisher's last two frames, listed as ending 0.2 s after the segment before.
        let m = manifest(Some(10.08));
        assert_eq!(place(&m, (10.08, 10.28), None), Some((50, None)));
    }
}
