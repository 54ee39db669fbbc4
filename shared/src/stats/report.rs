//! The figures as people read them: per player and per team, derived from the stats state alone.

use serde::{Deserialize, Serialize};

use super::team::{Grid, Link, TeamStats};
use super::{Runner, StatsState};
use crate::detect::Class;
use crate::pitch::Pitch;

/// Tracks measured for less than this are fragments (a false detection, a track cut by an occlusion) and
/// left out of the player list; their minutes still count in the team figures.
const MIN_PLAYER_SECONDS: f64 = 1.0;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatsReport {
    pub pitch: Pitch,
    pub players: Vec<PlayerReport>,
    pub teams: Vec<TeamReport>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlayerReport {
    pub track_id: u64,
    pub team: Option<u8>,
    pub role: Option<Class>,
    /// Seconds of movement measured (in view and tracked).
    pub seconds: f64,
    pub distance_m: f64,
    /// Fastest mean speed over one second.
    pub top_speed_kmh: f64,
    /// Seconds walking (under 7 km/h), jogging (7-15), running (15-25) and sprinting (over 25).
    pub walking_s: f64,
    pub jogging_s: f64,
    pub running_s: f64,
    pub sprinting_s: f64,
    /// Runs over 25 km/h lasting at least a second.
    pub sprints: u32,
    pub average_position: Option<[f64; 2]>,
    /// Positions dropped as faster than a human runs.
    pub jumps_filtered: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamReport {
    pub team: u8,
    /// The way the team attacks, +1 towards x = length or -1 towards x = 0, from where its players stood
    /// (the team further from the origin defends that end); none until the team has been seen.
    pub attacks: Option<i8>,
    /// Shares of the team's time on the ball, in percent, with the owner in its defensive, middle and
    /// attacking third.
    pub possession_by_third: Option<[f64; 3]>,
    pub length_m: Option<f64>,
    pub width_m: Option<f64>,
    /// Frames the shape was measured on (at least seven outfield players in view).
    pub shape_frames: u64,
    pub passes: u64,
    pub passes_measured: u64,
    pub mean_pass_length_m: Option<f64>,
    /// Under 10 m, 10-20, 20-30, 30 and over.
    pub pass_lengths: [u64; 4],
    /// Forward, backward, sideways (within 45 degrees of across), as the team attacks.
    pub pass_directions: Option<[u64; 3]>,
    pub pass_network: Vec<Link>,
    pub heatmap: Heatmap,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Heatmap {
    pub grid: Grid,
    /// Player-frames per cell, `grid.cols` per row, the first row along y = 0.
    pub counts: Vec<u64>,
}

pub fn report(state: &StatsState, pitch: Pitch, fps: f64) -> StatsReport {
    let players = state
        .runners
        .iter()
        .filter(|(_, r)| r.seconds >= MIN_PLAYER_SECONDS)
        .map(|(&id, r)| player(id, r, fps))
        .collect();
    let grid = Grid::of(pitch);
    let centre = |t: &TeamStats| centroid_x(t, &grid);
    let attacks = match (centre(&state.teams[0]), centre(&state.teams[1])) {
        (Some(a), Some(b)) => [Some(if a <= b { 1 } else { -1 }), Some(if b < a { 1 } else { -1 })],
        (a, b) => [a, b].map(|c| c.map(|x| if x <= pitch.length / 2.0 { 1 } else { -1 })),
    };
    let teams = state.teams.iter().zip(attacks).enumerate().map(|(i, (t, a))| team(i as u8, t, a, grid)).collect();
    StatsReport { pitch, players, teams }
}

fn player(track_id: u64, r: &Runner, fps: f64) -> PlayerReport {
    let round = |v: f64, places: i32| (v * 10f64.powi(places)).round() / 10f64.powi(places);
    let [walking_s, jogging_s, running_s, sprinting_s] = r.bands.map(|s| round(s, 1));
    PlayerReport {
        track_id,
        team: r.team(),
        role: r.role,
        seconds: round(r.seconds, 1),
        distance_m: round(r.distance(), 1),
        top_speed_kmh: round(r.top_speed(fps) * 3.6, 1),
        walking_s,
        jogging_s,
        running_s,
        sprinting_s,
        sprints: r.sprints,
        average_position: r.average().map(|p| p.map(|v| round(v, 2))),
        jumps_filtered: r.rejected,
    }
}

fn team(index: u8, t: &TeamStats, attacks: Option<i8>, grid: Grid) -> TeamReport {
    let round1 = |v: f64| (v * 10.0).round() / 10.0;
    let owned: u64 = t.possession_thirds.iter().sum();
    let forward = attacks.unwrap_or(1) > 0;
    let possession_by_third = (owned > 0 && attacks.is_some()).then(|| {
        let mut thirds = t.possession_thirds.map(|f| round1(100.0 * f as f64 / owned as f64));
        if !forward {
            thirds.reverse();
        }
        thirds
    });
    let shape = |sum: f64| (t.shape_frames > 0).then(|| round1(sum / t.shape_frames as f64));
    let p = &t.passes;
    let pass_directions = attacks.map(|_| {
        let [up, down, across] = p.towards;
        if forward { [up, down, across] } else { [down, up, across] }
    });
    TeamReport {
        team: index,
        attacks,
        possession_by_third,
        length_m: shape(t.length_sum),
        width_m: shape(t.width_sum),
        shape_frames: t.shape_frames,
        passes: p.count,
        passes_measured: p.measured,
        mean_pass_length_m: (p.measured > 0).then(|| round1(p.length_sum / p.measured as f64)),
        pass_lengths: p.lengths,
        pass_directions,
        pass_network: p.network.clone(),
        heatmap: Heatmap {
            grid,
            counts: if t.heatmap.is_empty() { vec![0; grid.cols * grid.rows] } else { t.heatmap.clone() },
        },
    }
}

/// Mean x of a team's heatmap.
fn centroid_x(t: &TeamStats, grid: &Grid) -> Option<f64> {
    let (n, sum) =
        t.heatmap.iter().enumerate().fold((0u64, 0.0), |(n, sum), (i, &c)| {
            (n + c, sum + c as f64 * ((i % grid.cols) as f64 + 0.5) * grid.cell_m)
        });
    (n > 0).then(|| sum / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirds_and_pass_directions_are_turned_to_the_way_each_team_attacks() {
        let pitch = Pitch::default();
        let grid = Grid::of(pitch);
        let mut state = StatsState::default();
        // Team 0 stands near x = 20, team 1 near x = 80: team 0 attacks towards x = 105.
        state.teams[0].place(&grid, [20.0, 30.0]);
        state.teams[1].place(&grid, [80.0, 30.0]);
        state.teams[0].own(pitch, [90.0, 30.0]);
        state.teams[1].own(pitch, [90.0, 30.0]);
        state.teams[1].passes.add(Some(1), Some(2), Some(([60.0, 30.0], [40.0, 30.0])));
        let r = report(&state, pitch, 25.0);
        assert_eq!((r.teams[0].attacks, r.teams[1].attacks), (Some(1), Some(-1)));
        assert_eq!(r.teams[0].possession_by_third, Some([0.0, 0.0, 100.0]));
        assert_eq!(r.teams[1].possession_by_third, Some([100.0, 0.0, 0.0]));
        assert_eq!(r.teams[1].pass_directions, Some([1, 0, 0]));
        assert_eq!(r.teams[1].mean_pass_length_m, Some(20.0));
    }
}
