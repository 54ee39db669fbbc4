//! One tracked person's running figures: distance, speeds, time in speed bands and sprints, from his
//! pitch positions frame by frame.
//!
//! Distance is the length of his path as the `smoother` settles it, position by position, and top speed
//! its fastest second. The speed bands are taken between averages of the last 0.8 s sampled every fifth
//! of a second, which are steadier. A position further than a human can run from the average of the last
//! second is dropped, and a track that stays there (another person under the same id) starts a new path.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::smoother::{Reading, Smoother};
use crate::detect::Class;
use crate::pitch::distance;

/// No one runs faster: about 36 km/h.
pub const MAX_SPEED: f64 = 10.0;
/// Walking below 7 km/h, jogging to 15, running to 25, sprinting above.
pub const BANDS_KMH: [f64; 3] = [7.0, 15.0, 25.0];
/// A sprint is at least this long above the top band's floor.
const SPRINT_SECONDS: f64 = 1.0;
const WINDOW_SECONDS: f64 = 1.0;
/// Speeds are measured between averages of this long.
const SPEED_MEAN_SECONDS: f64 = 0.8;
const STEP_SECONDS: f64 = 0.2;
/// Top speed is the fastest mean speed over this long.
const TOP_SPEED_SECONDS: f64 = 1.0;
/// A position this far beyond a human's reach from the average still passes (calibration noise).
const JUMP_SLACK_M: f64 = 2.0;
/// After this many rejected positions in a row the track is someone else now: a new path starts.
const MAX_REJECTED_IN_A_ROW: u32 = 5;
/// Samples further apart than this are not joined (the person was out of view).
pub const MAX_GAP_SECONDS: f64 = 2.0;

/// A position: global frame and metres.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    pub frame: f64,
    pub at: [f64; 2],
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Runner {
    /// Frames the track was given each team.
    pub team_votes: [u32; 2],
    pub role: Option<Class>,
    /// Accepted positions, and their sum for the average position.
    pub fixes: u64,
    pub sum: [f64; 2],
    /// Metres along the settled path; `distance()` adds the part not settled yet.
    settled_distance: f64,
    /// Metres per second over the settled path; `top_speed()` adds the part not settled yet.
    top_speed: f64,
    /// Seconds walking, jogging, running, sprinting.
    pub bands: [f64; 4],
    pub sprints: u32,
    /// Positions dropped as impossible jumps.
    pub rejected: u64,
    /// Seconds of the path being measured (between joined samples).
    pub seconds: f64,
    rejected_in_a_row: u32,
    /// Seconds above the sprint floor so far in the current run.
    sprinting_for: f64,
    /// Accepted positions of the last second.
    window: VecDeque<Fix>,
    /// The path being measured, and its last settled position.
    smoother: Smoother,
    last_settled: Option<[f64; 2]>,
    /// The last averaged sample, for the next step's speed band.
    sampled: Option<Fix>,
    /// Averaged samples of the last `TOP_SPEED_SECONDS`, the newest last.
    samples: VecDeque<Fix>,
    /// Settled positions (seconds, metres) of the last `TOP_SPEED_SECONDS`, the newest last.
    #[serde(default)]
    settled: VecDeque<(f64, [f64; 2])>,
}

/// Frames between samples at `fps`.
pub fn step_frames(fps: f64) -> u64 {
    ((fps * STEP_SECONDS).round() as u64).max(1)
}

impl Runner {
    pub fn team(&self) -> Option<u8> {
        let [a, b] = self.team_votes;
        (a + b > 0).then_some(u8::from(b > a))
    }

    pub fn average(&self) -> Option<[f64; 2]> {
        (self.fixes > 0).then(|| [self.sum[0] / self.fixes as f64, self.sum[1] / self.fixes as f64])
    }

    /// Metres covered, the path's part not settled yet included.
    pub fn distance(&self) -> f64 {
        self.distance_with(&self.smoother.tail())
    }

