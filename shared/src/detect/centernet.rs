//! TacticEYE's own detector layout (`tacticeye_format = centernet-1` in the model metadata, built by
//! `models/train_detector.py`). The frame is scaled to `input_height` rows and padded right and below to
//! multiples of 32; input `[N, 3, H, W]` RGB in 0..1. Output `[N, 9, H/stride, W/stride]`, one cell per
//! `stride` input pixels: person and ball scores already reduced to 3x3 peaks (0 elsewhere), the person's
//! role probabilities (player, goalkeeper, referee), box width and height in input pixels, and the object
//! centre's offset within its cell.

use ndarray::ArrayView3;

use super::{Class, Detection, Detections, nms};
use crate::geometry::BBox;
use crate::source::Frame;

pub const FORMAT: &str = "centernet-1";
const CHANNELS: [&str; 9] = ["person", "ball", "player", "goalkeeper", "referee", "w", "h", "dx", "dy"];
const ROLES: [Class; 3] = [Class::Player, Class::Goalkeeper, Class::Referee];
/// The model finds the ball's centre, not its extent: a box of a typical ball's size at the input scale.
const BALL_SIDE: f64 = 6.0;
/// Candidates kept per frame; the ball stage picks among them.
const MAX_BALLS: usize = 5;
/// Two people whose boxes overlap more than this are one person found twice.
const PERSON_IOU: f64 = 0.5;

#[derive(Clone, Debug, PartialEq)]
pub struct CenterNetDecoder {
    pub stride: f64,
    pub input_height: u32,
    pub person_threshold: f32,
    pub ball_threshold: f32,
}

impl CenterNetDecoder {
    /// From the model's metadata; `get` looks a key up.
    pub fn from_metadata(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<CenterNetDecoder> {
        let number = |key: &str| -> anyhow::Result<f64> {
            let v = get(key).ok_or_else(|| anyhow::anyhow!("metadata `{key}` is missing"))?;
            v.trim().parse().map_err(|_| anyhow::anyhow!("metadata `{key}` is not a number: {v:?}"))
        };
        let channels = get("channels").unwrap_or_default();
        if channels.split(',').map(str::trim).ne(CHANNELS) {
            anyhow::bail!("metadata `channels` must be {}, got {channels:?}", CHANNELS.join(","));
        }
        let decoder = CenterNetDecoder {
            stride: number("stride")?,
            input_height: number("input_height")? as u32,
            person_threshold: number("person_threshold")? as f32,
            ball_threshold: number("ball_threshold")? as f32,
        };
        if !(decoder.stride >= 1.0 && decoder.input_height >= 32) {
            anyhow::bail!("metadata stride {} / input_height {} are not usable", decoder.stride, decoder.input_height);
        }
        Ok(decoder)
    }

    /// The scale from frame to input pixels and the input's padded width and height.
    pub fn input_size(&self, width: u32, height: u32) -> (f64, u32, u32) {
        let scale = self.input_height as f64 / height as f64;
        let pad = |v: f64| ((v / 32.0).ceil() as u32).max(1) * 32;
        (scale, pad(width as f64 * scale), pad(self.input_height as f64))
    }

    pub fn check_shape(&self, shape: &[usize]) -> anyhow::Result<()> {
        if shape.len() != 4 || shape[1] != CHANNELS.len() {
            anyhow::bail!("model output must be [N, {}, H/stride, W/stride], got {shape:?}", CHANNELS.len());
        }
        Ok(())
    }

    /// One frame's `[9, rows, cols]` maps to detections in the frame's pixels.
    pub fn decode(&self, maps: ArrayView3<f32>, frame: &Frame, scale: f64) -> Detections {
        let (rows, cols) = (maps.shape()[1], maps.shape()[2]);
        let mut people = Vec::new();
        let mut balls = Vec::new();
        let at = |y: usize, x: usize| {
            let cx = (x as f64 + maps[[7, y, x]] as f64) * self.stride / scale;
            let cy = (y as f64 + maps[[8, y, x]] as f64) * self.stride / scale;
            (cx, cy)
        };
        for y in 0..rows {
            for x in 0..cols {
                let person = maps[[0, y, x]];
                if person >= self.person_threshold {
                    let role = (0..3).max_by(|&a, &b| maps[[2 + a, y, x]].total_cmp(&maps[[2 + b, y, x]])).unwrap_or(0);
                    let (cx, cy) = at(y, x);
                    let (w, h) = (maps[[5, y, x]] as f64 / scale, maps[[6, y, x]] as f64 / scale);
                    people.push(Detection {
                        bbox: BBox::from_center(cx, cy, w, h).clip(frame.width, frame.height),
                        confidence: person as f64,
                        class: ROLES[role],
                    });
                }
                let ball = maps[[1, y, x]];
                if ball >= self.ball_threshold {
                    let (cx, cy) = at(y, x);
                    let side = BALL_SIDE / scale;
                    balls.push(Detection {
                        bbox: BBox::from_center(cx, cy, side, side).clip(frame.width, frame.height),
                        confidence: ball as f64,
                        class: Class::Ball,
                    });
                }
            }
        }
        // Roles differ but a person is one person: suppression across roles.
        people.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        let mut kept: Detections = Vec::with_capacity(people.len());
        for p in people {
            if kept.iter().all(|k| k.bbox.iou(&p.bbox) < PERSON_IOU) {
                kept.push(p);
            }
        }
        let mut balls = nms(balls, 0.3);
        balls.truncate(MAX_BALLS);
        kept.extend(balls);
        kept
    }
}

#[cfg(test)]
mod tests {
    use ndarray::Array3;

