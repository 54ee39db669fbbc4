//! Finding the pitch's keypoints in a frame with our keypoint model (`tacticeye_format =
//! pitch-keypoints-1`, built by `models/train_pitch.py`), and the frame's calibration from them.
//!
//! Input `[N, 3, input_height, input_width]` RGB in 0..1, the frame letterboxed into it. Output `[N,
//! keypoints + 2, H/stride, W/stride]`: one score map per keypoint, then the sub-cell offset (x, y).

use std::path::Path;

use anyhow::Context;
use fast_image_resize::Resizer;
use ndarray::{Array4, ArrayView3, Axis, Ix3};
use ort::session::Session;
use ort::value::TensorRef;
use serde::{Deserialize, Serialize};

use super::homography::Pair;
use super::{CalibrationMode, Homography, KEYPOINTS, Pitch};
use crate::detect::onnx::{MAX_BATCH, fill, own_metadata, session};
use crate::detect::yolo::Placement;
use crate::source::Frame;

pub const FORMAT: &str = "pitch-keypoints-1";
/// A keypoint whose fit misses it by more than this (metres) is not believed.
pub(super) const TOLERANCE_M: f64 = 1.5;
/// Four points always fit; a fifth that agrees is what makes a calibration trustworthy.
pub const MIN_INLIERS: usize = 5;
const RANSAC_ROUNDS: usize = 200;

/// One keypoint found: its index in the layout, where it is in the frame's pixels, how sure.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Keypoint {
    pub index: usize,
    pub x: f64,
    pub y: f64,
    pub confidence: f64,
}

pub struct KeypointModel {
    /// `onnx:` and the model file's MD5.
    pub identity: String,
    session: Session,
    width: u32,
    height: u32,
    stride: f64,
    pub threshold: f32,
    resizer: Resizer,
}

/// The camera the pitch model looks for: one that moves (`auto`: found every few frames) or one that never
/// does (`fixed`: found once).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Camera {
    Moving,
    Fixed,
}

impl Camera {
    /// The camera a `--calibration` value names, if it names one (else it is a file, or `none`).
    pub fn named(name: &str) -> Option<Camera> {
        match name {
            "auto" => Some(Camera::Moving),
            "fixed" => Some(Camera::Fixed),
            _ => None,
        }
    }
}

impl KeypointModel {
    /// `default` (our shipped model, wherever `models::PITCH` finds it) or a path.
    pub fn open_named(model: &str) -> anyhow::Result<KeypointModel> {
        match model {
            "default" => KeypointModel::open(&crate::models::PITCH.find()?),
            path => KeypointModel::open(Path::new(path)),
        }
    }

    pub fn open(path: &Path) -> anyhow::Result<KeypointModel> {
        let (session, identity) = session(path)?;
        let unusable = |e: String| anyhow::anyhow!("{} is not a usable pitch model: {e}", path.display());
        let keys = ["keypoints", "input_width", "input_height", "stride", "threshold"];
        let n = own_metadata(&session, FORMAT, &keys).map_err(unusable)?;
        let [keypoints, width, height, stride, threshold] = n[..] else { unreachable!("one number per key") };
        if keypoints as usize != KEYPOINTS {
            return Err(unusable(format!("it must find the {KEYPOINTS} keypoints of our layout")));
        }
        let (width, height, threshold) = (width as u32, height as u32, threshold as f32);
        Ok(KeypointModel { identity, session, width, height, stride, threshold, resizer: Resizer::new() })
    }

    /// How a match calibrated by this model on `pitch` is configured (the model's identity included, so a
    /// match resumes only with it).
    pub fn calibration(&self, pitch: Pitch, camera: Camera) -> CalibrationMode {
        CalibrationMode::Keypoints { pitch, model: self.identity.clone(), fixed: camera == Camera::Fixed }
    }

