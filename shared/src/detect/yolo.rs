//! The Ultralytics YOLOv8/11 export layout: input `[N, 3, H, W]` RGB in 0..1, letterboxed into a fixed
//! square; output `[N, 4 + classes, anchors]` with `cx, cy, w, h` in input pixels and per-class scores;
//! class names in the model metadata `names`.

use ndarray::ArrayViewD;

use super::{Class, Detection, Detections, nms};
use crate::geometry::BBox;
use crate::source::Frame;

/// Where a frame sits in the model's input: `input = frame * scale + (px, py)`.
#[derive(Clone, Copy, Debug)]
pub struct Placement {
    pub scale: f64,
    pub px: f64,
    pub py: f64,
}

/// Turns one image's `[4 + classes, anchors]` output into detections.
pub struct YoloDecoder {
    pub classes: Vec<Option<Class>>,
    pub confidence: f32,
    pub iou: f64,
}

impl YoloDecoder {
    pub fn from_names(names: &str) -> anyhow::Result<YoloDecoder> {
        let classes = parse_names(names);
        if !classes.iter().any(Option::is_some) {
            anyhow::bail!("none of the model's classes ({names}) is player, goalkeeper, referee or ball");
        }
        Ok(YoloDecoder { classes, confidence: 0.25, iou: 0.5 })
    }

    pub fn check_shape(&self, shape: &[usize]) -> anyhow::Result<()> {
        let classes = self.classes.len();
        if shape.len() != 3 || shape[1] != 4 + classes {
            anyhow::bail!("model output must be [N, 4 + {classes} classes, anchors], got {shape:?}");
        }
        Ok(())
    }

    pub fn decode(&self, out: ArrayViewD<f32>, frame: &Frame, at: Placement) -> Detections {
        let (channels, anchors) = (out.shape()[0], out.shape()[1]);
        let mut dets = Vec::new();
        for a in 0..anchors {
            let (mut best, mut score) = (0, f32::MIN);
            for c in 4..channels {
                if out[[c, a]] > score {
                    (best, score) = (c - 4, out[[c, a]]);
                }
            }
            let Some(Some(class)) = self.classes.get(best) else { continue };
            if score < self.confidence {
                continue;
            }
            let (cx, cy, w, h) = (out[[0, a]] as f64, out[[1, a]] as f64, out[[2, a]] as f64, out[[3, a]] as f64);
            let bbox = BBox::from_center((cx - at.px) / at.scale, (cy - at.py) / at.scale, w / at.scale, h / at.scale);
            dets.push(Detection {
                bbox: bbox.clip(frame.width, frame.height),
                confidence: score as f64,
                class: *class,
            });
        }
        nms(dets, self.iou)
    }
}

/// Parses Ultralytics' `names` metadata, a Python dict literal such as `{0: 'ball', 1: 'goalkeeper'}`
/// (JSON objects and lists of names are accepted too). Classes we do not know map to `None`.
pub fn parse_names(names: &str) -> Vec<Option<Class>> {
    if let Ok(list) = serde_json::from_str::<Vec<String>>(names) {
        return list.iter().map(|n| Class::from_name(n)).collect();
    }
    let mut indexed: Vec<(usize, Option<Class>)> = names
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .split(',')
        .filter_map(|pair| {
            let (k, v) = pair.split_once(':')?;
            let k = k.trim().trim_matches(|c| c == '"' || c == '\'').parse().ok()?;
            Some((k, Class::from_name(v.trim().trim_matches(|c| c == '"' || c == '\''))))
        })
        .collect();
    indexed.sort_by_key(|(k, _)| *k);
    let n = indexed.last().map_or(0, |(k, _)| k + 1);
    let mut classes = vec![None; n];
    for (k, c) in indexed {
        classes[k] = c;
    }
    classes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ultralytics_names_metadata_maps_to_our_classes() {
        let classes = parse_names("{0: 'ball', 1: 'goalkeeper', 2: 'player', 3: 'referee'}");
        assert_eq!(
            classes,
            vec![Some(Class::Ball), Some(Class::Goalkeeper), Some(Class::Player), Some(Class::Referee)]
        );
        assert_eq!(parse_names(r#"{"1": "person", "0": "car"}"#), vec![None, Some(Class::Player)]);
        assert_eq!(parse_names(r#"["player","ball"]"#), vec![Some(Class::Player), Some(Class::Ball)]);
    }
}
