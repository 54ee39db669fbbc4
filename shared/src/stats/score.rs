//! Distances and top speeds against a synthetic match's truth.
//!
//! Each truth player is compared with the track that followed him most; only tracks that followed one
//! person (nine frames in ten) for at least ten seconds are compared, over the stretches that track
//! followed him, joined across gaps of up to two seconds as the runner joins them. (While another track
//! had him, that track ran his metres: an identity switch, which `evaluate` counts on its own.)

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::StatsState;
use super::runner::MAX_GAP_SECONDS;
use crate::detect::Class;
use crate::eval::matches;
use crate::pipeline::SegmentOutput;
use crate::pitch::distance;
use crate::pitch::score::quantile;
use crate::truth::Truth;

const MIN_SECONDS: f64 = 10.0;
const MIN_PURITY: f64 = 0.9;
/// The targets a player's figures are held to: distance within this share of the truth's, in percent...
pub const DISTANCE_WITHIN_PCT: f64 = 3.0;
/// ...and top speed within this, in km/h.
pub const TOP_SPEED_WITHIN_KMH: f64 = 1.0;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhysicalScore {
    /// Players compared.
    pub players: usize,
    /// Distance covered: relative error, in percent (median, largest), and the share within 3 %.
    pub distance_error_pct: Option<f64>,
    pub distance_error_max_pct: Option<f64>,
    pub distance_within_3pct: f64,
    /// The median of the signed relative errors, in percent: above 0 when we read players as running
    /// farther than they did.
    pub distance_bias_pct: Option<f64>,
    /// Top speed: error in km/h (median, largest), and the share within 1 km/h.
    pub top_speed_error_kmh: Option<f64>,
    pub top_speed_error_max_kmh: Option<f64>,
    pub top_speed_within_1kmh: f64,
    /// The median of the signed errors, in km/h: above 0 when we read players as faster than they were.
    #[serde(default)]
    pub top_speed_bias_kmh: Option<f64>,
    /// Each player compared, by truth id: which of them the figures above come from.
    #[serde(default)]
    pub compared: Vec<PlayerScore>,
}

/// One truth player against the track that followed him most, over the stretches it did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlayerScore {
    pub truth_id: u32,
    pub track: u64,
    /// Seconds the track followed him.
    pub seconds: f64,
    pub truth_m: f64,
    pub measured_m: f64,
    pub truth_top_kmh: f64,
    pub measured_top_kmh: f64,
}

impl PlayerScore {
    /// Signed, in percent of the truth: above 0 when read as running farther.
    pub fn distance_error_pct(&self) -> f64 {
        100.0 * (self.measured_m - self.truth_m) / self.truth_m.max(1.0)
    }

    /// Signed: above 0 when read as faster.
    pub fn top_speed_error_kmh(&self) -> f64 {
        self.measured_top_kmh - self.truth_top_kmh
    }

    /// Whether both figures meet their targets.
    pub fn within_targets(&self) -> bool {
        self.distance_error_pct().abs() <= DISTANCE_WITHIN_PCT
            && self.top_speed_error_kmh().abs() <= TOP_SPEED_WITHIN_KMH
    }
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
    let mut compared = Vec::new();
    for (&id, positions) in &path {
        let best = pairs.iter().filter(|((p, _), _)| *p == id).max_by_key(|(_, frames)| frames.len());
        let Some(((_, track), frames)) = best else { continue };
        let (Some(runner), Some(&seen)) = (stats.runners.get(track), seen.get(track)) else { continue };
        if (frames.len() as f64) < MIN_SECONDS * fps || (frames.len() as f64) < MIN_PURITY * seen as f64 {
            continue;
        }
        let (truth_m, truth_top) = truly(positions, frames, fps);
        compared.push(PlayerScore {
            truth_id: id,
            track: *track,
            seconds: frames.len() as f64 / fps,
            truth_m,
            measured_m: runner.distance(),
            truth_top_kmh: truth_top * 3.6,
            measured_top_kmh: runner.top_speed(fps) * 3.6,
        });
    }
    let mut signed: Vec<f64> = compared.iter().map(PlayerScore::distance_error_pct).collect();
    let mut speed_signed: Vec<f64> = compared.iter().map(PlayerScore::top_speed_error_kmh).collect();
    let within = |v: &[f64], limit: f64| {
        if v.is_empty() { 0.0 } else { v.iter().filter(|&&e| e <= limit).count() as f64 / v.len() as f64 }
    };
    let largest = |v: &[f64]| v.iter().copied().reduce(f64::max);
    let mut distance: Vec<f64> = signed.iter().map(|e| e.abs()).collect();
    let mut speed: Vec<f64> = speed_signed.iter().map(|e| e.abs()).collect();
    PhysicalScore {
        players: distance.len(),
        distance_within_3pct: within(&distance, DISTANCE_WITHIN_PCT),
        distance_error_max_pct: largest(&distance),
        distance_error_pct: quantile(&mut distance, 0.5),
        distance_bias_pct: quantile(&mut signed, 0.5),
        top_speed_within_1kmh: within(&speed, TOP_SPEED_WITHIN_KMH),
        top_speed_error_max_kmh: largest(&speed),
        top_speed_error_kmh: quantile(&mut speed, 0.5),
        top_speed_bias_kmh: quantile(&mut speed_signed, 0.5),
        compared,
    }
}

