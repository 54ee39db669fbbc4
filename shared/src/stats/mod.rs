//! Figures read off the pitch, kept up to date segment by segment: each person's distance, speeds and
//! sprints (`runner`), each team's heatmap, thirds, shape and passes (`team`), and the report people read
//! (`report`). The state is part of the checkpoint, so a resumed match counts exactly as an uninterrupted one.

mod report;
pub mod runner;
pub mod score;
mod smoother;
pub mod team;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use report::{PlayerReport, StatsReport, TeamReport, report};
pub use runner::Runner;
pub use team::{Grid, TeamStats};

use crate::detect::Class;
use crate::events::{Event, EventKind};
use crate::geometry::BBox;
use crate::pipeline::FrameOutput;
use crate::pitch::{Ground, Pitch};

/// A detector's box edges jitter frame to frame by about this share of the box (the noisy truth detector's
/// 4 %; assumed of the real detectors as well).
const BOX_JITTER: f64 = 0.04;
/// A position's error from the calibration itself: on a moving camera the keyframe fits on the camera's
/// mount miss by about this share of the picture's width (half a pixel at 1280), which is centimetres near
/// the camera and decimetres in the far corners (measured: 0.10 m sd in the middle, 0.25-0.31 m in depth in
/// the far corners)...
const CALIBRATION_WIDTHS: f64 = 0.5 / 1280.0;
/// ...and this many metres anywhere. (0.08 m alone, the same everywhere: distance medians 0.04-0.09 %
/// higher on five of six synthetic matches; a pixel instead of half: higher on five.)
const CALIBRATION_SD_M: f64 = 0.05;
/// A camera calibrated once (fixed) has its positions weighed as this many times as noisy as they say,
/// which smooths them as a random acceleration of 5.3 m²/s³ would instead of 8 (`smoother`): on the fixed
/// synthetic camera, sharpened on the lines, 0.23 % at the median and all within 3 % (at 2, 0.22 % but one
/// player at 3.05 %; at 1, 0.37 %).
const FIXED_CAMERA_NOISE: f64 = 1.5;
/// A box the picture's side cuts is placed up to 3-5 m off (`BBox::cut_by`): its place counts for his path
/// with this much noise, in metres, so the path runs on as he was running. (At 2 and 4 m a little more of the
/// error got through on a 2-minute synthetic match.)
const CUT_SD_M: f64 = 8.0;
/// A track unseen this long is gone for good: its buffers are freed.
const RETIRE_SECONDS: f64 = 10.0;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatsState {
    pub runners: BTreeMap<u64, Runner>,
    pub teams: [TeamStats; 2],
}

impl StatsState {
    pub fn is_empty(&self) -> bool {
        self.runners.is_empty() && self.teams == <[TeamStats; 2]>::default()
    }
}

/// Adds one segment's frames (pictures `width` pixels wide, from a camera that moves or not), placed on
/// `pitch` through `grounds` (frame by frame), and events.
pub fn update(
    mut state: StatsState,
    (pitch, width, moving): (Pitch, u32, bool),
    fps: f64,
    (frames, grounds): (&[FrameOutput], &[Option<Ground>]),
    events: &[Event],
) -> StatsState {
    let grid = Grid::of(pitch);
    for (frame, ground) in frames.iter().zip(grounds) {
        let mut outfield: [Vec<[f64; 2]>; 2] = Default::default();
        for o in &frame.objects {
            let Some(at) = o.pitch else { continue };
            let runner = state.runners.entry(o.track_id).or_default();
            runner.vote(o.team, o.role);
            if o.bbox.cut_by(width) {
                let cut = CUT_SD_M * CUT_SD_M;
                runner.glimpse(frame.frame, at, [cut, 0.0, cut], fps);
            } else {
                runner.observe(frame.frame, at, noise(ground.as_ref(), &o.bbox, (width, moving)), fps);
            }
            let Some(team) = o.team.filter(|_| matches!(o.role, Class::Player | Class::Goalkeeper)) else { continue };
            let team = team as usize & 1;
            state.teams[team].place(&grid, at);
            if o.role == Class::Player {
                outfield[team].push(at);
            }
        }
        for (team, players) in state.teams.iter_mut().zip(&outfield) {
            team.shape(players);
        }
        let owner = frame.owner.and_then(|id| frame.objects.iter().find(|o| o.track_id == id));
        if let Some((team, at)) = owner.and_then(|o| o.team.zip(o.pitch)) {
            state.teams[team as usize & 1].own(pitch, at);
        }
    }
    for e in events.iter().filter(|e| e.kind == EventKind::Pass) {
        if let Some(team) = e.team {
            state.teams[team as usize & 1].passes.add(e.from_track, e.to_track, e.from_pitch.zip(e.to_pitch));
        }
    }
    if let Some(last) = frames.last() {
        let horizon = last.frame as f64 - RETIRE_SECONDS * fps;
        state.runners.values_mut().filter(|r| r.last_frame().is_some_and(|f| f < horizon)).for_each(|r| r.retire(fps));
    }
    state
}

