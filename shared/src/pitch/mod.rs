//! The pitch: its size, the 32 keypoints a camera is calibrated from, and the homography from image
//! pixels to pitch metres.
//!
//! Pitch coordinates are metres with the origin at a corner flag: x along the touchline (0..length), y
//! across (0..width). Keypoint 0 is that corner; on a broadcast from the main stand it is the far-left
//! corner, so y grows toward the camera.

mod calibration;
pub mod camera;
pub mod carry;
pub mod fixed;
mod homography;
pub mod keypoints;
mod lens;
mod lines;
mod lsq;
pub mod motion;
pub mod ptz;
pub mod score;

use serde::{Deserialize, Serialize};

pub use calibration::{CalibrationError, CalibrationFile, PointPair};
pub use homography::{Homography, residual};
pub use lens::Lens;

/// A pitch's length and width in metres.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Pitch {
    pub length: f64,
    pub width: f64,
}

impl Default for Pitch {
    fn default() -> Self {
        Pitch { length: 105.0, width: 68.0 }
    }
}

// The markings' sizes are fixed by the Laws of the Game whatever the pitch's size.
const PENALTY_AREA_DEPTH: f64 = 16.5;
const PENALTY_AREA_WIDTH: f64 = 40.32;
const GOAL_AREA_DEPTH: f64 = 5.5;
const GOAL_AREA_WIDTH: f64 = 18.32;
const PENALTY_SPOT: f64 = 11.0;
const CENTRE_CIRCLE: f64 = 9.15;

/// A camera calibrated once for a whole match (a fixed camera): the pitch and the homography from the
/// video's pixels to its metres.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub pitch: Pitch,
    pub homography: Homography,
    /// A wide lens's distortion, undone before the homography.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lens: Option<Lens>,
}

/// How a frame's pixels reach the pitch: the lens undone (if the camera has one fitted), then the
/// homography.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ground {
    pub pitch: Pitch,
    pub homography: Homography,
    pub lens: Option<Lens>,
}

impl Ground {
    /// Where an image point on the ground is on the pitch, in metres; `None` far off it.
    pub fn locate(&self, p: (f64, f64)) -> Option<[f64; 2]> {
        self.pitch.locate(&self.homography, self.undistorted(p))
    }

    /// An image point with the lens's bend undone: where a plain homography maps it.
    fn undistorted(&self, p: (f64, f64)) -> (f64, f64) {
        self.lens.map_or(p, |l| l.undistort(p))
    }

    /// The covariance on the pitch (m²: xx, xy, yy) of a ground point whose image place is uncertain by
    /// `sd` pixels along each image axis: what a pixel there covers, in which direction.
    pub fn spread(&self, (x, y): (f64, f64), (sx, sy): (f64, f64)) -> Option<[f64; 3]> {
        let at = |p: (f64, f64)| self.homography.apply(self.undistorted(p));
        let half = |a: (f64, f64), b: (f64, f64)| [(b.0 - a.0) / 2.0, (b.1 - a.1) / 2.0];
        let u = half(at((x - sx, y))?, at((x + sx, y))?);
        let v = half(at((x, y - sy))?, at((x, y + sy))?);
        Some([u[0] * u[0] + v[0] * v[0], u[0] * u[1] + v[0] * v[1], u[1] * u[1] + v[1] * v[1]])
    }
}

/// How a match is put on the pitch: one calibration for a fixed camera, or the keypoint model on every few
/// frames for a moving one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalibrationMode {
    Fixed(Calibration),
    /// `model` is the keypoint model's identity: a match resumes only with the model it began with.
    /// `fixed`: the camera never moves, so one calibration found from the keypoints holds for the match.
    Keypoints {
        pitch: Pitch,
        model: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        fixed: bool,
    },
}

impl CalibrationMode {
    pub fn pitch(&self) -> Pitch {
        match self {
            CalibrationMode::Fixed(c) => c.pitch,
            CalibrationMode::Keypoints { pitch, .. } => *pitch,
        }
    }

    /// Whether the camera is taken to move: calibrated keyframe by keyframe, not once for the match.
    pub fn moves(&self) -> bool {
        matches!(self, CalibrationMode::Keypoints { fixed: false, .. })
    }
}

