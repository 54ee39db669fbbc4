//! Scores a detector against labelled images (YOLO text labels): people recall and precision at an IoU
//! (any role), role accuracy on matched people, and the ball as a top-1 point within 10 pixels.

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use super::{Class, Detection};
use crate::geometry::BBox;

/// How far the top ball candidate may be from a labelled ball to count as found.
pub const BALL_RADIUS: f64 = 10.0;

/// What a label file's class index means.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LabelKind {
    /// A person; the role when the data set labels it.
    Person(Option<Class>),
    Ball,
}

/// Class names by label index, e.g. `ball,goalkeeper,player,referee`; `person` is a person of unknown role
/// and `ignore` a class left out of the score.
pub fn parse_classes(spec: &str) -> anyhow::Result<Vec<Option<LabelKind>>> {
    spec.split(',')
        .map(|name| match name.trim().to_ascii_lowercase().as_str() {
            "ball" | "sports ball" => Ok(Some(LabelKind::Ball)),
            "person" => Ok(Some(LabelKind::Person(None))),
            "ignore" => Ok(None),
            other => match Class::from_name(other) {
                Some(class) if class.is_person() => Ok(Some(LabelKind::Person(Some(class)))),
                _ => anyhow::bail!(
                    "unknown label class {other:?}: use ball, goalkeeper, player, referee, person or ignore"
                ),
            },
        })
        .collect()
}

#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub kind: LabelKind,
    pub bbox: BBox,
}

/// One image's labels (`class cx cy w h`, normalised) in its pixels; a missing file is an image with none.
pub fn read_labels(path: &Path, width: u32, height: u32, classes: &[Option<LabelKind>]) -> anyhow::Result<Vec<Label>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read labels {}", path.display()))?;
    let (w, h) = (width as f64, height as f64);
    let mut labels = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let bad = || anyhow::anyhow!("{} line {}: expected `class cx cy w h`", path.display(), n + 1);
        let fields: Vec<&str> = line.split_whitespace().collect();
        let class: usize = fields.first().and_then(|c| c.parse().ok()).ok_or_else(bad)?;
        let v: Vec<f64> =
            fields.get(1..5).ok_or_else(bad)?.iter().map(|f| f.parse()).collect::<Result<_, _>>().map_err(|_| bad())?;
        let kind = classes
            .get(class)
            .with_context(|| format!("{} line {}: class {class} is not in --classes", path.display(), n + 1))?;
        if let Some(kind) = kind {
            labels.push(Label { kind: *kind, bbox: BBox::from_center(v[0] * w, v[1] * h, v[2] * w, v[3] * h) });
        }
    }
    Ok(labels)
}

/// Counts over the images scored so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Tally {
    pub images: u64,
    pub people_labelled: u64,
    pub people_found: u64,
    pub people_matched: u64,
    /// Matched people whose label has a role, and how many of those got it right.
    pub roles_labelled: u64,
    pub roles_right: u64,
    /// Images with a labelled ball; images where the detector named a ball; of those, within 10 px.
    pub ball_images: u64,
    pub ball_predicted: u64,
    pub ball_hits: u64,
}

impl Tally {
    pub fn add(&mut self, detections: &[Detection], labels: &[Label], iou: f64) {
        self.images += 1;
        let mut people: Vec<&Detection> = detections.iter().filter(|d| d.class.is_person()).collect();
        people.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        let truth: Vec<&Label> = labels.iter().filter(|l| matches!(l.kind, LabelKind::Person(_))).collect();
        let mut taken = vec![false; truth.len()];
        for d in &people {
            let best = truth
                .iter()
                .enumerate()
                .filter(|(i, l)| !taken[*i] && d.bbox.iou(&l.bbox) >= iou)
                .max_by(|(_, a), (_, b)| d.bbox.iou(&a.bbox).total_cmp(&d.bbox.iou(&b.bbox)));
            if let Some((i, label)) = best {
                taken[i] = true;
                self.people_matched += 1;
                if let LabelKind::Person(Some(role)) = label.kind {
                    self.roles_labelled += 1;
                    self.roles_right += u64::from(role == d.class);
                }
            }
        }
        self.people_labelled += truth.len() as u64;
        self.people_found += people.len() as u64;

        let balls: Vec<(f64, f64)> =
            labels.iter().filter(|l| l.kind == LabelKind::Ball).map(|l| l.bbox.center()).collect();
        self.ball_images += u64::from(!balls.is_empty());
        let top =
            detections.iter().filter(|d| d.class == Class::Ball).max_by(|a, b| a.confidence.total_cmp(&b.confidence));
        if let Some(top) = top {
            self.ball_predicted += 1;
            let (x, y) = top.bbox.center();
            self.ball_hits += u64::from(balls.iter().any(|(bx, by)| (x - bx).hypot(y - by) <= BALL_RADIUS));
        }
    }

