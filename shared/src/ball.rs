//! The ball: at most one per frame, implausible jumps rejected, short gaps filled by interpolation.

use serde::{Deserialize, Serialize};

use crate::detect::Detection;
use crate::geometry::distance;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BallConfig {
    pub min_confidence: f64,
    /// Fastest plausible ball speed, in frame widths per second.
    pub max_speed: f64,
    /// Gaps up to this many frames are interpolated.
    pub max_gap_frames: u64,
    /// After this many frames without a ball any detection is accepted again.
    pub reacquire_frames: u64,
}

impl Default for BallConfig {
    fn default() -> Self {
        BallConfig { min_confidence: 0.3, max_speed: 1.5, max_gap_frames: 12, reacquire_frames: 12 }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BallPoint {
    pub frame: u64,
    pub x: f64,
    pub y: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BallState {
    /// Last detected (not interpolated) position.
    pub last: Option<BallPoint>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BallPosition {
    pub x: f64,
    pub y: f64,
    pub interpolated: bool,
}

/// Ball position per frame of a segment; `frames[i]` holds the ball detections of frame `first_frame + i`.
pub fn track_segment(
    mut state: BallState,
    config: &BallConfig,
    fps: f64,
    width: u32,
    first_frame: u64,
    frames: &[Vec<&Detection>],
) -> (BallState, Vec<Option<BallPosition>>) {
    let max_step = config.max_speed * width as f64 / fps;
    // The sighting before this segment anchors a gap that spans the boundary.
    let mut anchor = state.last;
    let mut seen: Vec<Option<BallPoint>> = Vec::with_capacity(frames.len());
    for (i, dets) in frames.iter().enumerate() {
        let frame = first_frame + i as u64;
        let recent = state.last.filter(|l| frame - l.frame <= config.reacquire_frames);
        let candidates = dets.iter().filter(|d| d.confidence >= config.min_confidence).map(|d| {
            let (x, y) = d.bbox.center();
            (x, y, d.confidence)
        });
        let pick = match recent {
            Some(last) => candidates
                .map(|(x, y, _)| (x, y, distance((x, y), (last.x, last.y))))
                .filter(|&(_, _, d)| d <= max_step * (frame - last.frame) as f64 + 0.01 * width as f64)
                .min_by(|a, b| a.2.total_cmp(&b.2))
                .map(|(x, y, _)| (x, y)),
            None => candidates.max_by(|a, b| a.2.total_cmp(&b.2)).map(|(x, y, _)| (x, y)),
        };
        let point = pick.map(|(x, y)| BallPoint { frame, x, y });
        if point.is_some() {
            state.last = point;
        }
        seen.push(point);
    }
    let mut out: Vec<Option<BallPosition>> =
        seen.iter().map(|p| p.map(|p| BallPosition { x: p.x, y: p.y, interpolated: false })).collect();
    for p in &seen {
        let Some(p) = p else { continue };
        if let Some(a) = anchor {
            let gap = p.frame - a.frame;
            if gap > 1 && gap <= config.max_gap_frames + 1 {
                for f in a.frame + 1..p.frame {
                    if f < first_frame {
                        continue;
                    }
                    let t = (f - a.frame) as f64 / gap as f64;
                    out[(f - first_frame) as usize] =
                        Some(BallPosition { x: a.x + t * (p.x - a.x), y: a.y + t * (p.y - a.y), interpolated: true });
                }
            }
        }
        anchor = Some(*p);
    }
    (state, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::Class;
    use crate::geometry::BBox;

    fn ball(x: f64, y: f64, confidence: f64) -> Detection {
        Detection { bbox: BBox::from_center(x, y, 6.0, 6.0), confidence, class: Class::Ball }
    }

    #[test]
    fn short_gaps_are_interpolated_and_a_far_jump_is_rejected() {
        let d0 = ball(100.0, 100.0, 0.9);
        let d3 = ball(130.0, 100.0, 0.9);
        let far = ball(1200.0, 600.0, 0.95);
        let frames = vec![vec![&d0], vec![], vec![&far], vec![&d3]];
        let (_, out) = track_segment(BallState::default(), &BallConfig::default(), 25.0, 1280, 0, &frames);
        let xs: Vec<f64> = out.iter().map(|p| p.unwrap().x).collect();
        assert_eq!(xs, vec![100.0, 110.0, 120.0, 130.0]);
        assert!(out[1].unwrap().interpolated && !out[3].unwrap().interpolated);
    }
}