    /// Metres per second over the fastest second, the path's part not settled yet included (a match's
    /// last second, a run the camera leaves).
    pub fn top_speed(&self, fps: f64) -> f64 {
        self.top_speed_with(&self.smoother.tail(), fps)
    }

    /// `distance` with the unsettled part (`Smoother::tail`) given.
    fn distance_with(&self, tail: &[(f64, [f64; 2])]) -> f64 {
        let path: Vec<[f64; 2]> = self.last_settled.into_iter().chain(tail.iter().map(|&(_, at)| at)).collect();
        self.settled_distance + path.windows(2).map(|w| distance(w[0], w[1])).sum::<f64>()
    }

    /// `top_speed` with the unsettled part given.
    fn top_speed_with(&self, tail: &[(f64, [f64; 2])], fps: f64) -> f64 {
        let mut settled = self.settled.clone();
        tail.iter().fold(self.top_speed, |top, &reading| top.max(second_speed(&mut settled, reading, fps)))
    }

    /// Frees the buffers of a track that is gone; its figures stay.
    pub fn retire(&mut self, fps: f64) {
        self.end_path(fps);
        self.window = VecDeque::new();
        self.samples = VecDeque::new();
        self.sampled = None;
    }

    /// Settles the path measured so far: the next position starts a new one, not joined to it.
    fn end_path(&mut self, fps: f64) {
        let tail = self.smoother.tail();
        self.top_speed = self.top_speed_with(&tail, fps);
        self.settled.clear();
        self.settled_distance = self.distance_with(&tail);
        self.smoother.clear();
        self.last_settled = None;
    }

    /// The newest position seen, if the track is still being followed.
    pub fn last_frame(&self) -> Option<f64> {
        self.window.back().map(|f| f.frame)
    }

    /// Takes a position too rough to be checked against the last second or averaged into speeds (a box the
    /// picture's side cuts, whose bottom is not his feet): it only steers the smoothed path, with its noise.
    pub fn glimpse(&mut self, frame: u64, at: [f64; 2], noise: [f64; 3], fps: f64) {
        self.settle(Reading { time: frame as f64 / fps, at, noise }, fps);
    }

    /// Takes the position of `frame` with its noise covariance (m²: xx, xy, yy), and samples the speed on
    /// the frames that are multiples of `step_frames`.
    pub fn observe(&mut self, frame: u64, at: [f64; 2], noise: [f64; 3], fps: f64) {
        let fix = Fix { frame: frame as f64, at };
        let window = fps * WINDOW_SECONDS;
        self.window.retain(|f| fix.frame - f.frame < window);
        if let Some(mean) = mean(&self.window) {
            let reach = MAX_SPEED * (fix.frame - mean.frame) / fps + JUMP_SLACK_M;
            if distance(mean.at, at) > reach {
                self.rejected += 1;
                self.rejected_in_a_row += 1;
                if self.rejected_in_a_row < MAX_REJECTED_IN_A_ROW {
                    return;
                }
                self.retire(fps);
            }
        }
        self.rejected_in_a_row = 0;
        self.settle(Reading { time: fix.frame / fps, at, noise }, fps);
        self.window.push_back(fix);
        self.fixes += 1;
        self.sum = [self.sum[0] + at[0], self.sum[1] + at[1]];
        if frame.is_multiple_of(step_frames(fps)) {
            let within = self.window.iter().filter(|f| fix.frame - f.frame < SPEED_MEAN_SECONDS * fps);
            let averaged = mean(within).expect("the window holds this frame's position");
            let steady = self.steady_speed(averaged, fps);
            self.step(averaged, steady, fps);
        }
    }

    /// Pushes a reading through the smoother (a new path after a gap) and adds the step to the position it
    /// settles.
    fn settle(&mut self, reading: Reading, fps: f64) {
        // In whole frames, as `step` counts a gap.
        let gap = |last: f64| ((reading.time - last) * fps).round() / fps > MAX_GAP_SECONDS;
        if self.smoother.last_time().is_some_and(gap) {
            self.end_path(fps);
        }
        let Some((time, now)) = self.smoother.push(reading) else { return };
        if let Some(last) = self.last_settled.replace(now) {
            self.settled_distance += distance(last, now);
        }
        self.top_speed = self.top_speed.max(second_speed(&mut self.settled, (time, now), fps));
    }