/// The true distance over the stretches of `held` frames (joined across gaps up to `MAX_GAP_SECONDS`),
/// and the fastest one-second mean speed within a stretch. `positions` holds the frames he is seen in.
fn truly(positions: &BTreeMap<u64, [f64; 2]>, held: &[u64], fps: f64) -> (f64, f64) {
    let second = fps.round() as u64;
    let gap = (MAX_GAP_SECONDS * fps) as u64;
    let (mut total, mut top) = (0.0, 0.0f64);
    let mut start = held.first().copied().unwrap_or_default();
    for pair in held.windows(2) {
        let (before, f) = (pair[0], pair[1]);
        if f - before > gap {
            start = f;
            continue;
        }
        // The truth has no place for him on frames he is out of the picture (or wholly hidden): there the
        // straight line between the places it has, the least he ran and what the runner draws.
        let known: Vec<[f64; 2]> = positions.range(before..=f).map(|(_, &at)| at).collect();
        total += known.windows(2).map(|w| distance(w[0], w[1])).sum::<f64>();
        let earlier = f.checked_sub(second).filter(|&b| b >= start).and_then(|b| positions.get(&b));
        if let (Some(&a), Some(&b)) = (earlier, positions.get(&f)) {
            top = top.max(distance(a, b) * fps / second as f64);
        }
    }
    (total, top)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_player_is_measured_only_over_the_stretches_his_track_followed_him() {
        // 2 m/s along x for 40 s at 25 fps; the track has him for 0-10 s, loses him for 1 s (joined:
        // the runner draws a line across), then for 20-30 s after an 8 s gap (not joined).
        let positions: BTreeMap<u64, [f64; 2]> = (0..1000).map(|f| (f, [f as f64 * 2.0 / 25.0, 30.0])).collect();
        let held: Vec<u64> = (0..250).chain(275..300).chain(500..750).collect();
        let (metres, top) = truly(&positions, &held, 25.0);
        assert!((metres - 2.0 * (299.0 + 249.0) / 25.0).abs() < 1e-9, "{metres}");
        assert!((top - 2.0).abs() < 1e-9, "{top}");
    }

    #[test]
    fn a_player_out_of_the_picture_within_a_joined_gap_ran_at_least_the_straight_line() {
        // 2 m/s along x for 4 s; out of the picture (no truth place) for the second in the middle, where the
        // track lost him too and the runner joins his path across.
        let positions: BTreeMap<u64, [f64; 2]> =
            (0..100).filter(|f| !(40..65).contains(f)).map(|f| (f, [f as f64 * 2.0 / 25.0, 30.0])).collect();
        let held: Vec<u64> = (0..38).chain(67..100).collect();
        let (metres, _) = truly(&positions, &held, 25.0);
        assert!((metres - 2.0 * 99.0 / 25.0).abs() < 1e-9, "{metres}");
    }
}
