//! One segment through every stage: detect -> track -> teams -> ball -> possession.
//!
//! Each stage is a function of (its state, the segment) returning (its new state, its outputs); this
//! module only wires them and assembles the segment's output.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::appearance;
use crate::ball::{self, BallPosition};
use crate::detect::{Class, Detections, Detector};
use crate::events::{self, Event, FrameView};
use crate::geometry::BBox;
use crate::pitch::camera::{self, CameraState};
use crate::pitch::keypoints::KeypointModel;
use crate::pitch::{CalibrationMode, Ground, Homography};
use crate::source::Frame;
use crate::state::MatchState;
use crate::stats;
use crate::teams;
use crate::track::{self, FrameTracks, PersonDetection, Tracked};

/// The networks a segment goes through: the detector, and the pitch keypoint model for matches calibrated
/// by it.
pub struct Models {
    pub detector: Box<dyn Detector>,
    pub pitch: Option<KeypointModel>,
}

impl Models {
    pub fn new(detector: Box<dyn Detector>) -> Models {
        Models { detector, pitch: None }
    }
}

/// A decoded segment: its index in the match and its frames (with global indices).
pub struct Segment<'a> {
    pub index: u64,
    pub frames: &'a [Frame],
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentOutput {
    pub index: u64,
    pub first_frame: u64,
    pub frames: Vec<FrameOutput>,
    pub events: Vec<Event>,
    pub stats: SegmentStats,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameOutput {
    pub frame: u64,
    pub time: f64,
    pub objects: Vec<ObjectOutput>,
    pub ball: Option<BallPosition>,
    /// Track that owns the ball.
    pub owner: Option<u64>,
    /// The ball on the pitch, in metres, when calibrated: where its pixel meets the ground, so a ball in
    /// the air is placed beyond where it is, along the camera's line of sight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ball_pitch: Option<[f64; 2]>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectOutput {
    pub track_id: u64,
    pub team: Option<u8>,
    pub role: Class,
    #[serde(rename = "box")]
    pub bbox: BBox,
    pub confidence: f64,
    /// Where the player stands (the box's bottom centre) on the pitch, in metres, when calibrated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pitch: Option<[f64; 2]>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SegmentStats {
    pub frames: u64,
    pub detections: u64,
    pub tracked: u64,
    pub ball_frames: u64,
    pub ball_interpolated: u64,
}

/// Wall time per stage, for benchmarks and logs (never part of the output: outputs must be reproducible).
#[derive(Clone, Debug, Default)]
pub struct StageTimes {
    pub detect: Duration,
    pub calibrate: Duration,
    pub appearance: Duration,
    pub track: Duration,
    pub teams: Duration,
    pub ball: Duration,
    pub possession: Duration,
    pub stats: Duration,
}

impl StageTimes {
    /// Accumulates another segment's times.
    pub fn add(&mut self, o: &StageTimes) {
        self.detect += o.detect;
        self.calibrate += o.calibrate;
        self.appearance += o.appearance;
        self.track += o.track;
        self.teams += o.teams;
        self.ball += o.ball;
        self.possession += o.possession;
        self.stats += o.stats;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("segment {got} cannot be applied: the match state expects segment {expected} (frame {frame})")]
    OutOfOrder { got: u64, expected: u64, frame: u64 },
    #[error("segment {0} has no frames")]
    Empty(u64),
    #[error("detection failed: {0}")]
    Detect(anyhow::Error),
    #[error("the match is calibrated by the pitch keypoint model, and none is loaded")]
    NoPitchModel,
    #[error("calibration failed: {0}")]
    Calibrate(anyhow::Error),
}

/// No broadcast frame shows more people than this; a detector that reports more is mostly wrong, and the
/// tracker's cost grows with the cube of the count.
const MAX_PEOPLE_PER_FRAME: usize = 64;

pub fn process_segment(
    models: &mut Models,
    state: MatchState,
    segment: &Segment,
) -> Result<(MatchState, SegmentOutput, StageTimes), PipelineError> {
    let first = segment.frames.first().ok_or(PipelineError::Empty(segment.index))?;
    if segment.index != state.next_segment || first.index != state.next_frame {
        return Err(PipelineError::OutOfOrder {
            got: segment.index,
            expected: state.next_segment,
            frame: state.next_frame,
        });
    }
    let MatchState {
        config,
        fps,
        camera,
        tracker,
        teams: team_state,
        ball: ball_state,
        possession,
        stats: pitch_stats,
        ..
    } = &state;
    let (fps, first_frame) = (*fps, first.index);
    let mut times = StageTimes::default();
    let mut clock = Instant::now();
    let mut lap = |slot: &mut Duration| {
        *slot = clock.elapsed();
        clock = Instant::now();
    };

    let detections = models.detector.detect(segment.frames).map_err(PipelineError::Detect)?;
    lap(&mut times.detect);

    let (camera, homographies) =
        calibrate(models.pitch.as_mut(), config.calibration.as_ref(), camera, (segment.frames, &detections))?;
    let pitch = config.calibration.as_ref().map(|c| c.pitch());
    let lens = match &config.calibration {
        Some(CalibrationMode::Fixed(c)) => c.lens,
        _ => camera.lens,
    };
    let grounds: Vec<Option<Ground>> = homographies
        .iter()
        .map(|h| pitch.zip(*h).map(|(pitch, homography)| Ground { pitch, homography, lens }))
        .collect();
    lap(&mut times.calibrate);

    let people = people_of(segment.frames, &detections, &grounds);
    lap(&mut times.appearance);

    let (tracker, tracks) = track::track_segment(tracker.clone(), &config.tracker, fps, first_frame, &people);
    lap(&mut times.track);

    let per_frame: Vec<_> = tracks.into_iter().zip(people).collect();
    let (team_state, teams) = teams::assign_segment(team_state.clone(), &config.teams, &per_frame);
    lap(&mut times.teams);

    let balls: Vec<Vec<_>> = detections.iter().map(|d| d.iter().filter(|d| d.class == Class::Ball).collect()).collect();
    let (ball_state, ball) =
        ball::track_segment(ball_state.clone(), &config.ball, fps, first.width, first_frame, &balls);
    lap(&mut times.ball);

    let views: Vec<FrameView> = per_frame
        .iter()
        .zip(&teams)
        .zip(ball.iter().zip(&grounds))
        .enumerate()
        .map(|(i, (((t, people), teams), (ball, ground)))| FrameView {
            frame: first_frame + i as u64,
            people: &t.tracked,
            teams,
            ball: *ball,
            people_pitch: t.tracked.iter().map(|p| people[p.detection].pitch).collect(),
            ground: *ground,
        })
        .collect();
    let (possession, owners, events) = events::possession_segment(possession.clone(), &config.possession, fps, &views);
    lap(&mut times.possession);

    let found = Found { per_frame: &per_frame, teams: &teams, ball: &ball, owners, grounds: &grounds };
    let (frames, mut stats) = frame_outputs(found, first_frame, fps);
    stats.detections = detections.iter().map(|d| d.len() as u64).sum();
    let pitch_stats = match pitch {
        Some(pitch) => {
            let moving = config.calibration.as_ref().is_some_and(CalibrationMode::moves);
            stats::update(pitch_stats.clone(), (pitch, first.width, moving), fps, (&frames, &grounds), &events)
        }
        None => pitch_stats.clone(),
    };
    lap(&mut times.stats);

    let next = MatchState {
        next_segment: segment.index + 1,
        next_frame: first_frame + segment.frames.len() as u64,
        camera,
        tracker,
        teams: team_state,
        ball: ball_state,
        possession,
        stats: pitch_stats,
        ..state
    };
    Ok((next, SegmentOutput { index: segment.index, first_frame, frames, events, stats }, times))
}

/// Each frame's people, the most confident first, with their shirt colours and, on a calibrated frame,
/// where their feet are on the pitch.
fn people_of(frames: &[Frame], detections: &[Detections], grounds: &[Option<Ground>]) -> Vec<Vec<PersonDetection>> {
    frames
        .iter()
        .zip(detections)
        .zip(grounds)
        .map(|((frame, dets), ground)| {
            let mut people: Vec<_> = dets.iter().filter(|d| d.class.is_person()).collect();
            people.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
            people.truncate(MAX_PEOPLE_PER_FRAME);
            people
                .into_iter()
                .map(|d| PersonDetection {
                    detection: d.clone(),
                    appearance: appearance::of_person(frame, &d.bbox),
                    pitch: ground.and_then(|g| g.locate(d.bbox.feet())),
                    cut: d.bbox.cut_by(frame.width),
                })
                .collect()
        })
        .collect()
}

/// What the stages found in a segment, frame by frame.
struct Found<'a> {
    per_frame: &'a [(FrameTracks, Vec<PersonDetection>)],
    teams: &'a [Vec<Option<u8>>],
    ball: &'a [Option<BallPosition>],
    owners: Vec<Option<u64>>,
    grounds: &'a [Option<Ground>],
}

