//! A fixed camera's calibration given by the user: image points and where they are on the pitch.

use serde::{Deserialize, Serialize};

use super::homography::{Pair, degenerate, residual};
use super::{Calibration, Homography, KEYPOINTS, Lens, Pitch};

/// `--calibration FILE`: at least 4 points, each an image pixel and its pitch position, either in metres
/// (`"pitch": [x, y]`) or as a keypoint of the layout (`"keypoint": 0..31`). With the image's size and 6
/// or more points, a wide lens's distortion is fitted too.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationFile {
    /// `[width, height]` of the video's frames: where the lens's centre is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_size: Option<[u32; 2]>,
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
/// A lens is fitted from this many points: the homography takes 4, the lens 1, and the rest check them.
const LENS_POINTS: usize = 6;
/// The lens strengths tried, in hundredths: from strong barrel distortion to mild pincushion.
pub(super) const LENS_K: std::ops::RangeInclusive<i32> = -50..=20;

impl CalibrationFile {
    /// The camera's calibration: the homography from image pixels to pitch metres and, when the file
    /// gives the image's size and enough points, the lens distortion undone before it (kept only where
    /// it fits the points clearly better).
    pub fn calibration(&self, pitch: Pitch) -> Result<Calibration, CalibrationError> {
        let pairs = self.pairs(&pitch)?;
        let plain = || Ok(Calibration { pitch, homography: fit_checked(&pairs)?, lens: None });
        let Some([width, height]) = self.image_size.filter(|_| pairs.len() >= LENS_POINTS) else { return plain() };
        let fitted = |k: f64| {
            let lens = Lens { k, width, height };
            let undone: Vec<_> = pairs.iter().map(|&(f, t)| (lens.undistort(f), t)).collect();
            let h = Homography::fit(&undone)?;
            let sq: f64 = undone.iter().map(|&(f, t)| residual(&h, f, t).powi(2)).sum();
            Some(((sq / pairs.len() as f64).sqrt(), h, lens, undone))
        };
        let Some(straight) = fitted(0.0) else { return plain() };
        let best = LENS_K.filter_map(|k| fitted(k as f64 / 100.0)).min_by(|a, b| a.0.total_cmp(&b.0));
        match best {
            // A lens earns its place by a third less error; otherwise the points cannot tell.
            Some((error, homography, lens, undone)) if lens.k != 0.0 && error < 0.67 * straight.0 => {
                check(&homography, &undone)?;
                Ok(Calibration { pitch, homography, lens: Some(lens) })
            }
            _ => plain(),
        }
    }

    /// Each point's image pixel and its place on the pitch.
    pub(super) fn pairs(&self, pitch: &Pitch) -> Result<Vec<Pair>, CalibrationError> {
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
        Ok(pairs)
    }
}

/// The homography of the pairs, if they describe one camera.
fn fit_checked(pairs: &[Pair]) -> Result<Homography, CalibrationError> {
    let h = Homography::fit(pairs).ok_or(CalibrationError::Degenerate)?;
    check(&h, pairs)?;
    // Four points fit exactly whatever they are; they fix a camera only if no three lie on a line.
    if pairs.len() == 4 && degenerate(pairs) {
        return Err(CalibrationError::Degenerate);
    }
    Ok(h)
}

/// Four points always fit: with more, the worst one says whether they describe one camera.
fn check(h: &Homography, pairs: &[Pair]) -> Result<(), CalibrationError> {
    let worst = pairs.iter().enumerate().map(|(i, &(f, t))| (i, residual(h, f, t))).max_by(|a, b| a.1.total_cmp(&b.1));
    match worst {
        Some((index, error)) if error > TOLERANCE_M => Err(CalibrationError::Inconsistent { index, error }),
        _ => Ok(()),
    }
}

