//! Distances and top speeds against a synthetic match's truth.
//!
//! Each truth player is compared with the track that followed him most; only tracks that followed one
//! person (nine frames in ten) for at least ten seconds are compared, over the frames of the track's life
//! where he was in view.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::StatsState;
use crate::detect::Class;
use crate::eval::matches;
use crate::pipeline::SegmentOutput;
use crate::pitch::score::quantile;
use crate::truth::Truth;

const MIN_SECONDS: f64 = 10.0;
const MIN_PURITY: f64 = 0.9;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhysicalScore {
    /// Players compared.
    pub players: usize,
    /// Distance covered: relative error, in percent (median, largest), and the share within 3 %.
    pub distance_error_pct: Option<f64>,
    pub distance_error_max_pct: Option<f64>,
    pub distance_within_3pct: f64,
    /// Top speed: error in km/h (median, largest), and the share within 1 km/h.
    pub top_speed_error_kmh: Option<f64>,
    pub top_speed_error_max_kmh: Option<f64>,
    pub top_speed_within_1kmh: f64,
}

pub fn score(truth: &Truth, outputs: &[SegmentOutput], stats: &StatsState) -> PhysicalScore {
    // (truth id, track) -> frames matched; track -> frames seen; and each truth id's positions by frame.
    let mut pairs: BTreeMap<(u32, u64), Vec<u64>> = BTreeMap::new();
    let mut seen: BTreeMap<u64, u64> = BTreeMap::new();
    let mut path: BTreeMap<u32, BTreeMap<u64, [f64; 2]>> = BTreeMap::new();
    for f in outputs.iter().flat_map(|o| &o.frames) {
        let Some(t) = truth.frame(f.frame) else { continue };
        f.objects.iter().for_each(|o| *seen.entry(o.track_id).or_default() += 1);
        for p in t.people.iter().filter(|p| p.role != Class::Referee) {
            if let Some(at) = p.pitch {
                path.entry(p.id).or_default().insert(f.frame, at);
            }
        }
        for (i, j) in matches(&t.people, &f.objects) {
            pairs.entry((t.people[i].id, f.objects[j].track_id)).or_default().push(f.frame);
        }
    }
    let fps = truth.fps;
    let (mut distance, mut speed) = (Vec::new(), Vec::new());
    for (&id, positions) in &path {
        let best = pairs.iter().filter(|((p, _), _)| *p == id).max_by_key(|(_, frames)| frames.len());
        let Some(((_, track), frames)) = best else { continue };
        let (Some(runner), Some(&seen)) = (stats.runners.get(track), seen.get(track)) else { continue };
        if (frames.len() as f64) < MIN_SECONDS * fps || (frames.len() as f64) < MIN_PURITY * seen as f64 {
            continue;
        }
        let span = frames[0]..=*frames.last().expect("at least ten seconds of frames");
        let (truth_distance, truth_top) = truly(positions, span, fps);
        distance.push(100.0 * (runner.distance - truth_distance).abs() / truth_distance.max(1.0));
        speed.push((runner.top_speed - truth_top).abs() * 3.6);
    }
    let within = |v: &[f64], limit: f64| {
        if v.is_empty() { 0.0 } else { v.iter().filter(|&&e| e <= limit).count() as f64 / v.len() as f64 }
    };
    let largest = |v: &[f64]| v.iter().copied().reduce(f64::max);
    PhysicalScore {
        players: distance.len(),
        distance_within_3pct: within(&distance, 3.0),
        distance_error_max_pct: largest(&distance),
        distance_error_pct: quantile(&mut distance, 0.5),
        top_speed_within_1kmh: within(&speed, 1.0),
        top_speed_error_max_kmh: largest(&speed),
        top_speed_error_kmh: quantile(&mut speed, 0.5),
    }
}

/// The true distance over consecutive frames in view within `span`, and the fastest one-second mean speed.
fn truly(positions: &BTreeMap<u64, [f64; 2]>, span: std::ops::RangeInclusive<u64>, fps: f64) -> (f64, f64) {
    let second = fps.round() as u64;
    let (mut total, mut top) = (0.0, 0.0f64);
    for (&f, &at) in positions.range(span.clone()) {
        if let Some(&before) = positions.get(&(f.wrapping_sub(1))).filter(|_| f > *span.start()) {
            total += crate::pitch::distance(before, at);
        }
        if let Some(&before) = f.checked_sub(second).filter(|b| span.contains(b)).and_then(|b| positions.get(&b)) {
            top = top.max(crate::pitch::distance(before, at) * fps / second as f64);
        }
    }
    (total, top)
}