    /// The time since the last sample in the band of `steady`, the speed over the last second (the step's
    /// own speed until a second is seen).
    fn step(&mut self, now: Fix, steady: Option<f64>, fps: f64) {
        let Some(last) = self.sampled.replace(now) else { return };
        let seconds = (now.frame - last.frame) / fps;
        let metres = distance(last.at, now.at);
        if seconds <= 0.0 || seconds > MAX_GAP_SECONDS || metres > MAX_SPEED * seconds {
            self.sprinting_for = 0.0;
            return;
        }
        self.seconds += seconds;
        let kmh = steady.unwrap_or(metres / seconds) * 3.6;
        let band = BANDS_KMH.iter().take_while(|&&floor| kmh >= floor).count();
        self.bands[band] += seconds;
        if band == 3 {
            let before = self.sprinting_for;
            self.sprinting_for += seconds;
            if before < SPRINT_SECONDS && self.sprinting_for >= SPRINT_SECONDS {
                self.sprints += 1;
            }
        } else {
            self.sprinting_for = 0.0;
        }
    }

    /// The mean speed over the last `TOP_SPEED_SECONDS`, from averaged samples.
    fn steady_speed(&mut self, now: Fix, fps: f64) -> Option<f64> {
        if self.samples.back().is_some_and(|last| (now.frame - last.frame) / fps > MAX_GAP_SECONDS) {
            self.samples.clear();
        }
        self.samples.push_back(now);
        while self.samples.len() > 2 && now.frame - self.samples[1].frame >= TOP_SPEED_SECONDS * fps {
            self.samples.pop_front();
        }
        let first = self.samples[0];
        let span = (now.frame - first.frame) / fps;
        let speed = distance(first.at, now.at) / span;
        if span < TOP_SPEED_SECONDS * 0.999 || speed > MAX_SPEED {
            return None;
        }
        Some(speed)
    }

    /// Counts a frame's team and role for the track.
    pub fn vote(&mut self, team: Option<u8>, role: Class) {
        if let Some(t) = team {
            self.team_votes[t as usize & 1] += 1;
        }
        self.role = Some(role);
    }
}

/// Adds a position (seconds, metres) to the path's last second (`path`, the newest last) and gives the speed
/// over that second, to the nearest frame, as a second's run is measured (0 before a second is seen, or
/// when faster than anyone runs).
fn second_speed(path: &mut VecDeque<(f64, [f64; 2])>, (time, now): (f64, [f64; 2]), fps: f64) -> f64 {
    let half_frame = 0.5 / fps;
    path.push_back((time, now));
    while path.front().is_some_and(|f| time - f.0 > TOP_SPEED_SECONDS + half_frame) {
        path.pop_front();
    }
    match path.front() {
        Some(&(then, at)) if time - then >= TOP_SPEED_SECONDS - half_frame => {
            let speed = distance(at, now) / (time - then);
            if speed <= MAX_SPEED { speed } else { 0.0 }
        }
        _ => 0.0,
    }
}