/// How uncertain the place of a box's feet is on the pitch (m²: xx, xy, yy), in a picture `width` pixels
/// wide: the box's jitter and the calibration's miss through the metres a pixel covers there, and the
/// calibration's floor (`FIXED_CAMERA_NOISE` times all that if the camera does not move).
fn noise(ground: Option<&Ground>, bbox: &BBox, (width, moving): (u32, bool)) -> [f64; 3] {
    let miss = CALIBRATION_WIDTHS * width as f64;
    // Independent errors in pixels: their variances add.
    let jitter = ((BOX_JITTER * bbox.width() / 2f64.sqrt()).hypot(miss), (BOX_JITTER * bbox.height()).hypot(miss));
    // A metre either way where the spread cannot be had (a point at the picture's horizon).
    let [xx, xy, yy] = ground.and_then(|g| g.spread(bbox.feet(), jitter)).unwrap_or([1.0, 0.0, 1.0]);
    let floor = CALIBRATION_SD_M * CALIBRATION_SD_M;
    let scale = if moving { 1.0 } else { FIXED_CAMERA_NOISE };
    // To a square centimetre: finer means nothing, and the checkpoint holds 25 of these per track.
    [xx + floor, xy, yy + floor].map(|v| (scale * v * 1e4).round() / 1e4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pitch::Homography;

    /// A ground where a pixel covers `m` metres everywhere.
    fn ground(m: f64) -> Ground {
        Ground {
            pitch: Pitch::default(),
            homography: Homography([[m, 0.0, 0.0], [0.0, m, 0.0], [0.0, 0.0, 1.0]]),
            lens: None,
        }
    }

    #[test]
    fn the_calibrations_miss_is_in_pixels_so_it_weighs_more_where_a_pixel_covers_more() {
        // A box too small to jitter: its noise is the calibration's half pixel (at 1280 wide) through what a
        // pixel covers there, and 0.05 m anywhere.
        let speck = BBox::from([100.0, 100.0, 100.01, 100.01]);
        let near = noise(Some(&ground(0.1)), &speck, (1280, true));
        let far = noise(Some(&ground(0.3)), &speck, (1280, true));
        assert!((near[2] - (0.05f64.powi(2) + 0.0025)).abs() < 2e-4, "{near:?}");
        assert!((far[2] - (0.15f64.powi(2) + 0.0025)).abs() < 2e-4, "{far:?}");
        assert!((far[0] - far[2]).abs() < 2e-4 && far[1] == 0.0, "{far:?}");
        // Twice the pixels across, a pixel is half as much of the picture: the miss is a whole one.
        let sharper = noise(Some(&ground(0.1)), &speck, (2560, true));
        assert!((sharper[2] - (0.1f64.powi(2) + 0.0025)).abs() < 2e-4, "{sharper:?}");
        // A camera calibrated once has all of it weighed as noisier.
        let fixed = noise(Some(&ground(0.1)), &speck, (1280, false));
        assert!((fixed[2] - FIXED_CAMERA_NOISE * near[2]).abs() < 2e-4, "{fixed:?}");
    }
}
