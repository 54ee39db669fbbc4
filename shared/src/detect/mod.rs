//! Detection: one `Detections` list per frame, boxes in the frame's own pixels.

pub mod ballcheck;
pub mod centernet;
pub mod images;
pub mod onnx;
pub mod score;
pub mod truth;
pub mod yolo;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::geometry::BBox;
use crate::source::Frame;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    Player,
    Goalkeeper,
    Referee,
    Ball,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::Player => "player",
            Class::Goalkeeper => "goalkeeper",
            Class::Referee => "referee",
            Class::Ball => "ball",
        }
    }

    /// Maps a model's class name to ours; names of common exports are accepted too.
    pub fn from_name(name: &str) -> Option<Class> {
        match name.trim().to_ascii_lowercase().as_str() {
            "player" | "players" | "person" => Some(Class::Player),
            "goalkeeper" | "goalkeepers" | "keeper" => Some(Class::Goalkeeper),
            "referee" | "referees" => Some(Class::Referee),
            "ball" | "football" | "sports ball" => Some(Class::Ball),
            _ => None,
        }
    }

    pub fn is_person(self) -> bool {
        self != Class::Ball
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    #[serde(rename = "box")]
    pub bbox: BBox,
    pub confidence: f64,
    pub class: Class,
}

pub type Detections = Vec<Detection>;

/// A detector runs over a whole segment at once so that backends can batch.
pub trait Detector: Send {
    /// Names the model and its settings; a checkpoint made with another identity refuses to resume.
    fn identity(&self) -> String;
    fn detect(&mut self, frames: &[Frame]) -> anyhow::Result<Vec<Detections>>;
}

/// Which detector the user asked for.
#[derive(Clone, Debug, PartialEq)]
pub enum DetectorChoice {
    /// Our shipped model, `models/tacticeye-detector.onnx`, with its ball check `models/tacticeye-ball.onnx`.
    Default,
    /// Ground truth of a synthetic clip, with noise.
    Truth {
        truth: PathBuf,
        noise: truth::Noise,
    },
    Onnx(PathBuf),
}

impl DetectorChoice {
    /// From a command line: `default`, `truth` (with its truth file) or a model path.
    pub fn parse(name: &str, truth: Option<PathBuf>, noise: truth::Noise) -> anyhow::Result<DetectorChoice> {
        Ok(match name {
            "default" => DetectorChoice::Default,
            "truth" => DetectorChoice::Truth {
                truth: truth.ok_or_else(|| anyhow::anyhow!("--detector truth needs --truth FILE"))?,
                noise,
            },
            path => DetectorChoice::Onnx(PathBuf::from(path)),
        })
    }
}

pub fn open(choice: &DetectorChoice) -> anyhow::Result<Box<dyn Detector>> {
    match choice {
        DetectorChoice::Truth { truth, noise } => Ok(Box::new(truth::TruthDetector::open(truth, noise.clone())?)),
        DetectorChoice::Onnx(path) => Ok(Box::new(onnx::OnnxDetector::open(path)?)),
        DetectorChoice::Default => {
            let detector = onnx::OnnxDetector::open(&crate::models::DETECTOR.find()?)?;
            let check = ballcheck::BallCheck::open(&crate::models::BALL_CHECK.find()?)?;
            Ok(Box::new(detector.with_ball_check(check)?))
        }
    }
}

/// Greedy non-maximum suppression within each class, highest confidence first.
pub fn nms(mut dets: Vec<Detection>, iou_threshold: f64) -> Vec<Detection> {
    dets.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    let mut kept: Vec<Detection> = Vec::with_capacity(dets.len());
    for d in dets {
        if kept.iter().all(|k| k.class != d.class || k.bbox.iou(&d.bbox) < iou_threshold) {
            kept.push(d);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(b: [f64; 4], confidence: f64, class: Class) -> Detection {
        Detection { bbox: b.into(), confidence, class }
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes_of_one_class_only() {
        let kept = nms(
            vec![
                det([0.0, 0.0, 10.0, 20.0], 0.6, Class::Player),
                det([1.0, 0.0, 11.0, 20.0], 0.9, Class::Player),
                det([1.0, 0.0, 11.0, 20.0], 0.5, Class::Referee),
                det([50.0, 0.0, 60.0, 20.0], 0.4, Class::Player),
            ],
            0.5,
        );
        assert_eq!(kept.len(), 3);
        assert_eq!(kept[0].confidence, 0.9);
        assert!(kept.iter().any(|d| d.class == Class::Referee));
    }

    #[test]
    fn class_names_of_common_exports_map_to_ours() {
        assert_eq!(Class::from_name("Goalkeeper"), Some(Class::Goalkeeper));
        assert_eq!(Class::from_name("sports ball"), Some(Class::Ball));
        assert_eq!(Class::from_name("car"), None);
    }
}