/// The segment's frames as output, and the counts the segment's stats start from.
fn frame_outputs(found: Found, first_frame: u64, fps: f64) -> (Vec<FrameOutput>, SegmentStats) {
    let mut stats = SegmentStats { frames: found.per_frame.len() as u64, ..Default::default() };
    let frames = found
        .per_frame
        .iter()
        .zip(found.teams)
        .zip(found.ball.iter().zip(found.owners))
        .zip(found.grounds)
        .enumerate()
        .map(|(i, ((((t, people), teams), (ball, owner)), ground))| {
            stats.tracked += t.tracked.len() as u64;
            stats.ball_frames += u64::from(ball.is_some());
            stats.ball_interpolated += u64::from(ball.is_some_and(|b| b.interpolated));
            let locate = |x: f64, y: f64| ground.and_then(|g| g.locate((x, y)));
            frame_output(first_frame + i as u64, fps, (&t.tracked, people, teams), (*ball, owner), locate)
        })
        .collect();
    (frames, stats)
}

/// Each frame's homography to the pitch, as the match is calibrated (if it is).
fn calibrate(
    model: Option<&mut KeypointModel>,
    mode: Option<&CalibrationMode>,
    camera: &CameraState,
    (frames, detections): (&[Frame], &[Detections]),
) -> Result<(CameraState, Vec<Option<Homography>>), PipelineError> {
    Ok(match mode {
        None => (camera.clone(), vec![None; frames.len()]),
        Some(CalibrationMode::Fixed(c)) => (camera.clone(), vec![Some(c.homography); frames.len()]),
        Some(CalibrationMode::Keypoints { pitch, fixed, .. }) => {
            let model = model.ok_or(PipelineError::NoPitchModel)?;
            let calibrated = if *fixed {
                camera::calibrate_fixed(camera.clone(), model, pitch, frames)
            } else {
                // Whatever was detected moves on its own, not with the camera.
                let movers: Vec<Vec<BBox>> = detections.iter().map(|d| d.iter().map(|d| d.bbox).collect()).collect();
                camera::calibrate_segment(camera.clone(), model, pitch, (frames, &movers))
            };
            calibrated.map_err(PipelineError::Calibrate)?
        }
    })
}

/// One frame's output: its tracked people with their teams and their detections' places on the pitch, the
/// ball and its owner, the ball placed by `locate` (image point on the ground to metres) where it can be.
fn frame_output(
    frame: u64,
    fps: f64,
    (tracked, people, teams): (&[Tracked], &[PersonDetection], &[Option<u8>]),
    (ball, owner): (Option<BallPosition>, Option<u64>),
    locate: impl Fn(f64, f64) -> Option<[f64; 2]>,
) -> FrameOutput {
    let objects = tracked
        .iter()
        .zip(teams)
        .map(|(t, team)| ObjectOutput {
            track_id: t.track_id,
            team: *team,
            role: t.role,
            bbox: t.bbox,
            confidence: t.confidence,
            pitch: people[t.detection].pitch,
        })
        .collect();
    FrameOutput {
        frame,
        time: frame as f64 / fps,
        objects,
        ball,
        owner,
        ball_pitch: ball.and_then(|b| locate(b.x, b.y)),
    }
}