/// The mean position and time of some fixes: under steady motion, where the person was at that time.
fn mean<'a>(fixes: impl IntoIterator<Item = &'a Fix>) -> Option<Fix> {
    let (n, f, x, y) = fixes
        .into_iter()
        .fold((0.0, 0.0, 0.0, 0.0), |(n, f, x, y), p| (n + 1.0, f + p.frame, x + p.at[0], y + p.at[1]));
    (n > 0.0).then(|| Fix { frame: f / n, at: [x / n, y / n] })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Positions expected to be off by 0.15 m, the calibration's floor (they may be off by more).
    const NOISE: [f64; 3] = [0.0225, 0.0, 0.0225];

    fn run(path: impl Fn(f64) -> [f64; 2], frames: u64) -> Runner {
        let mut r = Runner::default();
        for f in 0..frames {
            r.observe(f, path(f as f64 / 25.0), NOISE, 25.0);
        }
        r
    }

    #[test]
    fn a_steady_run_covers_its_distance_at_its_speed() {
        // 6 m/s (21.6 km/h) along the touchline for 20 s: 119.76 m from the first position to the last.
        let r = run(|t| [10.0 + 6.0 * t, 30.0], 500);
        assert!((r.distance() - 6.0 * 499.0 / 25.0).abs() < 0.05, "{}", r.distance());
        assert!((r.top_speed(25.0) - 6.0).abs() < 0.01, "{}", r.top_speed(25.0));
        assert!(r.bands[2] > 18.0 && r.bands[3] == 0.0, "{:?}", r.bands);
        assert_eq!(r.sprints, 0);
    }

    #[test]
    fn a_run_filmed_at_a_broadcasts_odd_frame_rate_has_its_top_speed() {
        // 6 m/s at 29.97 fps: no two frames are exactly a second apart.
        let fps = 30000.0 / 1001.0;
        let mut r = Runner::default();
        for f in 0..300u64 {
            r.observe(f, [10.0 + 6.0 * f as f64 / fps, 30.0], NOISE, fps);
        }
        assert!((r.top_speed(25.0) - 6.0).abs() < 0.01, "{}", r.top_speed(25.0));
    }

    #[test]
    fn a_turning_run_keeps_its_distance() {
        // 5 m/s round a circle of 8 m radius (a turn every 10 s) for 20 s: 99.8 m.
        let r = run(|t| [50.0 + 8.0 * (t * 5.0 / 8.0).cos(), 30.0 + 8.0 * (t * 5.0 / 8.0).sin()], 500);
        assert!((r.distance() - 5.0 * 499.0 / 25.0).abs() < 0.5, "{}", r.distance());
    }

    #[test]
    fn noisy_positions_of_a_standing_player_add_little_distance() {
        // +-0.5 m of deterministic jitter each frame, standing still for 20 s.
        let r = run(|t| [50.0 + 0.5 * (t * 97.0).sin(), 30.0 + 0.5 * (t * 61.0).cos()], 500);
        assert!(r.distance() < 10.0, "{}", r.distance());
        assert!(r.top_speed(25.0) * 3.6 < 2.0, "{}", r.top_speed(25.0));
        assert!(r.bands[0] > 19.0);
    }

    #[test]
    fn a_jump_of_another_person_under_the_id_is_never_counted_as_running() {
        // Jogging, then for a tenth of a second a detection 30 m away, then back: never 36 km/h.
        let r = run(|t| if (10.0..10.1).contains(&t) { [80.0, 30.0] } else { [10.0 + 3.0 * t, 30.0] }, 500);
        assert!(r.rejected >= 2 && r.top_speed(25.0) < 3.1, "{} {}", r.rejected, r.top_speed(25.0));
        // Moved for good: a new path starts there, and the jump itself adds nothing.
        let r = run(|t| if t >= 10.0 { [80.0, 30.0] } else { [10.0, 30.0] }, 500);
        assert!(r.distance() < 2.0 && r.top_speed(25.0) < 1.0, "{} {}", r.distance(), r.top_speed(25.0));
    }

    #[test]
    fn glimpses_of_a_runner_cut_by_the_pictures_side_steer_his_path_without_adding_their_error() {
        // 6 m/s along the touchline for 20 s; for 1.2 s mid-run only a sliver of him is seen, its bottom
        // 4 m off across the pitch. Glimpsed, the path runs on; observed, the sliver's 8 m out and back count.
        let at = |f: u64| [10.0 + 6.0 * f as f64 / 25.0, 30.0];
        let sliver = |f: u64| (240..270).contains(&f);
        let cut_noise = [64.0, 0.0, 64.0];
        let mut glimpsed = Runner::default();
        let mut observed = Runner::default();
        for f in 0..500 {
            if sliver(f) {
                let off = [at(f)[0], 34.0];
                glimpsed.glimpse(f, off, cut_noise, 25.0);
                observed.observe(f, off, NOISE, 25.0);
            } else {
                glimpsed.observe(f, at(f), NOISE, 25.0);
                observed.observe(f, at(f), NOISE, 25.0);
            }
        }
        let truth = 6.0 * 499.0 / 25.0;
        assert!((glimpsed.distance() - truth).abs() < 0.01 * truth, "{}", glimpsed.distance());
        assert!(observed.distance() - truth > 0.03 * truth, "{}", observed.distance());
        assert_eq!(glimpsed.rejected, 0);
    }

    #[test]
    fn a_path_is_not_joined_across_a_gap_of_over_two_seconds() {
        // Jogging at 2 m/s, unseen for a while, then seen 20 m on and jogging again: across 3 s the
        // 20 m are not counted, across 1.9 s they are.
        for (gap, joined) in [(3.0, false), (1.9, true)] {
            let mut r = Runner::default();
            let mut ran = 0.0;
            for f in 0..1000u64 {
                let t = f as f64 / 25.0;
                if (10.0..10.0 + gap).contains(&t) {
                    continue;
                }
                let x = if t < 10.0 { 2.0 * t } else { 40.0 + 2.0 * (t - 10.0 - gap) };
                if f > 0 && t != 10.0 + gap {
                    ran += 2.0 / 25.0;
                }
                r.observe(f, [10.0 + x, 30.0], NOISE, 25.0);
            }
            let expected = ran + if joined { 20.0 } else { 0.0 };
            assert!((r.distance() - expected).abs() < 1.0, "gap {gap}: {} for {expected}", r.distance());
        }
    }

    #[test]
    fn a_burst_in_the_paths_last_second_counts_before_it_settles_and_once_the_track_is_retired() {
        // 2 m/s for 4 s, then 7 m/s for the last second seen (the match ends, or he runs out of the picture).
        let path = |t: f64| [if t < 4.0 { 2.0 * t } else { 8.0 + 7.0 * (t - 4.0) }, 30.0];
        let mut r = run(path, 126);
        let top = r.top_speed(25.0);
        assert!(top > 6.3, "{top}");
        r.retire(25.0);
        assert_eq!(r.top_speed(25.0), top);
    }

    #[test]
    fn a_sprint_is_a_second_above_25_kmh() {
        // 8 m/s for 3 s, then walking, then 8 m/s for 0.6 s (too short), then walking.
        let speed = |t: f64| if t < 3.0 || (6.0..6.6).contains(&t) { 8.0 } else { 1.0 };
        let mut r = Runner::default();
        let mut x = 0.0;
        for f in 0..250 {
            x += speed(f as f64 / 25.0) / 25.0;
            r.observe(f, [x, 10.0], NOISE, 25.0);
        }
        assert_eq!(r.sprints, 1);
        assert!((r.top_speed(25.0) * 3.6 - 28.8).abs() < 0.3, "{}", r.top_speed(25.0) * 3.6);
    }

    #[test]
    fn a_one_second_burst_is_measured_near_its_peak() {
        // 2 m/s, then 8 m/s for exactly a second (the true top speed), then 2 m/s again. A speed read
        // between averages smooths the peak: between averages of a whole second it reads 6.5 m/s.
        let speed = |t: f64| if (5.0..6.0).contains(&t) { 8.0 } else { 2.0 };
        let mut r = Runner::default();
        let mut x = 0.0;
        for f in 0..300 {
            x += speed(f as f64 / 25.0) / 25.0;
            r.observe(f, [x, 10.0], NOISE, 25.0);
        }
        assert!(r.top_speed(25.0) > 6.7 && r.top_speed(25.0) < 8.0, "{}", r.top_speed(25.0));
    }

    #[test]
    fn runner_round_trips_through_json_mid_path() {
        let r = run(|t| [10.0 + 6.0 * t, 30.0 + t.sin()], 37);
        let back: Runner = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }
}