    pub fn score(&self, seconds: f64) -> DetectorScore {
        let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        DetectorScore {
            people_recall: ratio(self.people_matched, self.people_labelled),
            people_precision: ratio(self.people_matched, self.people_found),
            role_accuracy: (self.roles_labelled > 0).then(|| ratio(self.roles_right, self.roles_labelled)),
            ball_hit_rate: ratio(self.ball_hits, self.ball_images),
            ball_precision: ratio(self.ball_hits, self.ball_predicted),
            frames_per_second: self.images as f64 / seconds.max(1e-9),
            counts: self.clone(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DetectorScore {
    pub people_recall: f64,
    pub people_precision: f64,
    /// None where no matched person has a labelled role.
    pub role_accuracy: Option<f64>,
    /// Of images with a labelled ball, those whose top ball candidate is within 10 px of one.
    pub ball_hit_rate: f64,
    /// Of images where the detector named a ball, those within 10 px of a labelled one.
    pub ball_precision: f64,
    /// Images per second through the detector alone (decoding the image files not counted).
    pub frames_per_second: f64,
    pub counts: Tally,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(b: [f64; 4], confidence: f64, class: Class) -> Detection {
        Detection { bbox: b.into(), confidence, class }
    }

    fn label(b: [f64; 4], kind: LabelKind) -> Label {
        Label { kind, bbox: b.into() }
    }

    #[test]
    fn label_classes_name_roles_people_of_unknown_role_and_ignored_classes() {
        let classes = parse_classes("ball,goalkeeper,player,referee").unwrap();
        assert_eq!(classes[0], Some(LabelKind::Ball));
        assert_eq!(classes[1], Some(LabelKind::Person(Some(Class::Goalkeeper))));
        assert_eq!(parse_classes("person, ignore").unwrap(), vec![Some(LabelKind::Person(None)), None]);
        assert!(parse_classes("ball,car").is_err());
    }

    #[test]
    fn labels_are_read_in_image_pixels_and_bad_lines_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        std::fs::write(&path, "2 0.5 0.5 0.1 0.2\n0 0.25 0.25 0.01 0.01\n").unwrap();
        let labels = read_labels(&path, 200, 100, &parse_classes("ball,goalkeeper,player,referee").unwrap()).unwrap();
        assert_eq!(labels[0].bbox, BBox::from_center(100.0, 50.0, 20.0, 20.0));
        assert_eq!(labels[1].kind, LabelKind::Ball);
        assert!(read_labels(&dir.path().join("none.txt"), 200, 100, &[]).unwrap().is_empty());
        std::fs::write(&path, "2 0.5 x\n").unwrap();
        let err = read_labels(&path, 200, 100, &parse_classes("ball,goalkeeper,player,referee").unwrap()).unwrap_err();
        assert!(err.to_string().contains("a.txt line 1"), "{err}");
    }

    #[test]
    fn people_match_once_at_the_iou_roles_count_on_matches_and_the_ball_is_top_one_within_ten_pixels() {
        let labels = [
            label([0.0, 0.0, 10.0, 20.0], LabelKind::Person(Some(Class::Player))),
            label([100.0, 0.0, 110.0, 20.0], LabelKind::Person(Some(Class::Referee))),
            label([300.0, 300.0, 310.0, 310.0], LabelKind::Ball),
        ];
        let dets = [
            det([0.0, 0.0, 10.0, 20.0], 0.9, Class::Player),
            det([1.0, 0.0, 11.0, 20.0], 0.8, Class::Player), // the same person again: unmatched
            det([100.0, 0.0, 110.0, 20.0], 0.7, Class::Player), // wrong role
            det([500.0, 500.0, 506.0, 506.0], 0.3, Class::Ball),
            det([302.0, 303.0, 308.0, 309.0], 0.6, Class::Ball), // top ball, 1 px away
        ];
        let mut tally = Tally::default();
        tally.add(&dets, &labels, 0.5);
        tally.add(&[], &labels, 0.5);
        let s = tally.score(1.0);
        assert_eq!((tally.people_matched, tally.people_found, tally.people_labelled), (2, 3, 4));
        assert_eq!(s.role_accuracy, Some(0.5));
        assert_eq!((tally.ball_images, tally.ball_predicted, tally.ball_hits), (2, 1, 1));
        assert_eq!((s.ball_hit_rate, s.ball_precision), (0.5, 1.0));
        assert_eq!(s.frames_per_second, 2.0);
    }
}
