//! A simple match on a 105 x 68 m pitch: two 4-4-2 teams shifting with the ball, a carrier who dribbles
//! and passes, passes that are sometimes intercepted or misplaced, tackles, goalkeepers and a referee.
//! It records every change of the ball's owner as truth.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::detect::Class;
use crate::truth::{TruthEvent, TruthEventKind};

pub const LENGTH: f64 = 105.0;
pub const WIDTH: f64 = 68.0;

/// Home positions of a team defending x = 0: goalkeeper, 4 defenders, 4 midfielders, 2 forwards.
/// Radians per wander period. Deliberately 6.28, not TAU: every synthetic clip, and every figure measured
/// on one, is byte-stable on this value.
#[allow(clippy::approx_constant)]
const WANDER_TURN: f64 = 6.28;

const FORMATION: [(f64, f64); 11] = [
    (4.0, 34.0),
    (18.0, 10.0),
    (16.0, 27.0),
    (16.0, 41.0),
    (18.0, 58.0),
    (34.0, 12.0),
    (32.0, 28.0),
    (32.0, 40.0),
    (34.0, 56.0),
    (46.0, 26.0),
    (46.0, 42.0),
];

#[derive(Clone, Debug)]
pub struct Person {
    pub id: u32,
    pub role: Class,
    pub team: Option<u8>,
    pub pos: [f64; 2],
    pub vel: [f64; 2],
    home: [f64; 2],
    /// Wander: amplitude (m), period (s), phase.
    wander: (f64, f64, f64),
    /// Running-cycle phase for the legs.
    pub stride: f64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    Held {
        by: usize,
        until: u64,
    },
    /// Rolling; `from` kicked it on `kick_frame`; `aim` is the intended receiver.
    Rolling {
        from: usize,
        kick_frame: u64,
        aim: Option<usize>,
    },
}

pub struct Sim {
    pub people: Vec<Person>,
    pub ball: [f64; 2],
    ball_vel: [f64; 2],
    phase: Phase,
    /// Last player who had the ball under control, and the last frame he had it.
    last_owner: (usize, u64),
    pub frame: u64,
    dt: f64,
    rng: ChaCha8Rng,
    pub events: Vec<TruthEvent>,
}

