//! TacticEYE's own detector layout (`tacticeye_format = centernet-2` in the model metadata, built by
//! `models/train_detector.py`). The frame is scaled to `input_height` rows and padded right and below to
//! multiples of 32; input `[N, 3, H, W]` RGB in 0..1. Two outputs, scores already reduced to 3x3 peaks
//! (0 elsewhere):
//! - people, `[N, 8, H/stride, W/stride]`, one cell per `stride` input pixels: the person score, the role
//!   probabilities (player, goalkeeper, referee), box width and height in input pixels, and the centre's
//!   offset within its cell;
//! - the ball, `[N, 3, H/ball_stride, W/ball_stride]`, on a finer grid because a ball is a few pixels
//!   wide: the ball score and the centre's offset within its cell.

use ndarray::ArrayView3;

use super::{Class, Detection, Detections, nms};
use crate::geometry::BBox;
use crate::source::Frame;

pub const FORMAT: &str = "centernet-2";
const CHANNELS: [&str; 8] = ["person", "player", "goalkeeper", "referee", "w", "h", "dx", "dy"];
const BALL_CHANNELS: [&str; 3] = ["ball", "dx", "dy"];
const ROLES: [Class; 3] = [Class::Player, Class::Goalkeeper, Class::Referee];
/// The model finds the ball's centre, not its extent: a box of a typical ball's size at the input scale.
const BALL_SIDE: f64 = 6.0;
/// Candidates kept per frame; the ball stage (or the ball check) picks among them.
const MAX_BALLS: usize = 5;
/// Two people whose boxes overlap more than this are one person found twice.
const PERSON_IOU: f64 = 0.5;

#[derive(Clone, Debug, PartialEq)]
pub struct CenterNetDecoder {
    pub stride: f64,
    pub ball_stride: f64,
    pub input_height: u32,
    pub person_threshold: f32,
    pub ball_threshold: f32,
    pub max_balls: usize,
}