    use super::*;

    fn decoder() -> CenterNetDecoder {
        CenterNetDecoder { stride: 4.0, input_height: 540, person_threshold: 0.3, ball_threshold: 0.5 }
    }

    fn frame() -> Frame {
        Frame { index: 0, width: 1920, height: 1080, rgb: Vec::new() }
    }

    #[test]
    fn metadata_must_name_the_channels_and_thresholds() {
        let meta = |k: &str| match k {
            "channels" => Some(CHANNELS.join(",")),
            "stride" => Some("4".into()),
            "input_height" => Some("540".into()),
            "person_threshold" => Some("0.3".into()),
            "ball_threshold" => Some("0.5".into()),
            _ => None,
        };
        assert_eq!(CenterNetDecoder::from_metadata(meta).unwrap(), decoder());
        let err = CenterNetDecoder::from_metadata(|k| if k == "ball_threshold" { None } else { meta(k) }).unwrap_err();
        assert!(err.to_string().contains("ball_threshold"), "{err}");
        assert!(
            CenterNetDecoder::from_metadata(|k| if k == "channels" { Some("a,b".into()) } else { meta(k) }).is_err()
        );
    }

    #[test]
    fn a_1080p_frame_is_fed_at_half_size_padded_to_multiples_of_32() {
        assert_eq!(decoder().input_size(1920, 1080), (0.5, 960, 544));
        let (scale, w, h) = decoder().input_size(848, 478);
        assert!((scale - 540.0 / 478.0).abs() < 1e-12);
        assert_eq!((w, h), (960, 544));
    }

    #[test]
    fn peaks_decode_to_boxes_in_frame_pixels_with_roles_and_the_ball() {
        let mut maps = Array3::<f32>::zeros((9, 136, 240));
        // A referee centred at input (41, 82): cell (10, 20) plus offset (0.25, 0.5); box 12 x 28 input px.
        for (c, v) in [(0, 0.9), (4, 0.8), (2, 0.1), (3, 0.1), (5, 12.0), (6, 28.0), (7, 0.25), (8, 0.5)] {
            maps[[c, 20, 10]] = v;
        }
        // Below the person threshold: nothing.
        maps[[0, 50, 50]] = 0.2;
        // The ball at input (402, 202).
        maps[[1, 50, 100]] = 0.7;
        maps[[7, 50, 100]] = 0.5;
        maps[[8, 50, 100]] = 0.5;
        let dets = decoder().decode(maps.view(), &frame(), 0.5);
        assert_eq!(dets.len(), 2, "{dets:?}");
        assert_eq!(dets[0].class, Class::Referee);
        assert_eq!(dets[0].bbox, BBox::from_center(82.0, 164.0, 24.0, 56.0));
        assert_eq!(dets[1].class, Class::Ball);
        assert_eq!(dets[1].bbox.center(), (804.0, 404.0));
    }
}