fn dist(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

fn mirror(team: u8, p: (f64, f64)) -> [f64; 2] {
    if team == 0 { [p.0, p.1] } else { [LENGTH - p.0, WIDTH - p.1] }
}

impl Sim {
    pub fn new(seed: u64, fps: f64) -> Sim {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut people = Vec::new();
        for team in 0..2u8 {
            for (i, &slot) in FORMATION.iter().enumerate() {
                let home = mirror(team, slot);
                let jitter = [rng.random_range(-3.0..3.0), rng.random_range(-3.0..3.0)];
                people.push(Person {
                    id: people.len() as u32,
                    role: if i == 0 { Class::Goalkeeper } else { Class::Player },
                    team: Some(team),
                    pos: [home[0] + jitter[0], home[1] + jitter[1]],
                    vel: [0.0, 0.0],
                    home,
                    wander: (rng.random_range(1.0..4.0), rng.random_range(5.0..11.0), rng.random_range(0.0..6.3)),
                    stride: rng.random_range(0.0..6.3),
                });
            }
        }
        people.push(Person {
            id: people.len() as u32,
            role: Class::Referee,
            team: None,
            pos: [45.0, 40.0],
            vel: [0.0, 0.0],
            home: [52.5, 34.0],
            wander: (2.0, 8.0, 0.0),
            stride: 0.0,
        });
        // Kick-off: a team-0 forward has the ball.
        let starter = 9;
        let until = (rng.random_range(0.8..1.5) * fps) as u64;
        let mut sim = Sim {
            ball: people[starter].pos,
            people,
            ball_vel: [0.0, 0.0],
            phase: Phase::Held { by: starter, until },
            last_owner: (starter, 0),
            frame: 0,
            dt: 1.0 / fps,
            rng,
            events: Vec::new(),
        };
        sim.ball = sim.people[starter].pos;
        sim
    }

    fn attack_dir(team: u8) -> f64 {
        if team == 0 { 1.0 } else { -1.0 }
    }

    /// Advances one frame.
    pub fn step(&mut self) {
        self.frame += 1;
        let t = self.frame as f64 * self.dt;
        let holder_team = match self.phase {
            Phase::Held { by, .. } => self.people[by].team,
            Phase::Rolling { from, .. } => self.people[from].team,
        };
        let chasers = self.chasers();
        // Targets.
        let targets: Vec<([f64; 2], f64)> = (0..self.people.len())
            .map(|i| {
                let p = &self.people[i];
                let wander = [
                    p.wander.0 * (t * WANDER_TURN / p.wander.1 + p.wander.2).sin(),
                    p.wander.0 * (t * WANDER_TURN / p.wander.1 + 1.7 * p.wander.2).cos(),
                ];
                if chasers.contains(&i) {
                    return (self.chase_point(), 7.0);
                }
                match (p.role, p.team) {
                    (Class::Referee, _) => {
                        ([self.ball[0] - 8.0 + wander[0], (self.ball[1] + 10.0).min(WIDTH - 4.0)], 6.0)
                    }
                    (Class::Goalkeeper, Some(team)) => {
                        let goal_x = if team == 0 { 0.0 } else { LENGTH };
                        let out = 3.0 + 0.08 * (self.ball[0] - goal_x).abs();
                        ([goal_x + Self::attack_dir(team) * out.min(12.0), 34.0 + (self.ball[1] - 34.0) * 0.2], 4.0)
                    }
                    (_, Some(team)) => {
                        let push = if holder_team == Some(team) { 8.0 } else { -4.0 } * Self::attack_dir(team);
                        let x = p.home[0] + (self.ball[0] - 52.5) * 0.55 + push + wander[0];
                        let y = p.home[1] + (self.ball[1] - 34.0) * 0.3 + wander[1];
                        ([x.clamp(2.0, LENGTH - 2.0), y.clamp(2.0, WIDTH - 2.0)], 5.5)
                    }
                    _ => (p.pos, 0.0),
                }
            })
            .collect();
        // The carrier dribbles toward the opponents' goal.
        if let Phase::Held { by, .. } = self.phase {
            let team = self.people[by].team.unwrap_or(0);
            let p = &self.people[by];
            let goal = [if team == 0 { LENGTH } else { 0.0 }, 34.0];
            let d = dist(p.pos, goal).max(1.0);
            let dir = [(goal[0] - p.pos[0]) / d, (goal[1] - p.pos[1]) / d + 0.3 * (t * 0.9 + by as f64).sin()];
            let target = [p.pos[0] + dir[0] * 10.0, p.pos[1] + dir[1] * 10.0];
            self.move_person(by, target, 4.5);
        }
        for (i, (target, speed)) in targets.into_iter().enumerate() {
            if !matches!(self.phase, Phase::Held { by, .. } if by == i) {
                self.move_person(i, target, speed);
            }
        }
        self.separate();
        self.move_ball();
    }

    /// Where a chaser runs: at a loose ball, or goal-side of the carrier, a stride in front of him.
    fn chase_point(&self) -> [f64; 2] {
        match self.phase {
            Phase::Held { by, .. } => {
                let p = &self.people[by];
                let dir = Self::attack_dir(p.team.unwrap_or(0));
                [p.pos[0] + 2.5 * dir, p.pos[1]]
            }
            Phase::Rolling { .. } => self.ball,
        }
    }

    /// Who runs at the ball: the nearest opponent of the carrier, or the nearest of each team to a loose ball.
    fn chasers(&self) -> Vec<usize> {
        let nearest = |team: u8, except: Option<usize>| {
            (0..self.people.len())
                .filter(|&i| {
                    self.people[i].team == Some(team) && self.people[i].role == Class::Player && Some(i) != except
                })
                .min_by(|&a, &b| dist(self.people[a].pos, self.ball).total_cmp(&dist(self.people[b].pos, self.ball)))
        };
        match self.phase {
            Phase::Held { by, .. } => {
                let other = 1 - self.people[by].team.unwrap_or(0);
                nearest(other, None).into_iter().collect()
            }
            Phase::Rolling { aim: Some(aim), from, .. } => {
                let other = 1 - self.people[from].team.unwrap_or(0);
                // The intended receiver comes to meet the ball; an opponent goes for it.
                let mut v = vec![aim];
                v.extend(nearest(other, None));
                v
            }
            Phase::Rolling { aim: None, from, .. } => {
                let mine = self.people[from].team.unwrap_or(0);
                [nearest(mine, Some(from)), nearest(1 - mine, None)].into_iter().flatten().collect()
            }
        }
    }

    /// Two bodies cannot share a place: people closer than a metre push each other apart.
    fn separate(&mut self) {
        const GAP: f64 = 1.0;
        for i in 0..self.people.len() {
            for j in i + 1..self.people.len() {
                let (a, b) = (self.people[i].pos, self.people[j].pos);
                let d = dist(a, b);
                if d < GAP {
                    let (ux, uy) = if d > 1e-6 { ((b[0] - a[0]) / d, (b[1] - a[1]) / d) } else { (1.0, 0.0) };
                    let push = (GAP - d) / 2.0;
                    self.people[i].pos = [a[0] - ux * push, a[1] - uy * push];
                    self.people[j].pos = [b[0] + ux * push, b[1] + uy * push];
                }
            }
        }
    }

    fn move_person(&mut self, i: usize, target: [f64; 2], max_speed: f64) {
        let p = &mut self.people[i];
        let d = [target[0] - p.pos[0], target[1] - p.pos[1]];
        let mut want = [d[0] * 1.2, d[1] * 1.2];
        let s = want[0].hypot(want[1]);
        if s > max_speed {
            want = [want[0] / s * max_speed, want[1] / s * max_speed];
        }
        let k = (self.dt * 3.0).min(1.0);
        p.vel = [p.vel[0] + (want[0] - p.vel[0]) * k, p.vel[1] + (want[1] - p.vel[1]) * k];
        p.pos = [
            (p.pos[0] + p.vel[0] * self.dt).clamp(-1.0, LENGTH + 1.0),
            (p.pos[1] + p.vel[1] * self.dt).clamp(-1.0, WIDTH + 1.0),
        ];
        p.stride += p.vel[0].hypot(p.vel[1]) * self.dt * 2.2;
    }

    fn move_ball(&mut self) {
        match self.phase {
            Phase::Held { by, until } => {
                let p = &self.people[by];
                let team = p.team.unwrap_or(0);
                let ahead = [0.6 * Self::attack_dir(team), 0.0];
                self.ball = [p.pos[0] + ahead[0], p.pos[1] + ahead[1]];
                self.last_owner = (by, self.frame);
                // A close opponent may win the ball.
                let tackler = (0..self.people.len()).find(|&j| {
                    self.people[j].team == Some(1 - team)
                        && self.people[j].role == Class::Player
                        && dist(self.people[j].pos, self.ball) < 2.2
                });
                if let Some(j) = tackler
                    && self.rng.random::<f64>() < 0.006
                {
                    self.take(j);
                    return;
                }
                if self.frame >= until {
                    self.kick(by);
                }
            }
            Phase::Rolling { from, kick_frame, .. } => {
                let decay = (1.0 - 0.7 * self.dt).max(0.0);
                self.ball_vel = [self.ball_vel[0] * decay, self.ball_vel[1] * decay];
                self.ball = [self.ball[0] + self.ball_vel[0] * self.dt, self.ball[1] + self.ball_vel[1] * self.dt];
                if !(0.0..=LENGTH).contains(&self.ball[0]) || !(0.0..=WIDTH).contains(&self.ball[1]) {
                    // Out of play: bounce back in (throw-ins are beyond this simulation).
                    self.ball = [self.ball[0].clamp(0.5, LENGTH - 0.5), self.ball[1].clamp(0.5, WIDTH - 0.5)];
                    self.ball_vel = [-self.ball_vel[0] * 0.3, -self.ball_vel[1] * 0.3];
                }
                let settle = (0.4 / self.dt) as u64;
                let control = (0..self.people.len())
                    .filter(|&j| {
                        self.people[j].role != Class::Referee && (j != from || self.frame > kick_frame + settle)
                    })
                    .map(|j| (j, dist(self.people[j].pos, self.ball)))
                    .filter(|&(_, d)| d < 0.7)
                    .min_by(|a, b| a.1.total_cmp(&b.1));
                if let Some((j, _)) = control {
                    self.take(j);
                }
            }
        }
    }

    /// `j` gains control of the ball; records the change of owner.
    fn take(&mut self, j: usize) {
        let (from, last_frame) = self.last_owner;
        if from != j {
            let (tf, tj) = (self.people[from].team.unwrap_or(0), self.people[j].team.unwrap_or(0));
            self.events.push(TruthEvent {
                kind: if tf == tj { TruthEventKind::Pass } else { TruthEventKind::Turnover },
                from: self.people[from].id,
                to: self.people[j].id,
                team: tj,
                start_frame: last_frame,
                end_frame: self.frame,
            });
        }
        let hold = self.rng.random_range(0.6..2.0) / self.dt;
        self.phase = Phase::Held { by: j, until: self.frame + hold as u64 };
        self.ball_vel = [0.0, 0.0];
        self.last_owner = (j, self.frame);
    }

    fn kick(&mut self, by: usize) {
        let team = self.people[by].team.unwrap_or(0);
        let from = self.people[by].pos;
        let mates: Vec<(usize, f64)> = (0..self.people.len())
            .filter(|&j| j != by && self.people[j].team == Some(team))
            .map(|j| {
                let d = dist(self.people[j].pos, from);
                let forward = (self.people[j].pos[0] - from[0]) * Self::attack_dir(team);
                let keeper = if self.people[j].role == Class::Goalkeeper { -25.0 } else { 0.0 };
                let score =
                    if (8.0..35.0).contains(&d) { forward * 0.3 - (d - 18.0).abs() * 0.3 + keeper } else { f64::MIN };
                (j, score + self.rng.random_range(0.0..6.0))
            })
            .filter(|&(_, s)| s > f64::MIN / 2.0)
            .collect();
        let Some(&(aim, _)) = mates.iter().max_by(|a, b| a.1.total_cmp(&b.1)) else {
            self.phase = Phase::Held { by, until: self.frame + 10 };
            return;
        };
        let mut target = self.people[aim].pos;
        let mut aim = Some(aim);
        if self.rng.random::<f64>() < 0.1 {
            // Misplaced: the ball runs loose.
            target = [
                (target[0] + self.rng.random_range(-12.0..12.0)).clamp(3.0, LENGTH - 3.0),
                (target[1] + self.rng.random_range(-12.0..12.0)).clamp(3.0, WIDTH - 3.0),
            ];
            aim = None;
        }
        let d = dist(target, from).max(1.0);
        // Fast enough to arrive rolling at ~6 m/s despite the drag.
        let speed = (6.0 + 0.7 * d).min(26.0);
        self.ball_vel = [(target[0] - from[0]) / d * speed, (target[1] - from[1]) / d * speed];
        self.phase = Phase::Rolling { from: by, kick_frame: self.frame, aim };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_simulated_minute_has_passes_and_turnovers_and_stays_on_the_pitch() {
        let mut sim = Sim::new(7, 25.0);
        for _ in 0..1500 {
            sim.step();
        }
        let passes = sim.events.iter().filter(|e| e.kind == TruthEventKind::Pass).count();
        let turnovers = sim.events.len() - passes;
        assert!(passes >= 10, "{passes} passes");
        assert!(turnovers >= 1, "{turnovers} turnovers");
        assert!(
            sim.people
                .iter()
                .all(|p| (-1.0..=LENGTH + 1.0).contains(&p.pos[0]) && (-1.0..=WIDTH + 1.0).contains(&p.pos[1]))
        );
    }
}
