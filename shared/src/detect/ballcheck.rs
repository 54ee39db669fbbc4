//! The ball check (`tacticeye_format = ball-check-2`, built by `models/train_ball.py`): the detector sees
//! the frame at half size, where a ball is a few pixels wide, so its best ball candidate is often a sock,
//! a line or a head. The check looks again at each candidate in a small window of the full-resolution frame,
//! and in a wider one around it (a sock has a leg above it), and gives the probability that it is the ball.
//! The candidate's confidence becomes the geometric mean of the detector's score and that probability: on
//! the valid frames either alone ranks worse than both.
//!
//! Input `[N, 6, patch, patch]` RGB in 0..1: two windows centred on each candidate, of `span_at_1080` and
//! `context` times as many pixels of a 1080-row frame (scaled with the frame's height), one after the
//! other; output `[N]` probabilities.

use std::path::Path;

use anyhow::Context;
use ndarray::Array4;
use ort::session::Session;
use ort::value::TensorRef;

use super::{Class, Detections};
use crate::source::Frame;

pub const FORMAT: &str = "ball-check-2";
/// Balls kept per frame after the check, best first; the ball stage picks among them.
const KEEP: usize = 5;

pub struct BallCheck {
    session: Session,
    patch: usize,
    span_at_1080: f64,
    /// The wider window's span, in spans of the first.
    context: f64,
    /// How many of the detector's candidates the check sees, and from what detector score.
    pub candidates: usize,
    pub candidate_threshold: f32,
    /// Candidates whose confidence is less are not the ball.
    threshold: f64,
    pub identity: String,
}

impl BallCheck {
    pub fn open(path: &Path) -> anyhow::Result<BallCheck> {
        let (session, identity) = super::onnx::session(path)?;
        let unusable =
            |e: &dyn std::fmt::Display| anyhow::anyhow!("{} is not a usable ball check model: {e}", path.display());
        let keys = ["patch", "span_at_1080", "context", "candidates", "candidate_threshold", "threshold"];
        let n = super::onnx::own_metadata(&session, FORMAT, &keys).map_err(|e| unusable(&e))?;
        let [patch, span_at_1080, context, candidates, candidate_threshold, threshold] = n[..] else {
            unreachable!("one number per key")
        };
        let check = BallCheck {
            patch: patch as usize,
            span_at_1080,
            context,
            candidates: candidates as usize,
            candidate_threshold: candidate_threshold as f32,
            threshold,
            session,
            identity,
        };
        if !(8..=256).contains(&check.patch)
            || check.span_at_1080 < 4.0
            || !(1.0..=8.0).contains(&check.context)
            || check.candidates == 0
        {
            return Err(unusable(&"its patch, span, context or candidate count is out of range"));
        }
        Ok(check)
    }

    /// Each frame's ball candidates get their confidence from the detector's score and the check's
    /// probability; those under the check's threshold are dropped and the best `KEEP` kept.
    pub fn rescore(&mut self, frames: &[Frame], detections: &mut [Detections]) -> anyhow::Result<()> {
        let wanted: Vec<(usize, usize)> = detections
            .iter()
            .enumerate()
            .flat_map(|(f, dets)| {
                dets.iter().enumerate().filter(|(_, d)| d.class == Class::Ball).map(move |(i, _)| (f, i))
            })
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let p = self.patch;
        let mut input = Array4::<f32>::zeros((wanted.len(), 6, p, p));
        for (n, &(f, i)) in wanted.iter().enumerate() {
            let (cx, cy) = detections[f][i].bbox.center();
            let span = self.span_at_1080 * frames[f].height as f64 / 1080.0;
            let out = input.index_axis_mut(ndarray::Axis(0), n);
            let (near, wide) = out.into_slice().context("patch tensor is not contiguous")?.split_at_mut(3 * p * p);
            window(&frames[f], cx, cy, span, p, near);
            window(&frames[f], cx, cy, span * self.context, p, wide);
        }
        let outputs = self.session.run(ort::inputs![TensorRef::from_array_view(&input)?])?;
        let probs = outputs[0].try_extract_array::<f32>()?;
        let probs = probs.as_slice().context("ball check output is not contiguous")?;
        if probs.len() != wanted.len() {
            anyhow::bail!("the ball check answered {} probabilities for {} patches", probs.len(), wanted.len());
        }
        for (&(f, i), &p) in wanted.iter().zip(probs) {
            let d = &mut detections[f][i];
            d.confidence = (d.confidence * p as f64).sqrt();
        }
        for dets in detections.iter_mut() {
            let (mut balls, people): (Detections, Detections) =
                std::mem::take(dets).into_iter().partition(|d| d.class == Class::Ball);
            balls.retain(|b| b.confidence >= self.threshold);
            balls.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
            balls.truncate(KEEP);
            *dets = people;
            dets.extend(balls);
        }
        Ok(())
    }
}

/// The `size` x `size` window of `span` frame pixels centred at (cx, cy), sampled bilinearly with black
/// outside the frame, into `out` (`[3, size, size]`, RGB in 0..1). The training tool samples the same way.
fn window(frame: &Frame, cx: f64, cy: f64, span: f64, size: usize, out: &mut [f32]) {
    let (w, h) = (frame.width as i64, frame.height as i64);
    let step = span / size as f64;
    let pixel = |x: i64, y: i64, c: usize| -> f64 {
        if x < 0 || y < 0 || x >= w || y >= h { 0.0 } else { frame.rgb[((y * w + x) * 3) as usize + c] as f64 }
    };
    let plane = size * size;
    for row in 0..size {
        let sy = cy - span / 2.0 + (row as f64 + 0.5) * step - 0.5;
        let (y0, fy) = (sy.floor() as i64, sy - sy.floor());
        for col in 0..size {
            let sx = cx - span / 2.0 + (col as f64 + 0.5) * step - 0.5;
            let (x0, fx) = (sx.floor() as i64, sx - sx.floor());
            for c in 0..3 {
                let top = pixel(x0, y0, c) * (1.0 - fx) + pixel(x0 + 1, y0, c) * fx;
                let bottom = pixel(x0, y0 + 1, c) * (1.0 - fx) + pixel(x0 + 1, y0 + 1, c) * fx;
                out[c * plane + row * size + col] = ((top * (1.0 - fy) + bottom * fy) / 255.0) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_samples_the_frame_around_the_centre_and_is_black_outside_it() {
        // A 4 x 2 frame whose red channel is 10 * x + 100 * y.
        let rgb: Vec<u8> = (0..2).flat_map(|y| (0..4).flat_map(move |x| [10 * x + 100 * y, 0, 255])).collect();
        let frame = Frame { index: 0, width: 4, height: 2, rgb };
        let sample = |cx: f64| {
            let mut out = vec![0.0; 3 * 4 * 4];
            window(&frame, cx, 1.0, 4.0, 4, &mut out);
            out.into_iter().map(|v| (v * 255.0).round()).collect::<Vec<f32>>()
        };
        // One frame pixel per window pixel, centred on the frame's centre: the frame itself.
        let out = sample(2.0);
        let (red, blue) =
            (|row: usize, col: usize| out[row * 4 + col], |row: usize, col: usize| out[32 + row * 4 + col]);
        assert_eq!([red(1, 0), red(1, 3), red(2, 1)], [0.0, 30.0, 110.0]);
        assert_eq!((blue(1, 2), blue(0, 2), blue(3, 2)), (255.0, 0.0, 0.0), "rows 0 and 3 are outside");
        // Half a pixel right: halfway between neighbours.
        assert_eq!(sample(2.5)[4 + 1], 15.0);
    }
}
