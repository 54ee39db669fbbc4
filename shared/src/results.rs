//! What a user reads: the match summary and the exports, from the last committed segment.
//!
//! The checkpoint is read first and outputs only up to it, so a reader during an analysis sees a
//! consistent prefix of the match.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::events::Event;
use crate::ids::MatchId;
use crate::pipeline::{FrameOutput, SegmentOutput};
use crate::segment::{Listing, Manifest, ManifestError, load_manifest};
use crate::state::{MatchState, StateError, Status};
use crate::stats::{self, StatsReport};
use crate::storage::{ObjectStore, StoreError};

/// Why a match's results cannot be read. `NotFound` is the reader's mistake; the others are the store's.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("no analysis of match {0}")]
    NotFound(MatchId),
    #[error("match {0} has a checkpoint but no manifest")]
    NoManifest(MatchId),
    #[error("match {0} was analysed without a pitch calibration, so it has no figures in metres")]
    NotCalibrated(MatchId),
    #[error("committed output {0} is missing")]
    MissingOutput(String),
    #[error("{key} is unreadable: {source}")]
    Unreadable { key: String, source: serde_json::Error },
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Per-team figures, team 0 and team 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PerTeam<T> {
    pub team_0: T,
    pub team_1: T,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub match_id: MatchId,
    /// `running` or `complete`.
    pub status: String,
    pub segments_done: u64,
    pub segments_total: u64,
    pub frames_done: u64,
    pub frames_total: u64,
    pub seconds_done: f64,
    /// Segments done over segments known, 0..1.
    pub progress: f64,
    /// How far behind the source the results are, in seconds: for a live stream, the time since the
    /// last analysed frame was received; otherwise, the received video not analysed yet.
    pub lag_seconds: f64,
    /// Live streams only: lag figures and what was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveSummary>,
    /// Share of the time with an owner, in percent.
    pub possession: PerTeam<f64>,
    pub passes: PerTeam<u64>,
    pub turnovers_won: PerTeam<u64>,
    /// Shirt colours, `#rrggbb`, once the teams are known.
    pub kits: Option<PerTeam<String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveSummary {
    /// Lag of each analysed segment as it was committed (commit time minus the time its last frame was
    /// received): the last one, the mean and the largest.
    pub last_lag_seconds: f64,
    pub mean_lag_seconds: f64,
    pub max_lag_seconds: f64,
    /// The bound the worker keeps the lag under by dropping segments.
    pub lag_bound_seconds: Option<f64>,
    pub dropped_segments: u64,
    pub dropped_seconds: f64,
    pub gaps: u64,
    pub gap_seconds: f64,
}

/// The summary as of `now` (Unix seconds; a live match's lag grows while nothing is committed). It needs
/// the checkpoint and the manifest's header only, the same few kilobytes at any point of a match.
pub fn summarise(state: &MatchState, manifest: &Manifest, now: f64) -> Summary {
    let (segments_total, frames_total) = (manifest.listed, manifest.frames);
    let live_lag = (state.status == Status::Running && manifest.live)
        .then_some(state.live.last_received_at)
        .flatten()
        .map(|at| (now - at).max(0.0));
    let l = &state.live;
    let live = manifest.live.then(|| LiveSummary {
        last_lag_seconds: l.last_lag,
        mean_lag_seconds: if l.segments == 0 { 0.0 } else { l.total_lag / l.segments as f64 },
        max_lag_seconds: l.max_lag,
        lag_bound_seconds: manifest.max_lag_seconds,
        dropped_segments: l.dropped_segments,
        dropped_seconds: l.dropped_seconds,
        gaps: l.gaps,
        gap_seconds: l.gap_seconds,
    });
    let p = &state.possession;
    let owned = (p.frames[0] + p.frames[1]) as f64;
    let pct = |f: u64| if owned > 0.0 { (1000.0 * f as f64 / owned).round() / 10.0 } else { 0.0 };
    let hex = |c: [f64; 3]| format!("#{:02x}{:02x}{:02x}", c[0].round() as u8, c[1].round() as u8, c[2].round() as u8);
    Summary {
        match_id: state.match_id.clone(),
        status: match state.status {
            Status::Running => "running",
            Status::Complete => "complete",
        }
        .into(),
        segments_done: state.next_segment,
        segments_total,
        frames_done: state.next_frame,
        frames_total,
        seconds_done: state.next_frame as f64 / state.fps,
        progress: if segments_total == 0 { 0.0 } else { state.next_segment as f64 / segments_total as f64 },
        lag_seconds: live_lag.unwrap_or(frames_total.saturating_sub(state.next_frame) as f64 / state.fps),
        live,
        possession: PerTeam { team_0: pct(p.frames[0]), team_1: pct(p.frames[1]) },
        passes: PerTeam { team_0: p.passes[0], team_1: p.passes[1] },
        turnovers_won: PerTeam { team_0: p.turnovers[0], team_1: p.turnovers[1] },
        kits: state.teams.kits.map(|k| PerTeam { team_0: hex(k[0]), team_1: hex(k[1]) }),
    }
}

/// The checkpoint, then the manifest: the checkpoint says how much is committed.
async fn load_match<S: ObjectStore>(store: &S, match_id: &MatchId) -> Result<(MatchState, Manifest), ResultsError> {
    let checkpoint = store.get(&match_id.checkpoint_key()).await?;
    let state =
        MatchState::from_json(match_id, &checkpoint.ok_or_else(|| ResultsError::NotFound(match_id.clone()))?.bytes)?;
    let manifest = load_manifest(store, match_id).await?.ok_or_else(|| ResultsError::NoManifest(match_id.clone()))?;
    Ok((state, manifest))
}

async fn read_json<S: ObjectStore, T: serde::de::DeserializeOwned>(store: &S, key: String) -> Result<T, ResultsError> {
    let obj = store.get(&key).await?.ok_or_else(|| ResultsError::MissingOutput(key.clone()))?;
    serde_json::from_slice(&obj.bytes).map_err(|source| ResultsError::Unreadable { key, source })
}

/// One committed segment's output.
pub async fn output<S: ObjectStore>(store: &S, id: &MatchId, index: u64) -> Result<SegmentOutput, ResultsError> {
    read_json(store, id.output_key(index)).await
}

/// Outputs of every committed segment.
async fn committed_outputs<S: ObjectStore>(store: &S, state: &MatchState) -> Result<Vec<SegmentOutput>, ResultsError> {
    let mut outputs = Vec::with_capacity(state.next_segment as usize);
    for index in 0..state.next_segment {
        outputs.push(output(store, &state.match_id, index).await?);
    }
    Ok(outputs)
}

fn summary_of((state, manifest): &(MatchState, Manifest)) -> Summary {
    summarise(state, manifest, crate::clock::unix_now())
}

pub async fn summary<S: ObjectStore>(store: &S, match_id: &MatchId) -> Result<Summary, ResultsError> {
    Ok(summary_of(&load_match(store, match_id).await?))
}

/// The summary and the outputs of every committed segment, read consistently.
pub async fn committed<S: ObjectStore>(
    store: &S,
    match_id: &MatchId,
) -> Result<(Summary, Vec<SegmentOutput>), ResultsError> {
    let found = load_match(store, match_id).await?;
    let outputs = committed_outputs(store, &found.0).await?;
    Ok((summary_of(&found), outputs))
}

/// The checkpointed state and the outputs of every committed segment, read consistently.
pub async fn committed_state<S: ObjectStore>(
    store: &S,
    match_id: &MatchId,
) -> Result<(MatchState, Vec<SegmentOutput>), ResultsError> {
    let (state, _) = load_match(store, match_id).await?;
    let outputs = committed_outputs(store, &state).await?;
    Ok((state, outputs))
}

/// Per-player and per-team figures on the pitch, from the checkpoint alone.
pub async fn stats<S: ObjectStore>(store: &S, match_id: &MatchId) -> Result<StatsReport, ResultsError> {
    let (state, _) = load_match(store, match_id).await?;
    stats_of(&state)
}

/// The figures on the pitch of a loaded match's state.
pub fn stats_of(state: &MatchState) -> Result<StatsReport, ResultsError> {
    let calibration = state.config.calibration.as_ref();
    let pitch = calibration.ok_or_else(|| ResultsError::NotCalibrated(state.match_id.clone()))?.pitch();
    Ok(stats::report(&state.stats, pitch, state.fps))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

/// The files of a CSV export's folder.
const CSV_FILES: [&str; 3] = ["positions.csv", "events.csv", "summary.json"];

/// JSON: one file with summary, per-frame positions and events. CSV: `out` is a folder receiving
/// `positions.csv`, `events.csv` and `summary.json`. Read a segment at a time, so that memory stays flat
/// whatever the match's length (only the events, a few per minute, are held). Written beside `out` and
/// moved into place when complete (`staging`).
pub async fn export<S: ObjectStore>(store: &S, id: &MatchId, format: Format, out: &Path) -> anyhow::Result<Summary> {
    let found = load_match(store, id).await?;
    let summary = summary_of(&found);
    match format {
        Format::Json => {
            let staged = crate::staging::file(out)?;
            let mut file = std::io::BufWriter::new(staged.as_file());
            file.write_all(b"{\"summary\":")?;
            serde_json::to_writer(&mut file, &summary)?;
            file.write_all(b",\"frames\":[")?;
            let mut first = true;
            let events = each_frame(store, id, found.0.next_segment, |frame| {
                if !std::mem::take(&mut first) {
                    file.write_all(b",")?;
                }
                Ok(serde_json::to_writer(&mut file, frame)?)
            })
            .await?;
            file.write_all(b"],\"events\":")?;
            serde_json::to_writer(&mut file, &events)?;
            file.write_all(b"}")?;
            file.flush()?;
            drop(file);
            crate::staging::put_file(staged, out)?;
        }
        Format::Csv => {
            let staged = crate::staging::folder(out, &CSV_FILES)?;
            let dir = staged.path();
            let mut pos = csv::Writer::from_path(dir.join("positions.csv"))?;
            pos.write_record(POSITION_COLUMNS)?;
            let events = each_frame(store, id, found.0.next_segment, |frame| write_positions(&mut pos, frame)).await?;
            pos.flush()?;
            let mut ev = csv::Writer::from_path(dir.join("events.csv"))?;
            ev.write_record(["kind", "frame", "time", "team", "from_track", "to_track", "start_frame", "seconds"])?;
            for e in &events {
                let kind = serde_json::to_value(e.kind)?;
                ev.serialize((
                    kind.as_str(),
                    e.frame,
                    e.time,
                    e.team,
                    e.from_track,
                    e.to_track,
                    e.start_frame,
                    e.seconds,
                ))?;
            }
            ev.flush()?;
            std::fs::write(dir.join("summary.json"), serde_json::to_vec_pretty(&summary)?)?;
            crate::staging::put_folder(staged, out)?;
        }
    }
    Ok(summary)
}

/// Hands each frame of the first `segments` segments to `write`, a segment in memory at a time; their
/// events, in order.
async fn each_frame<S: ObjectStore>(
    store: &S,
    id: &MatchId,
    segments: u64,
    mut write: impl FnMut(&FrameOutput) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<Event>> {
    let mut events = Vec::new();
    for index in 0..segments {
        let segment = output(store, id, index).await?;
        segment.frames.iter().try_for_each(&mut write)?;
        events.extend(segment.events);
    }
    Ok(events)
}

/// The columns of a position row, in CSV and Parquet alike.
pub(crate) const POSITION_COLUMNS: [&str; 13] = [
    "frame",
    "time",
    "track_id",
    "team",
    "role",
    "x1",
    "y1",
    "x2",
    "y2",
    "confidence",
    "has_ball",
    "pitch_x",
    "pitch_y",
];

/// A frame's rows of `positions.csv`: its people, then the ball.
fn write_positions(pos: &mut csv::Writer<std::fs::File>, f: &FrameOutput) -> anyhow::Result<()> {
    for o in &f.objects {
        let b = o.bbox;
        pos.serialize((
            f.frame,
            f.time,
            o.track_id,
            o.team,
            o.role.name(),
            b.x1,
            b.y1,
            b.x2,
            b.y2,
            o.confidence,
            f.owner == Some(o.track_id),
            o.pitch.map(|p| p[0]),
            o.pitch.map(|p| p[1]),
        ))?;
    }
    if let Some(ball) = f.ball {
        pos.serialize((
            f.frame,
            f.time,
            "ball",
            None::<u8>,
            "ball",
            ball.x,
            ball.y,
            ball.x,
            ball.y,
            None::<f64>,
            false,
            f.ball_pitch.map(|p| p[0]),
            f.ball_pitch.map(|p| p[1]),
        ))?;
    }
    Ok(())
}

/// One page of a longer list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: usize,
    pub per_page: usize,
    /// Items in the whole filtered list.
    pub total: usize,
}

/// The most items one page may ask for.
pub const MAX_PER_PAGE: usize = 1000;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EventFilter {
    #[serde(rename = "type")]
    pub kind: Option<crate::events::EventKind>,
    /// Seconds from the start of the match.
    pub from: Option<f64>,
    pub to: Option<f64>,
}

/// Events of the committed part of a match, filtered by type and time. Read from the checkpoint's event
/// log: only the stored pages that the page asked for takes events from, and at most the two that straddle
/// the time bounds (to count them), are read.
pub async fn events<S: ObjectStore>(
    store: &S,
    match_id: &MatchId,
    filter: &EventFilter,
    page: usize,
    per_page: usize,
) -> Result<Page<Event>, ResultsError> {
    let (state, _) = load_match(store, match_id).await?;
    let fps = state.fps;
    let from = filter.from.map_or(0, |t| (t.max(0.0) * fps).floor() as u64);
    let to = filter.to.map_or(u64::MAX, |t| (t.max(0.0) * fps).ceil() as u64);
    let wanted = |e: &Event| filter.kind.is_none_or(|k| e.kind == k) && (from..=to).contains(&e.frame);
    let log = &state.events;
    // How many wanted events each stored page holds; pages that straddle a bound are read to count.
    let mut read: std::collections::BTreeMap<usize, Vec<Event>> = Default::default();
    let mut counts = Vec::with_capacity(log.closed.len() + 1);
    for (n, p) in log.closed.iter().enumerate() {
        let of_kind = p.count(filter.kind) as usize;
        let count = if of_kind == 0 || p.last_frame < from || p.first_frame > to {
            0
        } else if from <= p.first_frame && p.last_frame <= to {
            of_kind
        } else {
            let events = stored_events(store, match_id, n, wanted).await?;
            let count = events.len();
            read.insert(n, events);
            count
        };
        counts.push(count);
    }
    let open: Vec<Event> = log.open.iter().filter(|e| wanted(e)).cloned().collect();
    counts.push(open.len());
    let per_page = per_page.clamp(1, MAX_PER_PAGE);
    let total: usize = counts.iter().sum();
    let (skip, mut items) = (page.saturating_mul(per_page), Vec::new());
    let mut before = 0;
    for (n, &count) in counts.iter().enumerate() {
        let (start, end) = (before, before + count);
        before = end;
        if count == 0 || end <= skip || start >= skip + per_page {
            continue;
        }
        let events = if n == log.closed.len() {
            open.clone()
        } else if let Some(events) = read.remove(&n) {
            events
        } else {
            stored_events(store, match_id, n, wanted).await?
        };
        let lo = skip.saturating_sub(start);
        items.extend(events.into_iter().skip(lo).take(skip + per_page - start.max(skip)));
    }
    Ok(Page { items, page, per_page, total })
}

/// The wanted events of stored page `n` of a match's event log.
async fn stored_events<S: ObjectStore>(
    store: &S,
    match_id: &MatchId,
    n: usize,
    wanted: impl Fn(&Event) -> bool,
) -> Result<Vec<Event>, ResultsError> {
    let events: Vec<Event> = read_json(store, match_id.event_page_key(n as u64)).await?;
    Ok(events.into_iter().filter(wanted).collect())
}

/// Per-frame positions of the committed part of a match, frames `from..=to`, paged by frame number: page
/// `n` holds frames `from + n * per_page` on (a live match has none where it lost or dropped video).
/// `total` counts the frame numbers in the committed range. Only the outputs of the segments that hold the
/// page's frames are read, found by a binary search in the segment list.
pub async fn positions<S: ObjectStore>(
    store: &S,
    match_id: &MatchId,
    from: u64,
    to: u64,
    page: usize,
    per_page: usize,
) -> Result<Page<FrameOutput>, ResultsError> {
    let (state, manifest) = load_match(store, match_id).await?;
    let per_page = per_page.clamp(1, MAX_PER_PAGE);
    let last = to.min(state.next_frame.saturating_sub(1));
    let total = if state.next_frame == 0 || from > last { 0 } else { (last - from + 1) as usize };
    let first = from.saturating_add((page as u64).saturating_mul(per_page as u64));
    let end = first.saturating_add(per_page as u64 - 1).min(last);
    let mut items = Vec::new();
    if total > 0 && first <= end {
        let mut listing = Listing::new(store, &manifest);
        let mut index = listing.first_ending_after(first, state.next_segment).await?;
        while index < state.next_segment {
            let Some(seg) = listing.get(index).await? else { break };
            if seg.first_frame > end {
                break;
            }
            let out = output(store, match_id, index).await?;
            items.extend(out.frames.into_iter().filter(|f| (first..=end).contains(&f.frame)));
            index += 1;
        }
    }
    Ok(Page { items, page, per_page, total })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventKind;
    use crate::segment::SegmentInfo;
    use crate::state::Config;
    use crate::storage::{Condition, LocalStore};

    const KINDS: [EventKind; 3] = [EventKind::Pass, EventKind::Turnover, EventKind::PossessionChange];

    /// A committed match of `segments` segments of 50 frames, one frame each, and its events, stored as
    /// the worker's commit stores them.
    async fn match_with_events(store: &LocalStore, segments: u64) -> (MatchState, Vec<Event>) {
        let id = MatchId::new("m").unwrap();
        let mut manifest = Manifest {
            frames: 50 * segments,
            complete: true,
            ..Manifest::new(id.clone(), ("m.mp4".into(), "md5:m".into()), (64, 36, 25.0), 2.0)
        };
        let entry = |i: u64| SegmentInfo {
            index: i,
            key: id.segment_key(i),
            first_frame: 50 * i,
            frames: 50,
            start_time: 2.0 * i as f64,
            source_end: None,
            received_at: None,
            gap_seconds: None,
        };
        crate::segment::list(store, &mut manifest, &(0..segments).map(entry).collect::<Vec<_>>()).await.unwrap();
        let mut state = MatchState::new(id.clone(), Config::default(), "t".into(), "md5:m".into(), 25.0, 64, 36);
        let mut all = Vec::new();
        for i in 0..segments {
            // Uneven counts, so pages and segments do not line up.
            let events: Vec<Event> = (0..(i * 7) % 11)
                .map(|k| Event::discontinuity(KINDS[((i + k) % 3) as usize], 50 * i + 3 * k, 25.0, 0.0))
                .collect();
            let frames = (0..50)
                .map(|f| FrameOutput {
                    frame: 50 * i + f,
                    time: (50 * i + f) as f64 / 25.0,
                    objects: Vec::new(),
                    ball: None,
                    owner: None,
                    ball_pitch: None,
                })
                .collect();
            let output = SegmentOutput { index: i, first_frame: 50 * i, frames, events, stats: Default::default() };
            store.put(&id.output_key(i), serde_json::to_vec(&output).unwrap(), Condition::Always).await.unwrap();
            for (page, events) in state.events.append(&output.events) {
                store
                    .put(&id.event_page_key(page), serde_json::to_vec(&events).unwrap(), Condition::Always)
                    .await
                    .unwrap();
            }
            all.extend(output.events);
        }
        state.next_segment = segments;
        state.next_frame = 50 * segments;
        store.put(&id.checkpoint_key(), state.to_json(), Condition::Always).await.unwrap();
        (state, all)
    }

    #[tokio::test]
    async fn event_pages_equal_the_filtered_list_of_every_event_whatever_the_filter() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let (state, all) = match_with_events(&store, 40).await;
        assert!(state.events.closed.len() >= 2, "the log spans stored pages and the open one");
        let id = state.match_id.clone();
        for kind in [None, Some(EventKind::Pass), Some(EventKind::Turnover)] {
            for (from, to) in [(None, None), (Some(10.0), Some(55.5)), (Some(0.0), Some(1.0)), (Some(79.0), None)] {
                let filter = EventFilter { kind, from, to };
                let (lo, hi) =
                    (from.map_or(0, |t| (t * 25.0) as u64), to.map_or(u64::MAX, |t| (t * 25.0).ceil() as u64));
                let want: Vec<&Event> =
                    all.iter().filter(|e| kind.is_none_or(|k| e.kind == k) && (lo..=hi).contains(&e.frame)).collect();
                for per_page in [1, 7, 64, 100] {
                    let mut got = Vec::new();
                    for page in 0..=want.len() / per_page + 1 {
                        let p = events(&store, &id, &filter, page, per_page).await.unwrap();
                        assert_eq!(p.total, want.len(), "{filter:?} page {page} of {per_page}");
                        got.extend(p.items);
                    }
                    assert_eq!(got.iter().collect::<Vec<_>>(), want, "{filter:?} in pages of {per_page}");
                }
            }
        }
    }

    #[tokio::test]
    async fn position_pages_hold_their_frames_and_read_only_the_segments_holding_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let (state, _) = match_with_events(&store, 40).await;
        let id = state.match_id.clone();
        let p = positions(&store, &id, 0, u64::MAX, 0, 100).await.unwrap();
        assert_eq!(p.total, 2000);
        assert_eq!(p.items.iter().map(|f| f.frame).collect::<Vec<_>>(), (0..100).collect::<Vec<_>>());
        let p = positions(&store, &id, 1234, 1400, 1, 60).await.unwrap();
        assert_eq!((p.total, p.items.first().map(|f| f.frame), p.items.len()), (167, Some(1294), 60));
        let p = positions(&store, &id, 1990, u64::MAX, 0, 100).await.unwrap();
        assert_eq!(p.items.iter().map(|f| f.frame).collect::<Vec<_>>(), (1990..2000).collect::<Vec<_>>());
        // The segments away from the page are never read: gone, they change nothing.
        for i in (0..40).filter(|i| !(24..=28).contains(i)) {
            store.delete(&id.output_key(i)).await.unwrap();
        }
        let p = positions(&store, &id, 1234, 1400, 0, 100).await.unwrap();
        assert_eq!(p.items.iter().map(|f| f.frame).collect::<Vec<_>>(), (1234..1334).collect::<Vec<_>>());
        assert_eq!(positions(&store, &id, 5000, u64::MAX, 0, 100).await.unwrap().total, 0);
    }
}