/// The distance between two points on the pitch, in metres.
pub fn distance(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

/// How far beyond the lines a position may be and still be believed (players warm up or take throw-ins
/// off the pitch); a pixel mapped farther is above the horizon or mis-calibrated.
const MARGIN_M: f64 = 10.0;

impl Pitch {
    /// Where an image point on the ground is on this pitch, in metres, through `h`; `None` far off it.
    pub fn locate(&self, h: &Homography, (x, y): (f64, f64)) -> Option<[f64; 2]> {
        let (px, py) = h.apply((x, y))?;
        // Centimetres: finer is noise, and it keeps the outputs short.
        self.holds((px, py), MARGIN_M).then(|| [(px * 100.0).round() / 100.0, (py * 100.0).round() / 100.0])
    }

    /// Whether a point (metres) is on this pitch or within `margin` of its lines.
    pub fn holds(&self, (x, y): (f64, f64), margin: f64) -> bool {
        (-margin..=self.length + margin).contains(&x) && (-margin..=self.width + margin).contains(&y)
    }
}

/// How many keypoints the layout has.
pub const KEYPOINTS: usize = 32;

impl Pitch {
    /// `105x68`: length by width in metres.
    pub fn parse(text: &str) -> Result<Pitch, String> {
        let bad = || format!("a pitch is LENGTHxWIDTH in metres, like 105x68; got {text:?}");
        let (l, w) = text.split_once(['x', 'X']).ok_or_else(bad)?;
        let (length, width) =
            (l.trim().parse::<f64>().map_err(|_| bad())?, w.trim().parse::<f64>().map_err(|_| bad())?);
        // The Laws allow 90-120 by 45-90; smaller pitches (youth, five-a-side) are common too.
        if !(20.0..=130.0).contains(&length) || !(15.0..=100.0).contains(&width) || width >= length {
            return Err(format!("a pitch of {length} x {width} m is not a football pitch"));
        }
        Ok(Pitch { length, width })
    }

    /// Where each keypoint is, in the order of the roboflow/sports layout the labels use: the left goal
    /// line top to bottom (0-5), the left goal area (6, 7), the left penalty spot (8), the left penalty
    /// area's corners (9, 12) and where the penalty arc meets its line (10, 11), the halfway line (13-16),
    /// then the right side mirrored (17-29), and the centre circle's left and right ends (30, 31).
    ///
    /// 10, 11, 18 and 19 are where the labels put them: measured through the frames' calibrations, the 61
    /// labelled on the valid frames land 0.1-0.4 m from the arc's ends, and 1.5-2.0 m from the area's line
    /// level with the goal area's sides (where no line meets it, and where we had them before).
    pub fn keypoints(&self) -> [(f64, f64); KEYPOINTS] {
        let (l, w) = (self.length, self.width);
        let (pa, pb) = ((w - PENALTY_AREA_WIDTH) / 2.0, (w + PENALTY_AREA_WIDTH) / 2.0);
        let (ga, gb) = ((w - GOAL_AREA_WIDTH) / 2.0, (w + GOAL_AREA_WIDTH) / 2.0);
        let (mid, half) = (l / 2.0, w / 2.0);
        // The penalty arc's ends on the area's line, either side of the middle.
        let arc = (CENTRE_CIRCLE * CENTRE_CIRCLE - (PENALTY_AREA_DEPTH - PENALTY_SPOT).powi(2)).sqrt();
        let (aa, ab) = (half - arc, half + arc);
        [
            (0.0, 0.0),
            (0.0, pa),
            (0.0, ga),
            (0.0, gb),
            (0.0, pb),
            (0.0, w),
            (GOAL_AREA_DEPTH, ga),
            (GOAL_AREA_DEPTH, gb),
            (PENALTY_SPOT, half),
            (PENALTY_AREA_DEPTH, pa),
            (PENALTY_AREA_DEPTH, aa),
            (PENALTY_AREA_DEPTH, ab),
            (PENALTY_AREA_DEPTH, pb),
            (mid, 0.0),
            (mid, half - CENTRE_CIRCLE),
            (mid, half + CENTRE_CIRCLE),
            (mid, w),
            (l - PENALTY_AREA_DEPTH, pa),
            (l - PENALTY_AREA_DEPTH, aa),
            (l - PENALTY_AREA_DEPTH, ab),
            (l - PENALTY_AREA_DEPTH, pb),
            (l - PENALTY_SPOT, half),
            (l - GOAL_AREA_DEPTH, ga),
            (l - GOAL_AREA_DEPTH, gb),
            (l, 0.0),
            (l, pa),
            (l, ga),
            (l, gb),
            (l, pb),
            (l, w),
            (mid - CENTRE_CIRCLE, half),
            (mid + CENTRE_CIRCLE, half),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The labels' flip map: a horizontal flip swaps keypoint i with FLIP[i].
    const FLIP: [usize; KEYPOINTS] = [
        24, 25, 26, 27, 28, 29, 22, 23, 21, 17, 18, 19, 20, 13, 14, 15, 16, 9, 10, 11, 12, 8, 6, 7, 0, 1, 2, 3, 4, 5,
        31, 30,
    ];

    #[test]
    fn the_keypoints_mirror_as_the_labels_flip_map_says() {
        let pitch = Pitch::default();
        let k = pitch.keypoints();
        for (i, &j) in FLIP.iter().enumerate() {
            assert!((k[i].0 - (pitch.length - k[j].0)).abs() < 1e-9 && (k[i].1 - k[j].1).abs() < 1e-9, "{i} <-> {j}");
        }
    }

    #[test]
    fn the_penalty_areas_inner_keypoints_are_where_the_penalty_arcs_meet_their_lines() {
        let pitch = Pitch::default();
        let k = pitch.keypoints();
        for (i, spot) in [(10, k[8]), (11, k[8]), (18, k[21]), (19, k[21])] {
            let from_spot = (k[i].0 - spot.0).hypot(k[i].1 - spot.1);
            assert!((from_spot - CENTRE_CIRCLE).abs() < 1e-9, "{i}: {from_spot} m from its spot");
            assert!((k[i].0 - k[9].0).abs() < 1e-9 || (k[i].0 - k[17].0).abs() < 1e-9, "{i} is on an area's line");
        }
        // Not level with the goal area's sides (6, 7), where no line meets the area's.
        assert!((k[10].1 - k[6].1).abs() > 1.5 && (k[11].1 - k[7].1).abs() > 1.5);
    }

    #[test]
    fn a_pitch_is_length_by_width_and_refuses_nonsense() {
        assert_eq!(Pitch::parse("100x64").unwrap(), Pitch { length: 100.0, width: 64.0 });
        for bad in ["105", "axb", "68x105", "1000x68", "-105x68"] {
            assert!(Pitch::parse(bad).is_err(), "{bad}");
        }
    }
}