impl CenterNetDecoder {
    /// From the model's metadata; `get` looks a key up.
    pub fn from_metadata(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<CenterNetDecoder> {
        let number = |key: &str| super::onnx::metadata_number(&get, key).map_err(anyhow::Error::msg);
        for (key, want) in [("channels", &CHANNELS[..]), ("ball_channels", &BALL_CHANNELS[..])] {
            let got = get(key).unwrap_or_default();
            if got.split(',').map(str::trim).ne(want.iter().copied()) {
                anyhow::bail!("metadata `{key}` must be {}, got {got:?}", want.join(","));
            }
        }
        let decoder = CenterNetDecoder {
            stride: number("stride")?,
            ball_stride: number("ball_stride")?,
            input_height: number("input_height")? as u32,
            person_threshold: number("person_threshold")? as f32,
            ball_threshold: number("ball_threshold")? as f32,
            max_balls: MAX_BALLS,
        };
        if !(decoder.stride >= 1.0 && decoder.ball_stride >= 1.0 && decoder.input_height >= 32) {
            anyhow::bail!(
                "metadata stride {} / ball_stride {} / input_height {} are not usable",
                decoder.stride,
                decoder.ball_stride,
                decoder.input_height
            );
        }
        Ok(decoder)
    }

    /// The scale from frame to input pixels and the input's padded width and height.
    pub fn input_size(&self, width: u32, height: u32) -> (f64, u32, u32) {
        let scale = self.input_height as f64 / height as f64;
        let pad = |v: f64| ((v / 32.0).ceil() as u32).max(1) * 32;
        (scale, pad(width as f64 * scale), pad(self.input_height as f64))
    }

    /// The people output's shape, then the ball output's.
    pub fn check_shapes(&self, people: &[usize], ball: &[usize]) -> anyhow::Result<()> {
        for (name, shape, want, stride) in
            [("people", people, CHANNELS.len(), "stride"), ("ball", ball, BALL_CHANNELS.len(), "ball_stride")]
        {
            if shape.len() != 4 || shape[1] != want {
                anyhow::bail!("the {name} output must be [N, {want}, H/{stride}, W/{stride}], got {shape:?}");
            }
        }
        Ok(())
    }

    /// One frame's `[8, rows, cols]` people maps and `[3, rows, cols]` ball maps to detections in the
    /// frame's pixels.
    pub fn decode(&self, maps: ArrayView3<f32>, ball: ArrayView3<f32>, frame: &Frame, scale: f64) -> Detections {
        let mut people = Vec::new();
        for ((y, x), &score) in maps.index_axis(ndarray::Axis(0), 0).indexed_iter() {
            if score < self.person_threshold {
                continue;
            }
            let role = (0..3).max_by(|&a, &b| maps[[1 + a, y, x]].total_cmp(&maps[[1 + b, y, x]])).unwrap_or(0);
            let cx = (x as f64 + maps[[6, y, x]] as f64) * self.stride / scale;
            let cy = (y as f64 + maps[[7, y, x]] as f64) * self.stride / scale;
            let (w, h) = (maps[[4, y, x]] as f64 / scale, maps[[5, y, x]] as f64 / scale);
            people.push(Detection {
                bbox: BBox::from_center(cx, cy, w, h).clip(frame.width, frame.height),
                confidence: score as f64,
                class: ROLES[role],
            });
        }
        let mut balls = Vec::new();
        for ((y, x), &score) in ball.index_axis(ndarray::Axis(0), 0).indexed_iter() {
            if score < self.ball_threshold {
                continue;
            }
            let cx = (x as f64 + ball[[1, y, x]] as f64) * self.ball_stride / scale;
            let cy = (y as f64 + ball[[2, y, x]] as f64) * self.ball_stride / scale;
            let side = BALL_SIDE / scale;
            balls.push(Detection {
                bbox: BBox::from_center(cx, cy, side, side).clip(frame.width, frame.height),
                confidence: score as f64,
                class: Class::Ball,
            });
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
        balls.truncate(self.max_balls);
        kept.extend(balls);
        kept
    }
}

#[cfg(test)]
mod tests {
    use ndarray::Array3;

    use super::*;

    fn decoder() -> CenterNetDecoder {
        CenterNetDecoder {
            stride: 4.0,
            ball_stride: 2.0,
            input_height: 540,
            person_threshold: 0.3,
            ball_threshold: 0.5,
            max_balls: MAX_BALLS,
        }
    }

    fn frame() -> Frame {
        Frame { index: 0, width: 1920, height: 1080, rgb: Vec::new() }
    }

    #[test]
    fn metadata_must_name_the_channels_and_thresholds() {
        let meta = |k: &str| match k {
            "channels" => Some(CHANNELS.join(",")),
            "ball_channels" => Some(BALL_CHANNELS.join(",")),
            "stride" => Some("4".into()),
            "ball_stride" => Some("2".into()),
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
        let err = CenterNetDecoder::from_metadata(|k| if k == "ball_stride" { None } else { meta(k) }).unwrap_err();
        assert!(err.to_string().contains("ball_stride"), "{err}");
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
        let mut maps = Array3::<f32>::zeros((8, 136, 240));
        // A referee centred at input (41, 82): cell (10, 20) plus offset (0.25, 0.5); box 12 x 28 input px.
        for (c, v) in [(0, 0.9), (3, 0.8), (1, 0.1), (2, 0.1), (4, 12.0), (5, 28.0), (6, 0.25), (7, 0.5)] {
            maps[[c, 20, 10]] = v;
        }
        // Below the thresholds: nothing.
        maps[[0, 50, 50]] = 0.2;
        let mut ball = Array3::<f32>::zeros((3, 272, 480));
        ball[[0, 10, 10]] = 0.4;
        // The ball at input (201, 101): cell (100, 50) of the stride-2 grid plus offset (0.5, 0.5).
        for (c, v) in [(0, 0.7), (1, 0.5), (2, 0.5)] {
            ball[[c, 50, 100]] = v;
        }
        let dets = decoder().decode(maps.view(), ball.view(), &frame(), 0.5);
        assert_eq!(dets.len(), 2, "{dets:?}");
        assert_eq!(dets[0].class, Class::Referee);
        assert_eq!(dets[0].bbox, BBox::from_center(82.0, 164.0, 24.0, 56.0));
        assert_eq!(dets[1].class, Class::Ball);
        assert_eq!(dets[1].bbox.center(), (402.0, 202.0));
    }
}
