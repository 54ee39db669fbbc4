//! A fixed camera's calibration given by the user: image points and where they are on the pitch.

use serde::{Deserialize, Serialize};

use super::homography::{degenerate, residual};
use super::{Homography, KEYPOINTS, Pitch};

/// `--calibration FILE`: at least 4 points, each an image pixel and its pitch position, either in metres
/// (`"pitch": [x, y]`) or as a keypoint of the layout (`"keypoint": 0..31`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationFile {
    pub points: Vec<PointPair>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointPair {
    pub image: [f64; 2],
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pitch: Option<[f64; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keypoint: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum CalibrationError {
    #[error("a calibration needs at least 4 points, got {0}")]
    TooFew(usize),
    #[error("point {0} needs either `pitch` or `keypoint`, not {1}")]
    Ambiguous(usize, &'static str),
    #[error("point {0} names keypoint {1}; keypoints are 0 to {max}", max = KEYPOINTS - 1)]
    NoSuchKeypoint(usize, usize),
    #[error("point {0} is not a finite position")]
    NotFinite(usize),
    #[error("the points are degenerate (three or more on one line, or repeated): they fix no camera")]
    Degenerate,
    #[error("point {index} lands {error:.1} m from where it is said to be: the points disagree")]
    Inconsistent { index: usize, error: f64 },
}

/// The most a given point may miss by once all are fitted: clicks are a pixel or two off, not metres.
const TOLERANCE_M: f64 = 1.5;

impl CalibrationFile {
    /// The homography from image pixels to pitch metres.
    pub fn homography(&self, pitch: &Pitch) -> Result<Homography, CalibrationError> {
        if self.points.len() < 4 {
            return Err(CalibrationError::TooFew(self.points.len()));
        }
        let keypoints = pitch.keypoints();
        let mut pairs = Vec::with_capacity(self.points.len());
        for (i, p) in self.points.iter().enumerate() {
            let to = match (p.pitch, p.keypoint) {
                (Some(at), None) => at,
                (None, Some(k)) => {
                    let (x, y) = *keypoints.get(k).ok_or(CalibrationError::NoSuchKeypoint(i, k))?;
                    [x, y]
                }
                (None, None) => return Err(CalibrationError::Ambiguous(i, "neither")),
                (Some(_), Some(_)) => return Err(CalibrationError::Ambiguous(i, "both")),
            };
            if !p.image.iter().chain(&to).all(|v| v.is_finite()) {
                return Err(CalibrationError::NotFinite(i));
            }
            pairs.push(((p.image[0], p.image[1]), (to[0], to[1])));
        }
        let h = Homography::fit(&pairs).ok_or(CalibrationError::Degenerate)?;
        // Four points always fit: with more, the worst one says whether they describe one camera.
        let worst =
            pairs.iter().enumerate().map(|(i, &(f, t))| (i, residual(&h, f, t))).max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((index, error)) = worst
            && error > TOLERANCE_M
        {
            return Err(CalibrationError::Inconsistent { index, error });
        }
        // Four points fit exactly whatever they are; they fix a camera only if no three lie on a line.
        if pairs.len() == 4 && degenerate(&pairs) {
            return Err(CalibrationError::Degenerate);
        }
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(json: &str) -> CalibrationFile {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn four_keypoints_calibrate_and_map_their_own_pixels_to_their_metres() {
        // The penalty area's corners and the goal line's ends of it, seen from the side.
        let f = file(
            r#"{"points": [{"image": [100, 200], "keypoint": 1}, {"image": [110, 600], "keypoint": 4},
                           {"image": [700, 260], "keypoint": 9}, {"image": [760, 640], "pitch": [16.5, 54.16]}]}"#,
        );
        let h = f.homography(&Pitch::default()).unwrap();
        let (x, y) = h.apply((700.0, 260.0)).unwrap();
        assert!((x - 16.5).abs() < 1e-6 && (y - 13.84).abs() < 1e-6, "({x}, {y})");
    }

    #[test]
    fn too_few_degenerate_or_disagreeing_points_are_refused() {
        let pitch = Pitch::default();
        let three = file(
            r#"{"points": [{"image": [0, 0], "keypoint": 0}, {"image": [1, 0], "keypoint": 1}, {"image": [0, 1], "keypoint": 2}]}"#,
        );
        assert!(matches!(three.homography(&pitch), Err(CalibrationError::TooFew(3))));
        // Keypoints 0-3 all lie on the goal line.
        let line = file(
            r#"{"points": [{"image": [0, 0], "keypoint": 0}, {"image": [10, 100], "keypoint": 1},
                           {"image": [20, 200], "keypoint": 2}, {"image": [35, 300], "keypoint": 3}]}"#,
        );
        assert!(matches!(line.homography(&pitch), Err(CalibrationError::Degenerate)));
        let wrong = file(
            r#"{"points": [{"image": [100, 200], "keypoint": 1}, {"image": [110, 600], "keypoint": 4},
                           {"image": [700, 260], "keypoint": 9}, {"image": [760, 640], "keypoint": 12},
                           {"image": [400, 420], "keypoint": 31}]}"#,
        );
        assert!(matches!(wrong.homography(&pitch), Err(CalibrationError::Inconsistent { index: _, .. })));
        let bad = file(
            r#"{"points": [{"image": [0, 0], "keypoint": 40}, {"image": [1, 0], "keypoint": 1}, {"image": [0, 1], "keypoint": 2}, {"image": [1, 1]}]}"#,
        );
        assert!(matches!(bad.homography(&pitch), Err(CalibrationError::NoSuchKeypoint(0, 40))));
        assert!(serde_json::from_str::<CalibrationFile>(r#"{"points": [], "extra": 1}"#).is_err());
    }
}