    /// The keypoints found in each frame (scores at or over the model's threshold), in frame pixels.
    pub fn find(&mut self, frames: &[&Frame]) -> anyhow::Result<Vec<Vec<Keypoint>>> {
        let mut all = Vec::with_capacity(frames.len());
        for chunk in frames.chunks(MAX_BATCH) {
            let mut input = Array4::<f32>::zeros((chunk.len(), 3, self.height as usize, self.width as usize));
            let mut placements = Vec::with_capacity(chunk.len());
            for (i, frame) in chunk.iter().enumerate() {
                let scale = (self.width as f64 / frame.width as f64).min(self.height as f64 / frame.height as f64);
                let at = Placement { scale, px: 0.0, py: 0.0 };
                fill(&mut self.resizer, frame, at, input.index_axis_mut(Axis(0), i))?;
                placements.push(at);
            }
            let (stride, threshold) = (self.stride, self.threshold);
            let outputs = self.session.run(ort::inputs![TensorRef::from_array_view(&input)?])?;
            let out = outputs[0].try_extract_array::<f32>()?;
            if out.ndim() != 4 || out.shape()[1] != KEYPOINTS + 2 {
                anyhow::bail!(
                    "the pitch model's output must be [N, {}, H/stride, W/stride], got {:?}",
                    KEYPOINTS + 2,
                    out.shape()
                );
            }
            for (i, at) in placements.iter().enumerate() {
                let maps = out.index_axis(Axis(0), i).into_dimensionality::<Ix3>().context("output rank")?;
                all.push(decode(maps, at, stride, threshold));
            }
        }
        Ok(all)
    }
}

/// Each keypoint's best cell, if it scores `threshold` or more.
fn decode(maps: ArrayView3<f32>, at: &Placement, stride: f64, threshold: f32) -> Vec<Keypoint> {
    (0..KEYPOINTS)
        .filter_map(|k| {
            let map = maps.index_axis(Axis(0), k);
            let ((y, x), &score) = map.indexed_iter().max_by(|a, b| a.1.total_cmp(b.1))?;
            (score >= threshold).then(|| Keypoint {
                index: k,
                x: (x as f64 + maps[[KEYPOINTS, y, x]] as f64) * stride / at.scale,
                y: (y as f64 + maps[[KEYPOINTS + 1, y, x]] as f64) * stride / at.scale,
                confidence: score as f64,
            })
        })
        .collect()
}

/// Keypoints as (image pixels, pitch metres).
pub(super) fn pairs(found: &[Keypoint], pitch: &Pitch) -> Vec<Pair> {
    let at = pitch.keypoints();
    found.iter().map(|k| ((k.x, k.y), at[k.index])).collect()
}

/// The frame's homography from the keypoints found, with the ones it agrees with; `None` when fewer than
/// `MIN_INLIERS` agree on one.
pub fn calibrate(found: &[Keypoint], pitch: &Pitch) -> Option<(Homography, Vec<Keypoint>)> {
    let (h, inliers) = Homography::ransac(&pairs(found, pitch), TOLERANCE_M, RANSAC_ROUNDS)?;
    let kept: Vec<Keypoint> = found.iter().zip(&inliers).filter(|(_, i)| **i).map(|(k, _)| *k).collect();
    (kept.len() >= MIN_INLIERS).then_some((h, kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keypoints_seen_by_a_camera_calibrate_it_and_an_outlier_is_set_aside() {
        let pitch = Pitch::default();
        // A camera's view of the left half: pitch -> image, then the keypoints it sees.
        let to_image = Homography([[12.0, -4.0, 100.0], [0.3, 9.0, 80.0], [0.0004, -0.002, 1.0]]);
        let mut found: Vec<Keypoint> = [0, 1, 4, 6, 7, 9, 12, 13, 14, 30]
            .iter()
            .map(|&k| {
                let (x, y) = to_image.apply(pitch.keypoints()[k]).unwrap();
                Keypoint { index: k, x, y, confidence: 0.9 }
            })
            .collect();
        found[3].x += 60.0;
        let (h, kept) = calibrate(&found, &pitch).unwrap();
        assert_eq!(kept.len(), 9);
        assert!(kept.iter().all(|k| k.index != 6));
        let (x, y) = h.apply((found[0].x, found[0].y)).unwrap();
        assert!(x.abs() < 1e-6 && y.abs() < 1e-6, "({x}, {y})");
        assert!(calibrate(&found[..4], &pitch).is_none(), "four points fit anything");
    }
}
