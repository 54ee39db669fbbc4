//! One person's path on the pitch, smoothed for measuring distance: a Kalman filter (constant velocity,
//! random acceleration) over his positions, and a Rauch-Tung-Striebel pass back over the newest `LAG`.
//!
//! A position read off a frame is off by the box's jitter times the metres a pixel covers there (metres,
//! for a far player's foot) plus the calibration's own error. Summed frame to frame, that noise reads as
//! running; averaged over a fixed window, a turning run's corners are cut. The filter weighs each position
//! by its own noise, so a near player's turn is kept and a far player's jitter is not. A position is
//! settled once `LAG` newer ones have been seen (or the path ends), and is not revised after.

use std::collections::VecDeque;

use nalgebra::{Matrix2, Matrix2x4, Matrix4, Vector2, Vector4};
use serde::{Deserialize, Serialize};

/// Spectral density of the random acceleration, m²/s³. Chosen on six synthetic matches: at 1.5 runs'
/// corners are cut, at 5 more of the calibration's wobble reads as running (with keyframes fitted freely;
/// on the mount, 4 read distances closer than 3 on all six; with the camera carried along its turns, 8
/// closer than 6 on all six, top speeds as close; 10 closer still but a top speed 1.5 km/h high). A fixed
/// camera reads better at 5.3: its positions are weighed as noisier instead (`stats::FIXED_CAMERA_NOISE`),
/// which is the same.
const ACCELERATION: f64 = 8.0;
/// Positions smoothed with this many newer ones (a second at 25 fps). The filter forgets in well under
/// that: 12 was a little worse than 25 and 25 as good as the whole path (0.01-0.1 % of distance on our
/// matches).
const LAG: usize = 25;
/// The prior on where a path starts and how fast, per axis: centred on the first position, but so wide
/// that the reading decides.
const START_SD_M: f64 = 10.0;
const START_SPEED_SD: f64 = 5.0;

/// A position read off one frame: seconds, metres, and its noise covariance (m²: xx, xy, yy).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub time: f64,
    pub at: [f64; 2],
    pub noise: [f64; 3],
}

/// The filter's belief at a time: position and velocity, and their covariance.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
struct Belief {
    time: f64,
    state: Vector4<f64>,
    cov: Matrix4<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Smoother {
    /// The filtered belief at the last settled reading; none before a path's first.
    filtered: Option<Belief>,
    /// Readings not settled yet, oldest first.
    pending: VecDeque<Reading>,
}

impl Smoother {
    /// Takes a reading; returns the oldest pending reading's time and position, smoothed, once it has `LAG`
    /// newer ones.
    pub fn push(&mut self, reading: Reading) -> Option<(f64, [f64; 2])> {
        self.pending.push_back(reading);
        if self.pending.len() <= LAG {
            return None;
        }
        let (filtered, smoothed) = self.pass();
        self.filtered = Some(filtered[0]);
        let settled = self.pending.pop_front()?;
        Some((settled.time, position(&smoothed[0])))
    }

    /// The pending readings' times and positions, smoothed with what is known now (the path's end as far as
    /// it has been seen).
    pub fn tail(&self) -> Vec<(f64, [f64; 2])> {
        if self.pending.is_empty() {
            return Vec::new();
        }
        self.pending.iter().zip(self.pass().1).map(|(r, s)| (r.time, position(&s))).collect()
    }

    /// The time of the newest reading, if the path has begun.
    pub fn last_time(&self) -> Option<f64> {
        // A path always has readings pending: one is settled only once `LAG` newer ones are.
        self.pending.back().map(|r| r.time)
    }

    /// Ends the path: the next reading starts a new one.
    pub fn clear(&mut self) {
        *self = Smoother::default();
    }