/// Image points of a camera with a wide lens (`k`) looking at the left half: each keypoint's ideal
/// pixel pushed inward as the lens bends it (for the tests here and `fixed`'s).
#[cfg(test)]
pub(super) fn seen_through(k: f64, keypoints: &[usize]) -> CalibrationFile {
    let pitch = Pitch::default();
    let to_image = Homography([[24.0, -9.0, 400.0], [0.6, 18.0, 300.0], [0.0008, -0.002, 1.0]]);
    let lens = Lens { k, width: 3072, height: 1728 };
    let points = keypoints
        .iter()
        .map(|&kp| {
            let ideal = to_image.apply(pitch.keypoints()[kp]).unwrap();
            // The lens's inverse by fixed-point iteration: find the pixel that undistorts to `ideal`.
            let mut seen = ideal;
            for _ in 0..100 {
                let back = lens.undistort(seen);
                seen = (seen.0 + ideal.0 - back.0, seen.1 + ideal.1 - back.1);
            }
            PointPair { image: [seen.0, seen.1], pitch: None, keypoint: Some(kp) }
        })
        .collect();
    CalibrationFile { image_size: Some([3072, 3072 * 9 / 16]), points }
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
        let h = f.calibration(Pitch::default()).unwrap().homography;
        let (x, y) = h.apply((700.0, 260.0)).unwrap();
        assert!((x - 16.5).abs() < 1e-6 && (y - 13.84).abs() < 1e-6, "({x}, {y})");
    }

    #[test]
    fn too_few_degenerate_or_disagreeing_points_are_refused() {
        let pitch = Pitch::default();
        let three = file(
            r#"{"points": [{"image": [0, 0], "keypoint": 0}, {"image": [1, 0], "keypoint": 1}, {"image": [0, 1], "keypoint": 2}]}"#,
        );
        assert!(matches!(three.calibration(pitch), Err(CalibrationError::TooFew(3))));
        // Keypoints 0-3 all lie on the goal line.
        let line = file(
            r#"{"points": [{"image": [0, 0], "keypoint": 0}, {"image": [10, 100], "keypoint": 1},
                           {"image": [20, 200], "keypoint": 2}, {"image": [35, 300], "keypoint": 3}]}"#,
        );
        assert!(matches!(line.calibration(pitch), Err(CalibrationError::Degenerate)));
        let wrong = file(
            r#"{"points": [{"image": [100, 200], "keypoint": 1}, {"image": [110, 600], "keypoint": 4},
                           {"image": [700, 260], "keypoint": 9}, {"image": [760, 640], "keypoint": 12},
                           {"image": [400, 420], "keypoint": 31}]}"#,
        );
        assert!(matches!(wrong.calibration(pitch), Err(CalibrationError::Inconsistent { index: _, .. })));
        let bad = file(
            r#"{"points": [{"image": [0, 0], "keypoint": 40}, {"image": [1, 0], "keypoint": 1}, {"image": [0, 1], "keypoint": 2}, {"image": [1, 1]}]}"#,
        );
        assert!(matches!(bad.calibration(pitch), Err(CalibrationError::NoSuchKeypoint(0, 40))));
        assert!(serde_json::from_str::<CalibrationFile>(r#"{"points": [], "extra": 1}"#).is_err());
    }

    #[test]
    fn a_wide_lens_is_fitted_from_six_points_and_its_pixels_land_where_they_are() {
        let file = seen_through(-0.25, &[0, 1, 4, 5, 9, 12, 13, 16, 30]);
        let c = file.calibration(Pitch::default()).unwrap();
        let lens = c.lens.expect("a lens");
        assert!((lens.k + 0.25).abs() <= 0.011, "k = {}", lens.k);
        let ground = super::super::Ground { pitch: c.pitch, homography: c.homography, lens: c.lens };
        for p in &file.points {
            let at = Pitch::default().keypoints()[p.keypoint.unwrap()];
            let got = ground.locate((p.image[0], p.image[1])).unwrap();
            assert!((got[0] - at.0).hypot(got[1] - at.1) < 0.2, "{at:?} -> {got:?}");
        }
        // Without the image's size, or from a straight lens, no lens is fitted.
        let plain = CalibrationFile { image_size: None, ..seen_through(0.0, &[0, 1, 4, 5, 9, 12, 13, 16]) };
        assert_eq!(plain.calibration(Pitch::default()).unwrap().lens, None);
        assert_eq!(seen_through(0.0, &[0, 1, 4, 5, 9, 12, 13, 16]).calibration(Pitch::default()).unwrap().lens, None);
    }
}
