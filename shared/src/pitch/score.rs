//! Scoring calibrations against labelled keypoints: each labelled keypoint's pixel, mapped through the
//! homography found, against where that keypoint is on the pitch.

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use super::{Homography, KEYPOINTS, Pitch};

/// A labelled keypoint: its index and where it is in the image's pixels.
pub type LabelledPoint = (usize, f64, f64);

/// The visible keypoints of a YOLO-pose label file (`class cx cy w h` then `x y v` per keypoint,
/// normalised); a missing file has none.
pub fn read_labels(path: &Path, width: u32, height: u32) -> anyhow::Result<Vec<LabelledPoint>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read labels {}", path.display())),
    };
    let Some(line) = text.lines().find(|l| !l.trim().is_empty()) else { return Ok(Vec::new()) };
    let values: Vec<f64> = line
        .split_whitespace()
        .map(|v| v.parse())
        .collect::<Result<_, _>>()
        .with_context(|| format!("{} is not a keypoint label file", path.display()))?;
    if values.len() < 5 + 3 * KEYPOINTS {
        anyhow::bail!("{} has {} numbers, not a box and {KEYPOINTS} keypoints", path.display(), values.len());
    }
    Ok(values[5..5 + 3 * KEYPOINTS]
        .chunks_exact(3)
        .enumerate()
        .filter(|(_, p)| p[2] > 0.0)
        .map(|(k, p)| (k, p[0] * width as f64, p[1] * height as f64))
        .collect())
}

#[derive(Clone, Debug, Default)]
pub struct Tally {
    frames: usize,
    calibrated: usize,
    errors: Vec<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CalibrationScore {
    pub frames: usize,
    pub calibrated: usize,
    pub calibrated_share: f64,
    /// Keypoints scored (labelled, in calibrated frames).
    pub points: usize,
    pub median_m: Option<f64>,
    pub p90_m: Option<f64>,
    pub frames_per_second: f64,
}

impl Tally {
    /// One frame: its homography (if it was calibrated) and its labelled keypoints.
    pub fn add(&mut self, homography: Option<&Homography>, labels: &[LabelledPoint], pitch: &Pitch) {
        self.frames += 1;
        let Some(h) = homography else { return };
        self.calibrated += 1;
        let at = pitch.keypoints();
        for &(k, x, y) in labels {
            let (px, py) = at[k];
            self.errors.push(h.apply((x, y)).map_or(f64::INFINITY, |(mx, my)| (mx - px).hypot(my - py)));
        }
    }

    pub fn score(mut self, seconds: f64) -> CalibrationScore {
        let (median_m, p90_m) = (quantile(&mut self.errors, 0.5), quantile(&mut self.errors, 0.9));
        CalibrationScore {
            frames: self.frames,
            calibrated: self.calibrated,
            calibrated_share: self.calibrated as f64 / self.frames.max(1) as f64,
            points: self.errors.len(),
            median_m,
            p90_m,
            frames_per_second: if seconds > 0.0 { self.frames as f64 / seconds } else { 0.0 },
        }
    }
}

/// The nearest-rank `q` quantile of `values` (sorted in place); `None` when there are none.
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    (!values.is_empty()).then(|| values[((values.len() - 1) as f64 * q).round() as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_metres_on_the_pitch_and_uncalibrated_frames_count_against_the_share() {
        let pitch = Pitch::default();
        // Image pixels are decimetres of the pitch, shifted by a metre along x.
        let h = Homography([[0.1, 0.0, 1.0], [0.0, 0.1, 0.0], [0.0, 0.0, 1.0]]);
        let mut t = Tally::default();
        let at = pitch.keypoints();
        t.add(Some(&h), &[(0, at[0].0 * 10.0, at[0].1 * 10.0), (13, at[13].0 * 10.0, at[13].1 * 10.0)], &pitch);
        t.add(None, &[(5, 1.0, 1.0)], &pitch);
        let s = t.score(2.0);
        assert_eq!((s.frames, s.calibrated, s.points), (2, 1, 2));
        assert_eq!((s.calibrated_share, s.median_m, s.p90_m), (0.5, Some(1.0), Some(1.0)));
        assert_eq!(s.frames_per_second, 1.0);
    }

    #[test]
    fn labels_keep_visible_keypoints_in_pixels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        let mut line = "0 0.5 0.5 1 1".to_string();
        for k in 0..KEYPOINTS {
            line += if k == 3 { " 0.25 0.5 2" } else { " 0.1 0.1 0" };
        }
        std::fs::write(&path, line).unwrap();
        assert_eq!(read_labels(&path, 1280, 720).unwrap(), vec![(3, 320.0, 360.0)]);
        assert!(read_labels(&dir.path().join("none.txt"), 1, 1).unwrap().is_empty());
        std::fs::write(&path, "0 0.5 0.5").unwrap();
        assert!(read_labels(&path, 1, 1).is_err());
    }
}
