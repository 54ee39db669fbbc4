//! Team classification: an unsupervised two-team split of shirt colours (grass excluded), then per-track
//! votes so a player's team is stable even when a frame's colour is off. Referees belong to no team;
//! a goalkeeper joins the team whose players stand nearer to him.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::detect::Class;
use crate::geometry::distance;
use crate::track::{FrameTracks, PersonDetection};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamsConfig {
    /// Shirt samples needed before the two kits are fitted.
    pub min_samples: usize,
    /// Least RGB distance between the two kits for the split to be trusted.
    pub min_kit_distance: f64,
    /// A vote counts only when the nearer kit is this much nearer than the other (ratio of distances).
    pub vote_margin: f64,
}

impl Default for TeamsConfig {
    fn default() -> Self {
        TeamsConfig { min_samples: 40, min_kit_distance: 40.0, vote_margin: 0.75 }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TeamState {
    /// Mean shirt colour of team 0 and team 1, once fitted.
    pub kits: Option<[[f64; 3]; 2]>,
    /// Votes per live track for team 0 and team 1.
    pub votes: BTreeMap<u64, [u32; 2]>,
}

impl TeamState {
    pub fn team_of(&self, track: u64) -> Option<u8> {
        match self.votes.get(&track) {
            Some([a, b]) if a > b => Some(0),
            Some([a, b]) if b > a => Some(1),
            _ => None,
        }
    }
}

fn colour_distance(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// Two-means with a deterministic farthest-point start, so a resumed run fits the same kits.
fn two_means(samples: &[[f64; 3]]) -> [[f64; 3]; 2] {
    let mean = |pts: &[&[f64; 3]]| -> [f64; 3] {
        let n = pts.len().max(1) as f64;
        let mut m = [0.0; 3];
        for p in pts {
            for c in 0..3 {
                m[c] += p[c] / n;
            }
        }
        m
    };
    let all: Vec<&[f64; 3]> = samples.iter().collect();
    let centre = mean(&all);
    let far = |from: &[f64; 3]| {
        *samples.iter().max_by(|a, b| colour_distance(a, from).total_cmp(&colour_distance(b, from))).expect("samples")
    };
    let mut kits = [far(&centre), [0.0; 3]];
    kits[1] = far(&kits[0]);
    for _ in 0..20 {
        let (mut a, mut b): (Vec<&[f64; 3]>, Vec<&[f64; 3]>) = (Vec::new(), Vec::new());
        for s in samples {
            if colour_distance(s, &kits[0]) <= colour_distance(s, &kits[1]) { a.push(s) } else { b.push(s) }
        }
        if a.is_empty() || b.is_empty() {
            break;
        }
        kits = [mean(&a), mean(&b)];
    }
    kits
}

/// Team of every tracked person of every frame of one segment (`None`: referee or not yet known).
pub fn assign_segment(
    mut state: TeamState,
    config: &TeamsConfig,
    frames: &[(FrameTracks, Vec<PersonDetection>)],
) -> (TeamState, Vec<Vec<Option<u8>>>) {
    if state.kits.is_none() {
        let samples: Vec<[f64; 3]> = frames
            .iter()
            .flat_map(|(tracks, dets)| {
                tracks.tracked.iter().filter(|t| t.role == Class::Player).map(|t| &dets[t.detection].appearance)
            })
            .filter(|a| a.pixels >= 8)
            .map(|a| a.colour)
            .collect();
        if samples.len() >= config.min_samples {
            let kits = two_means(&samples);
            if colour_distance(&kits[0], &kits[1]) >= config.min_kit_distance {
                state.kits = Some(kits);
            }
        }
    }
    let mut teams = Vec::with_capacity(frames.len());
    for (tracks, dets) in frames {
        if let Some(kits) = state.kits {
            for t in tracks.tracked.iter().filter(|t| t.role == Class::Player) {
                let look = &dets[t.detection].appearance;
                if look.pixels < 8 {
                    continue;
                }
                let d = [colour_distance(&look.colour, &kits[0]), colour_distance(&look.colour, &kits[1])];
                let (near, far) = if d[0] <= d[1] { (0, 1) } else { (1, 0) };
                if d[near] < config.vote_margin * d[far] {
                    vote(&mut state, t.track_id, near);
                }
            }
            vote_goalkeepers(&mut state, tracks);
        }
        teams.push(
            tracks
                .tracked
                .iter()
                .map(|t| if t.role == Class::Referee { None } else { state.team_of(t.track_id) })
                .collect(),
        );
        for id in &tracks.removed {
            state.votes.remove(id);
        }
    }
    (state, teams)
}

/// Votes are capped (both halve at the cap) so that a track that slipped onto another player follows
/// his team after a couple of seconds instead of keeping the old one for good.
const VOTE_CAP: u32 = 64;

fn vote(state: &mut TeamState, track: u64, team: usize) {
    let v = state.votes.entry(track).or_default();
    v[team] += 1;
    if v[team] >= VOTE_CAP {
        v[0] /= 2;
        v[1] /= 2;
    }
}

/// A goalkeeper votes for the team whose outfield players, on this frame, stand nearer to him on average.
fn vote_goalkeepers(state: &mut TeamState, tracks: &FrameTracks) {
    let mut sums = [(0.0, 0.0, 0u32); 2];
    for t in tracks.tracked.iter().filter(|t| t.role == Class::Player) {
        if let Some(team) = state.team_of(t.track_id) {
            let (x, y) = t.bbox.feet();
            let s = &mut sums[team as usize];
            *s = (s.0 + x, s.1 + y, s.2 + 1);
        }
    }
    if sums.iter().any(|s| s.2 == 0) {
        return;
    }
    let centroid = |s: (f64, f64, u32)| (s.0 / s.2 as f64, s.1 / s.2 as f64);
    for t in tracks.tracked.iter().filter(|t| t.role == Class::Goalkeeper) {
        let feet = t.bbox.feet();
        let d0 = distance(feet, centroid(sums[0]));
        let d1 = distance(feet, centroid(sums[1]));
        if d0 != d1 {
            vote(state, t.track_id, usize::from(d1 < d0));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_means_separates_two_kits_whatever_the_order() {
        let mut samples = Vec::new();
        for i in 0..20 {
            let j = i as f64;
            samples.push([200.0 + j, 20.0, 30.0]);
            samples.push([240.0, 240.0 - j, 235.0]);
        }
        let kits = two_means(&samples);
        let reds = kits.iter().filter(|k| k[1] < 100.0).count();
        assert_eq!(reds, 1, "{kits:?}");
    }
}