    /// Filters forward from the settled belief over the pending readings, then smooths back: the filtered
    /// and smoothed beliefs at each pending reading.
    fn pass(&self) -> (Vec<Belief>, Vec<Vector4<f64>>) {
        let first = self.pending[0];
        let mut belief = self.filtered.unwrap_or_else(|| Belief {
            time: first.time,
            state: Vector4::new(first.at[0], first.at[1], 0.0, 0.0),
            cov: Matrix4::from_diagonal(&Vector4::new(
                START_SD_M.powi(2),
                START_SD_M.powi(2),
                START_SPEED_SD.powi(2),
                START_SPEED_SD.powi(2),
            )),
        });
        let (mut predicted, mut filtered) = (Vec::with_capacity(LAG + 1), Vec::with_capacity(LAG + 1));
        for r in &self.pending {
            belief = predict(&belief, r.time);
            predicted.push(belief);
            belief = update(&belief, r);
            filtered.push(belief);
        }
        let mut smoothed = vec![belief.state; filtered.len()];
        for i in (0..filtered.len() - 1).rev() {
            let (f, next) = (&filtered[i], &predicted[i + 1]);
            let cross = transition(next.time - f.time) * f.cov;
            // The gain cov * F' * next.cov^-1, from a solve: next.cov is symmetric positive definite (every
            // reading's noise has a floor); were it not, the filtered belief would be kept (no gain).
            let gain = next.cov.cholesky().map_or(Matrix4::zeros(), |c| c.solve(&cross).transpose());
            smoothed[i] = f.state + gain * (smoothed[i + 1] - next.state);
        }
        (filtered, smoothed)
    }
}

fn position(state: &Vector4<f64>) -> [f64; 2] {
    [state[0], state[1]]
}

fn transition(dt: f64) -> Matrix4<f64> {
    let mut f = Matrix4::identity();
    f[(0, 2)] = dt;
    f[(1, 3)] = dt;
    f
}

/// The belief carried to `time`: moved at its velocity, less sure by the acceleration it may have had.
fn predict(b: &Belief, time: f64) -> Belief {
    let dt = time - b.time;
    let f = transition(dt);
    let q = ACCELERATION;
    let (pp, pv, vv) = (q * dt.powi(3) / 3.0, q * dt.powi(2) / 2.0, q * dt);
    #[rustfmt::skip]
    let noise = Matrix4::new(
        pp, 0.0, pv, 0.0,
        0.0, pp, 0.0, pv,
        pv, 0.0, vv, 0.0,
        0.0, pv, 0.0, vv,
    );
    Belief { time, state: f * b.state, cov: f * b.cov * f.transpose() + noise }
}

/// The belief corrected by a reading.
fn update(b: &Belief, r: &Reading) -> Belief {
    let h = Matrix2x4::new(1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0);
    let noise = Matrix2::new(r.noise[0], r.noise[1], r.noise[1], r.noise[2]);
    let innovation = Vector2::new(r.at[0], r.at[1]) - h * b.state;
    let Some(inverse) = (h * b.cov * h.transpose() + noise).try_inverse() else { return *b };
    let gain = b.cov * h.transpose() * inverse;
    let cov = (Matrix4::identity() - gain * h) * b.cov;
    Belief { time: b.time, state: b.state + gain * innovation, cov: (cov + cov.transpose()) / 2.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(time: f64, at: [f64; 2], sd: f64) -> Reading {
        Reading { time, at, noise: [sd * sd, 0.0, sd * sd] }
    }

    fn path_length(points: &[[f64; 2]]) -> f64 {
        points.windows(2).map(|w| (w[1][0] - w[0][0]).hypot(w[1][1] - w[0][1])).sum()
    }

    fn smooth(readings: impl Iterator<Item = Reading>) -> Vec<[f64; 2]> {
        let mut s = Smoother::default();
        let mut out: Vec<[f64; 2]> = readings.filter_map(|r| s.push(r).map(|(_, at)| at)).collect();
        out.extend(s.tail().into_iter().map(|(_, at)| at));
        out
    }

    #[test]
    fn a_straight_run_read_exactly_keeps_its_length() {
        let out = smooth((0..250).map(|f| reading(f as f64 / 25.0, [5.0 + 0.2 * f as f64, 30.0], 0.01)));
        assert_eq!(out.len(), 250);
        assert!((path_length(&out) - 0.2 * 249.0).abs() < 0.05, "{}", path_length(&out));
    }

    #[test]
    fn jitter_of_a_standing_player_is_mostly_taken_out() {
        // +-0.3 m each frame for 10 s: summed raw, about 100 m.
        let jitter = |f: f64| 0.3 * (f * 2.1).sin();
        let raw: Vec<[f64; 2]> = (0..250).map(|f| [50.0 + jitter(f as f64), 30.0 + jitter(f as f64 + 1.0)]).collect();
        let out = smooth(raw.iter().enumerate().map(|(f, &at)| reading(f as f64 / 25.0, at, 0.3)));
        assert!(path_length(&raw) > 80.0);
        assert!(path_length(&out) < 10.0, "{}", path_length(&out));
    }

    #[test]
    fn a_noisy_turning_run_is_measured_within_three_percent() {
        // 5 m/s round a circle of 8 m radius for 10 s (50 m), read with deterministic +-0.2 m jitter.
        let at = |t: f64| {
            let a = t * 5.0 / 8.0;
            [50.0 + 8.0 * a.cos() + 0.2 * (t * 53.0).sin(), 30.0 + 8.0 * a.sin() + 0.2 * (t * 71.0).cos()]
        };
        let out = smooth((0..251).map(|f| reading(f as f64 / 25.0, at(f as f64 / 25.0), 0.2)));
        assert!((path_length(&out) - 50.0).abs() < 1.5, "{}", path_length(&out));
    }

    #[test]
    fn a_smoother_resumed_from_json_settles_the_same_positions() {
        let readings: Vec<Reading> =
            (0..80).map(|f| reading(f as f64 / 25.0, [f as f64 * 0.1, (f as f64).sin()], 0.2)).collect();
        let mut whole = Smoother::default();
        let straight: Vec<_> = readings.iter().filter_map(|&r| whole.push(r)).collect();
        // Stopped before anything is settled, and after.
        for stop in [10, 37] {
            let mut first = Smoother::default();
            let mut resumed: Vec<_> = readings[..stop].iter().filter_map(|&r| first.push(r)).collect();
            let mut back: Smoother = serde_json::from_str(&serde_json::to_string(&first).unwrap()).unwrap();
            assert_eq!(back, first);
            resumed.extend(readings[stop..].iter().filter_map(|&r| back.push(r)));
            assert_eq!(resumed, straight);
            assert_eq!(back.tail(), whole.tail());
        }
    }
}
