//! What a user reads: the match summary and the exports, from the last committed segment.
//!
//! The checkpoint is read first and outputs only up to it, so a reader during an analysis sees a
//! consistent prefix of the match.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::events::Event;
use crate::ids::MatchId;
use crate::pipeline::{FrameOutput, SegmentOutput};
use crate::segment::{Manifest, ManifestError, load_manifest};
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

/// The summary as of `now` (Unix seconds; a live match's lag grows while nothing is committed).
pub fn summarise(state: &MatchState, manifest: &Manifest, now: f64) -> Summary {
    let (segments_total, frames_total) = (manifest.segments.len() as u64, manifest.frames);
    let live_lag = (state.status == Status::Running && manifest.live)
        .then(|| {
            state
                .next_segment
                .checked_sub(1)
                .and_then(|i| manifest.segments.get(i as usize))
                .and_then(|s| s.received_at)
        })
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

/// Outputs of the committed segments that overlap frames `from..=to`.
async fn committed_outputs<S: ObjectStore>(
    store: &S,
    (state, manifest): &(MatchState, Manifest),
    from: u64,
    to: u64,
) -> Result<Vec<SegmentOutput>, ResultsError> {
    let mut outputs = Vec::new();
    for seg in manifest.segments.iter().take(state.next_segment as usize) {
        if seg.first_frame + seg.frames <= from || seg.first_frame > to {
            continue;
        }
        let key = manifest.match_id.output_key(seg.index);
        let obj = store.get(&key).await?.ok_or_else(|| ResultsError::MissingOutput(key.clone()))?;
        outputs.push(serde_json::from_slice(&obj.bytes).map_err(|source| ResultsError::Unreadable { key, source })?);
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
    Ok((summary_of(&found), committed_outputs(store, &found, 0, u64::MAX).await?))
}

/// The checkpointed state and the outputs of every committed segment, read consistently.
pub async fn committed_state<S: ObjectStore>(
    store: &S,
    match_id: &MatchId,
) -> Result<(MatchState, Vec<SegmentOutput>), ResultsError> {
    let found = load_match(store, match_id).await?;
    let outputs = committed_outputs(store, &found, 0, u64::MAX).await?;
    Ok((found.0, outputs))
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
    Ok(stats::report(&state.stats, pitch))
}

#[derive(Serialize)]
struct JsonExport<'a> {
    summary: &'a Summary,
    frames: Vec<&'a FrameOutput>,
    events: Vec<&'a Event>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
}

/// JSON: one file with summary, per-frame positions and events. CSV: `out` is a folder receiving
/// `positions.csv`, `events.csv` and `summary.json`.
pub fn export(summary: &Summary, outputs: &[SegmentOutput], format: Format, out: &Path) -> anyhow::Result<()> {
    let frames = outputs.iter().flat_map(|o| &o.frames);
    let events = outputs.iter().flat_map(|o| &o.events);
    match format {
        Format::Json => {
            let doc = JsonExport { summary, frames: frames.collect(), events: events.collect() };
            let mut file = std::io::BufWriter::new(
                std::fs::File::create(out).with_context(|| format!("cannot write {}", out.display()))?,
            );
            serde_json::to_writer(&mut file, &doc)?;
            file.flush()?;
        }
        Format::Csv => {
            std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
            let mut pos = csv::Writer::from_path(out.join("positions.csv"))?;
            pos.write_record([
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
            ])?;
            for f in frames {
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
            }
            pos.flush()?;
            let mut ev = csv::Writer::from_path(out.join("events.csv"))?;
            ev.write_record(["kind", "frame", "time", "team", "from_track", "to_track", "start_frame", "seconds"])?;
            for e in events {
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
            std::fs::write(out.join("summary.json"), serde_json::to_vec_pretty(summary)?)?;
        }
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

fn paginate<T>(all: Vec<T>, page: usize, per_page: usize) -> Page<T> {
    let per_page = per_page.clamp(1, 1000);
    let total = all.len();
    let items = all.into_iter().skip(page.saturating_mul(per_page)).take(per_page).collect();
    Page { items, page, per_page, total }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EventFilter {
    #[serde(rename = "type")]
    pub kind: Option<crate::events::EventKind>,
    /// Seconds from the start of the match.
    pub from: Option<f64>,
    pub to: Option<f64>,
}

/// Events of the committed part of a match, filtered by type and time.
pub async fn events<S: ObjectStore>(
    store: &S,
    match_id: &MatchId,
    filter: &EventFilter,
    page: usize,
    per_page: usize,
) -> Result<Page<Event>, ResultsError> {
    let found = load_match(store, match_id).await?;
    let fps = found.1.fps;
    let from = filter.from.map_or(0, |t| (t.max(0.0) * fps).floor() as u64);
    let to = filter.to.map_or(u64::MAX, |t| (t.max(0.0) * fps).ceil() as u64);
    let outputs = committed_outputs(store, &found, from, to).await?;
    let all: Vec<Event> = outputs
        .into_iter()
        .flat_map(|o| o.events)
        .filter(|e| filter.kind.is_none_or(|k| e.kind == k) && (from..=to).contains(&e.frame))
        .collect();
    Ok(paginate(all, page, per_page))
}

/// Per-frame positions of the committed part of a match, frames `from..=to`.
pub async fn positions<S: ObjectStore>(
    store: &S,
    match_id: &MatchId,
    from: u64,
    to: u64,
    page: usize,
    per_page: usize,
) -> Result<Page<FrameOutput>, ResultsError> {
    let outputs = committed_outputs(store, &load_match(store, match_id).await?, from, to).await?;
    let all: Vec<FrameOutput> =
        outputs.into_iter().flat_map(|o| o.frames).filter(|f| (from..=to).contains(&f.frame)).collect();
    Ok(paginate(all, page, per_page))
}
