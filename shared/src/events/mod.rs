//! Possession and what changes it: the nearest player to the ball within reach owns it, with hysteresis;
//! a change of owner within a team is a pass, to the other team a turnover. On a calibrated frame, near,
//! within reach and a pass's length are measured in metres on the pitch, elsewhere in image pixels scaled by
//! the player's height.

pub mod log;

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::ball::BallPosition;
use crate::detect::Class;
use crate::pitch::{Ground, distance};
use crate::track::Tracked;

/// A ball's radius (0.11 m) in a player's heights (about 1.8 m): how far above its image centre the ball
/// touches the ground, where its pitch position is.
const BALL_RADIUS_IN_HEIGHTS: f64 = 0.06;
/// An owner further from the ball than this share of his reach is out of the duel for it.
const AWAY: f64 = 1.25;
/// On the pitch the ball is rolling past a player if it was too fast relative to him over the last
/// `PITCH_SPEED_FRAMES` frames (over one, a far ball's jitter in depth would read as rolling) and still is
/// over the last one (a tackled ball that jumped to the tackler and stopped is his).
const PITCH_SPEED_FRAMES: u64 = 5;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PossessionConfig {
    /// Reach: ball to feet, in the player's box heights.
    pub max_distance: f64,
    /// Frames a new player must be nearest before he owns the ball.
    pub confirm_frames: u32,
    /// The same for a player of the other team than the owner's: a ball is won by holding it, and a carrier
    /// hidden for a few frames behind his marker has not lost it.
    pub confirm_turnover_frames: u32,
    /// A change of owner counts as a pass only over this distance, in box heights (shorter is a hand-over
    /// or a tracking slip, not a pass).
    pub min_pass_distance: f64,
    /// The same on calibrated frames, in metres between the passer's feet and the receiver's (image
    /// distances between two frames of a panning camera carry the pan).
    pub min_pass_m: f64,
    /// A ball moving faster than this relative to a player, in his box heights per second, is going past
    /// him, not under his control. (At 3, uncalibrated, receptions were missed; on calibrated frames the
    /// speed on the pitch, `max_control_mps`, tells a ball rolling past.)
    pub max_control_speed: f64,
    /// Image distances across the pitch (vertical) are foreshortened by the camera's tilt; this stretches
    /// them back before comparing with the reach.
    pub depth_stretch: f64,
    /// Reach on a calibrated frame: ball to feet, in metres.
    pub reach_m: f64,
    /// The owner keeps the ball while in reach unless a challenger is nearer by this share of the reach:
    /// a defender pressing a stride from the carrier is not given the ball by a few centimetres of noise.
    pub owner_margin: f64,
    /// On calibrated frames, a ball moving faster than this relative to a player, in m/s on the pitch,
    /// is going past him too: in the picture a ball rolling across the pitch, away from the camera, looks
    /// slow.
    #[serde(default = "default_max_control_mps")]
    pub max_control_mps: f64,
}

fn default_max_control_mps() -> f64 {
    4.0
}

impl Default for PossessionConfig {
    fn default() -> Self {
        PossessionConfig {
            max_distance: 0.6,
            confirm_frames: 3,
            confirm_turnover_frames: 10,
            min_pass_distance: 1.5,
            min_pass_m: 2.0,
            max_control_speed: 4.0,
            depth_stretch: 2.5,
            reach_m: 1.2,
            owner_margin: 0.25,
            max_control_mps: default_max_control_mps(),
        }
    }
}

impl PossessionConfig {
    /// Image distance with the vertical part stretched back to its length on the ground.
    fn ground_distance(&self, a: (f64, f64), b: (f64, f64)) -> f64 {
        (a.0 - b.0).hypot((a.1 - b.1) * self.depth_stretch)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Owner {
    pub track_id: u64,
    pub team: u8,
    pub last_frame: u64,
    pub feet: (f64, f64),
    pub height: f64,
    /// His feet on the pitch, on a calibrated frame: where a pass from him starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pitch: Option<[f64; 2]>,
}

/// A challenger for the ball: he owns it once nearest for enough frames soon enough after his first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub track_id: u64,
    /// Frames he was nearest, from `since` on.
    pub frames: u32,
    pub since: u64,
    /// Frames since `since` the ball was not seen: they neither count for him nor run his time out (a ball
    /// hidden at his feet by the players around him is still his).
    #[serde(default)]
    pub hidden: u32,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PossessionState {
    pub owner: Option<Owner>,
    pub candidate: Option<Candidate>,
    pub frames: [u64; 2],
    pub passes: [u64; 2],
    /// Turnovers won, per team.
    pub turnovers: [u64; 2],
    /// The previous frame's ball and feet, for speeds.
    pub previous: Option<Previous>,
    /// On the last frame the ball was seen, had nobody under control and was in this player's reach (a
    /// tackled or passed ball reaching him fast): if it is hidden next and seen again at his feet, it has
    /// been his since that frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub touched: Option<Touch>,
    /// The last `PITCH_SPEED_FRAMES` frames' ball and feet on the pitch, oldest first.
    #[serde(default, skip_serializing_if = "VecDeque::is_empty")]
    pub on_pitch: VecDeque<OnPitch>,
}

/// A calibrated frame's ball and feet (by track) on the pitch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OnPitch {
    pub frame: u64,
    pub ball: [f64; 2],
    pub feet: Vec<(u64, [f64; 2])>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Touch {
    pub track_id: u64,
    pub frame: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Previous {
    pub frame: u64,
    pub ball: Option<(f64, f64)>,
    pub feet: Vec<(u64, (f64, f64))>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    PossessionChange,
    Pass,
    Turnover,
    /// Live: the connection to the stream dropped; `seconds` of it were lost before `frame`.
    SourceGap,
    /// Live: a segment was skipped to keep up with the stream (`seconds` of it, from `frame`).
    SegmentDropped,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    /// Frame the new owner controlled the ball.
    pub frame: u64,
    pub time: f64,
    /// Team that has the ball after the event (possession events).
    pub team: Option<u8>,
    pub from_track: Option<u64>,
    pub to_track: Option<u64>,
    /// Frame the previous owner last had the ball.
    pub start_frame: Option<u64>,
    /// Length of a gap or of a dropped segment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// On calibrated frames, where the previous owner last had the ball and where the new one took it, in
    /// pitch metres (their feet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_pitch: Option<[f64; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_pitch: Option<[f64; 2]>,
}

impl Event {
    /// A break in the analysed video: a source gap or a dropped segment.
    pub fn discontinuity(kind: EventKind, frame: u64, fps: f64, seconds: f64) -> Event {
        Event {
            kind,
            frame,
            time: frame as f64 / fps,
            team: None,
            from_track: None,
            to_track: None,
            start_frame: None,
            seconds: Some(seconds),
            from_pitch: None,
            to_pitch: None,
        }
    }
}

impl PossessionState {
    /// After a break the ball's owner is unknown: no pass may span it.
    pub fn break_continuity(&mut self) {
        self.owner = None;
        self.candidate = None;
        self.previous = None;
        self.touched = None;
        self.on_pitch.clear();
    }
}

/// One frame's view for possession: tracked people with their teams, and the ball; on a calibrated frame,
/// the people's feet on the pitch (by person), which place the events there, and the frame's homography.
pub struct FrameView<'a> {
    pub frame: u64,
    pub people: &'a [Tracked],
    pub teams: &'a [Option<u8>],
    pub ball: Option<BallPosition>,
    pub people_pitch: Vec<Option<[f64; 2]>>,
    pub ground: Option<Ground>,
}

impl FrameView<'_> {
    /// How far the ball is from person `i`'s feet, as a share of the reach: in metres where both are on the
    /// pitch, else in image pixels by his height.
    fn reach_share(&self, cfg: &PossessionConfig, i: usize, ball: &BallPosition) -> f64 {
        let p = &self.people[i];
        let h = p.bbox.height().max(1.0);
        let on_pitch = self.ground.zip(self.people_pitch.get(i).copied().flatten()).and_then(|(ground, feet)| {
            let b = ground.locate((ball.x, ball.y + BALL_RADIUS_IN_HEIGHTS * h))?;
            Some((b[0] - feet[0]).hypot(b[1] - feet[1]) / cfg.reach_m)
        });
        on_pitch.unwrap_or_else(|| cfg.ground_distance((ball.x, ball.y), p.bbox.feet()) / h / cfg.max_distance)
    }
}

/// Owner per frame and the events of one segment.
pub fn possession_segment(
    mut state: PossessionState,
    config: &PossessionConfig,
    fps: f64,
    frames: &[FrameView],
) -> (PossessionState, Vec<Option<u64>>, Vec<Event>) {
    let mut owners = Vec::with_capacity(frames.len());
    let mut events = Vec::new();
    for view in frames {
        step(&mut state, config, fps, view, &mut events);
        if let Some(o) = &state.owner {
            state.frames[o.team as usize] += 1;
        }
        owners.push(state.owner.as_ref().map(|o| o.track_id));
    }
    (state, owners, events)
}

fn step(state: &mut PossessionState, cfg: &PossessionConfig, fps: f64, view: &FrameView, events: &mut Vec<Event>) {
    let previous = state.previous.take().filter(|p| p.frame + 1 == view.frame);
    state.previous = Some(Previous {
        frame: view.frame,
        ball: view.ball.map(|b| (b.x, b.y)),
        feet: view.people.iter().map(|p| (p.track_id, p.bbox.feet())).collect(),
    });
    let Some(ball) = view.ball else {
        if let Some(c) = &mut state.candidate {
            c.hidden += 1;
        }
        return;
    };
    let now = view.ground.and_then(|g| g.locate((ball.x, ball.y))).map(|at| OnPitch {
        frame: view.frame,
        ball: at,
        feet: view.people.iter().zip(&view.people_pitch).filter_map(|(p, at)| Some((p.track_id, (*at)?))).collect(),
    });
    state.on_pitch.retain(|o| o.frame + PITCH_SPEED_FRAMES >= view.frame);
    state.on_pitch.extend(now);
    let moves = Moves { previous: previous.as_ref(), on_pitch: &state.on_pitch };
    let owner_id = state.owner.as_ref().map(|o| o.track_id);
    let touched = state.touched.take();
    let Some(i) = nearest_in_reach(cfg, fps, view, &ball, Some(moves), owner_id) else {
        // Without the ball's speed every ball in reach counts as controlled.
        state.touched = nearest_in_reach(cfg, fps, view, &ball, None, owner_id)
            .map(|i| Touch { track_id: view.people[i].track_id, frame: view.frame });
        return;
    };
    let (player, pitch, team) =
        (&view.people[i], view.people_pitch.get(i).copied().flatten(), view.teams[i].unwrap_or(0));
    let here = |p: &Tracked| Owner {
        track_id: p.track_id,
        team,
        last_frame: view.frame,
        feet: p.bbox.feet(),
        height: p.bbox.height(),
        pitch,
    };
    if state.owner.as_ref().is_some_and(|o| o.track_id == player.track_id) {
        state.owner = Some(here(player));
        return;
    }
    let needed = match &state.owner {
        Some(o) if o.team != team => cfg.confirm_turnover_frames,
        _ => cfg.confirm_frames,
    };
    // Frames where the owner or nobody is nearest pause a candidacy, within twice the frames it needs, so
    // that a frame of noise in a tackle does not restart it.
    let candidate = match state.candidate.take() {
        Some(c) if c.track_id == player.track_id && view.frame < c.since + (c.hidden + 2 * needed) as u64 => {
            Candidate { frames: c.frames + 1, ..c }
        }
        // The ball reached him fast and was hidden since: he has had it from then, as if it had been hidden
        // at his feet.
        _ => match touched {
            Some(t) if t.track_id == player.track_id && t.frame + 1 < view.frame => Candidate {
                track_id: player.track_id,
                frames: 1,
                since: t.frame,
                hidden: (view.frame - t.frame) as u32,
            },
            _ => Candidate { track_id: player.track_id, frames: 1, since: view.frame, hidden: 0 },
        },
    };
    // An owner seen well out of reach has lost the ball: winning it then needs no more than a pass does.
    let owner_away = state.owner.as_ref().is_some_and(|o| {
        view.people
            .iter()
            .position(|p| p.track_id == o.track_id)
            .is_some_and(|j| view.reach_share(cfg, j, &ball) > AWAY)
    });
    let needed = if owner_away { cfg.confirm_frames } else { needed };
    if candidate.frames < needed {
        state.candidate = Some(candidate);
        return;
    }
    // He has had it for his frames nearest (from before the ball was hidden, if it was), and only since the
    // owner last had it.
    let last_held = state.owner.as_ref().map_or(0, |o| o.last_frame + 1);
    let received = (view.frame + 1 - (candidate.frames + candidate.hidden) as u64).max(last_held);
    let event = |kind, from: Option<&Owner>| Event {
        kind,
        frame: received,
        time: received as f64 / fps,
        team: Some(team),
        from_track: from.map(|o| o.track_id),
        to_track: Some(player.track_id),
        start_frame: from.map(|o| o.last_frame),
        seconds: None,
        from_pitch: from.and_then(|o| o.pitch),
        to_pitch: pitch,
    };
    match &state.owner {
        None => events.push(event(EventKind::PossessionChange, None)),
        Some(prev) if prev.team == team => {
            let far_enough = match (prev.pitch, pitch) {
                (Some(a), Some(b)) => distance(a, b) >= cfg.min_pass_m,
                _ => {
                    let height = prev.height.max(player.bbox.height()).max(1.0);
                    cfg.ground_distance(prev.feet, player.bbox.feet()) / height >= cfg.min_pass_distance
                }
            };
            if far_enough {
                state.passes[team as usize] += 1;
                events.push(event(EventKind::Pass, Some(prev)));
            }
        }
        Some(prev) => {
            state.turnovers[team as usize] += 1;
            events.push(event(EventKind::Turnover, Some(prev)));
            events.push(event(EventKind::PossessionChange, Some(prev)));
        }
    }
    state.owner = Some(here(player));
    state.candidate = None;
}

/// How the ball moved past the people: since the previous frame in the picture, and on the pitch over the
/// last `PITCH_SPEED_FRAMES` (oldest first, this frame's last where it was calibrated).
#[derive(Clone, Copy)]
struct Moves<'a> {
    previous: Option<&'a Previous>,
    on_pitch: &'a VecDeque<OnPitch>,
}

/// The person who has the ball on this frame, if any: of those in reach with the ball under control, the
/// nearest, unless the owner is among them and the nearest is not nearer by the owner's margin.
fn nearest_in_reach(
    cfg: &PossessionConfig,
    fps: f64,
    view: &FrameView,
    ball: &BallPosition,
    moves: Option<Moves>,
    owner_id: Option<u64>,
) -> Option<usize> {
    let previous = moves.and_then(|m| m.previous);
    let ball_step = previous.and_then(|p| p.ball).map(|(x, y)| (ball.x - x, ball.y - y));
    // The ball's speed relative to a player on the pitch over the last `back` frames.
    let pitch_speed = |track_id: u64, back: u64| {
        let history = moves?.on_pitch;
        let at = |ago: u64| history.iter().find(|o| o.frame + ago == view.frame);
        let (then, now) = (at(back)?, at(0)?);
        let feet = |o: &OnPitch| o.feet.iter().find(|(id, _)| *id == track_id).map(|&(_, at)| at);
        let (a, b) = (feet(then)?, feet(now)?);
        let moved = [now.ball[0] - then.ball[0] - (b[0] - a[0]), now.ball[1] - then.ball[1] - (b[1] - a[1])];
        Some(moved[0].hypot(moved[1]) * fps / back as f64)
    };
    let rolling = |track_id: u64| {
        [PITCH_SPEED_FRAMES, 1]
            .into_iter()
            .all(|back| pitch_speed(track_id, back).is_some_and(|v| v > cfg.max_control_mps))
    };
    // (person, share of the reach)
    let in_reach: Vec<(usize, f64)> = view
        .people
        .iter()
        .zip(view.teams)
        .enumerate()
        .filter(|(_, (p, team))| matches!(p.role, Class::Player | Class::Goalkeeper) && team.is_some())
        .filter_map(|(i, (p, _))| {
            // Only those in reach need the ball's speeds past them.
            let share = view.reach_share(cfg, i, ball);
            if share > 1.0 {
                return None;
            }
            let h = p.bbox.height().max(1.0);
            let (fx, fy) = p.bbox.feet();
            // Speed of the ball relative to the player: fast means it is rolling past him.
            let relative = ball_step.map(|(bx, by)| {
                let (px, py) = previous
                    .and_then(|prev| prev.feet.iter().find(|(id, _)| *id == p.track_id))
                    .map_or((0.0, 0.0), |(_, (x, y))| (fx - x, fy - y));
                (bx - px).hypot(by - py) / h * fps
            });
            let controlled = relative.is_none_or(|v| v <= cfg.max_control_speed) && !rolling(p.track_id);
            controlled.then_some((i, share))
        })
        .collect();
    let held = in_reach.iter().find(|(i, _)| Some(view.people[*i].track_id) == owner_id).copied();
    let best = in_reach.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1))?;
    Some(match held {
        Some(owner) if best.1 > owner.1 - cfg.owner_margin => owner.0,
        _ => best.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::BBox;
    use crate::pitch::{Homography, Pitch};

    fn player(id: u64, x: f64) -> Tracked {
        Tracked {
            track_id: id,
            role: Class::Player,
            bbox: BBox::from([x - 10.0, 40.0, x + 10.0, 100.0]),
            confidence: 0.9,
            detection: 0,
        }
    }

    /// One view a frame, the ball at `(x, y)` of each (unseen where none); people on the pitch where
    /// `pitch_of` places them.
    fn views<'a>(
        people: &'a [Tracked],
        teams: &'a [Option<u8>],
        balls: impl Iterator<Item = Option<(f64, f64)>>,
        pitch_of: impl Fn(&Tracked) -> Option<[f64; 2]>,
        ground: Option<Ground>,
    ) -> Vec<FrameView<'a>> {
        balls
            .enumerate()
            .map(|(i, ball)| FrameView {
                frame: i as u64,
                people,
                teams,
                ball: ball.map(|(x, y)| BallPosition { x, y, interpolated: false }),
                people_pitch: people.iter().map(&pitch_of).collect(),
                ground,
            })
            .collect()
    }

    fn run(ball_x: &[f64]) -> (PossessionState, Vec<Event>) {
        let people = [player(1, 100.0), player(2, 400.0), player(3, 700.0)];
        let teams = [Some(0), Some(0), Some(1)];
        let views =
            views(&people, &teams, ball_x.iter().map(|&x| Some((x, 100.0))), |p| Some([p.bbox.x1 / 10.0, 30.0]), None);
        let (state, _, events) =
            possession_segment(PossessionState::default(), &PossessionConfig::default(), 25.0, &views);
        (state, events)
    }

    #[test]
    fn ball_moving_between_team_mates_is_a_pass_and_to_an_opponent_a_turnover() {
        let mut xs = vec![100.0; 5];
        xs.extend([200.0, 300.0]);
        xs.extend(vec![400.0; 5]);
        xs.extend([500.0, 600.0]);
        xs.extend(vec![700.0; 12]);
        let (state, events) = run(&xs);
        let kinds: Vec<EventKind> = events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            vec![EventKind::PossessionChange, EventKind::Pass, EventKind::Turnover, EventKind::PossessionChange]
        );
        assert_eq!(state.passes, [1, 0]);
        assert_eq!(state.turnovers, [0, 1]);
        // The ball reaches the receiver at frame 7 still moving fast; it is his from frame 8, once stopped.
        assert_eq!(events[1].frame, 8);
        assert_eq!(events[1].start_frame, Some(4));
        // On the pitch it runs from the passer's feet to the receiver's.
        assert_eq!((events[1].from_pitch, events[1].to_pitch), (Some([9.0, 30.0]), Some([39.0, 30.0])));
    }

    #[test]
    fn a_ball_rolling_away_from_the_camera_past_a_team_mate_is_not_his() {
        // A pixel is 0.1 m across the picture and 0.25 m in depth. Player 1 has the ball, then it runs in
        // depth past his team-mate at x = 400 at a pixel a frame: slow in the picture (0.4 of his heights a
        // second) but 6.25 m/s on the pitch, in his reach for 10 frames; then it stops at the opponent.
        let people = [player(1, 100.0), player(2, 400.0), player(3, 700.0)];
        let teams = [Some(0), Some(0), Some(1)];
        let ground = Ground {
            pitch: Pitch::default(),
            homography: Homography([[0.1, 0.0, 0.0], [0.0, 0.25, 0.0], [0.0, 0.0, 1.0]]),
            lens: None,
        };
        let mut balls = vec![(100.0, 100.0); 5];
        balls.extend((0..80).map(|k| (400.0, 60.0 + k as f64)));
        balls.extend(vec![(700.0, 100.0); 12]);
        let views = views(&people, &teams, balls.into_iter().map(Some), |p| ground.locate(p.bbox.feet()), Some(ground));
        let (state, _, events) =
            possession_segment(PossessionState::default(), &PossessionConfig::default(), 25.0, &views);
        assert_eq!(kinds(&events), vec![EventKind::PossessionChange, EventKind::Turnover, EventKind::PossessionChange]);
        assert_eq!((state.passes, state.turnovers), ([0, 0], [0, 1]));
    }

    #[test]
    fn on_calibrated_frames_a_pass_is_as_long_as_it_is_on_the_pitch() {
        // Team-mates a box height apart in the image (too short for a pass by image distance), 6 m apart
        // on the pitch; then the same two a metre apart on the pitch (a hand-over).
        let people = [player(1, 100.0), player(2, 160.0)];
        let teams = [Some(0), Some(0)];
        let xs = [100.0, 100.0, 100.0, 100.0, 130.0, 160.0, 160.0, 160.0, 160.0, 160.0];
        let passes = |apart: f64| {
            let at = |p: &Tracked| Some([if p.track_id == 1 { 10.0 } else { 10.0 + apart }, 30.0]);
            let views = views(&people, &teams, xs.iter().map(|&x| Some((x, 100.0))), at, None);
            possession_segment(PossessionState::default(), &PossessionConfig::default(), 25.0, &views).0.passes
        };
        assert_eq!(passes(6.0), [1, 0]);
        assert_eq!(passes(1.0), [0, 0]);
    }

    #[test]
    fn a_ball_brushing_past_a_player_for_a_frame_does_not_change_possession() {
        let mut xs = vec![100.0; 5];
        xs.extend([400.0, 400.0]);
        xs.extend(vec![100.0; 5]);
        let (state, events) = run(&xs);
        assert_eq!(events.len(), 1);
        assert_eq!(state.passes, [0, 0]);
    }

    /// A carrier (team 0) at x = 300 and a defender (team 1) a stride goal-side at x = 315, on frames
    /// calibrated at `metres_per_px`; the ball's ground point at each x, for each frame.
    fn pressed(ball_x: &[f64], metres_per_px: Option<f64>) -> Vec<Event> {
        let seen: Vec<Option<f64>> = ball_x.iter().copied().map(Some).collect();
        pressed_seen(&seen, metres_per_px)
    }

    /// The same with the ball unseen on some frames.
    fn pressed_seen(ball_x: &[Option<f64>], metres_per_px: Option<f64>) -> Vec<Event> {
        let people = [player(1, 300.0), player(2, 315.0)];
        let teams = [Some(0), Some(1)];
        // Pixel (250, 50) is at (0, 0) m: the feet are on the pitch at either scale.
        let ground = metres_per_px.map(|m| Ground {
            pitch: Pitch::default(),
            homography: Homography([[m, 0.0, -250.0 * m], [0.0, m, -50.0 * m], [0.0, 0.0, 1.0]]),
            lens: None,
        });
        // The ball's centre is its radius above where it touches the ground, under the feet's row.
        let balls = ball_x.iter().map(|x| x.map(|x| (x, 100.0 - BALL_RADIUS_IN_HEIGHTS * 60.0)));
        let views = views(&people, &teams, balls, |p| ground.and_then(|g| g.locate(p.bbox.feet())), ground);
        possession_segment(PossessionState::default(), &PossessionConfig::default(), 25.0, &views).2
    }

    fn kinds(events: &[Event]) -> Vec<EventKind> {
        events.iter().map(|e| e.kind).collect()
    }

    #[test]
    fn a_defender_pressing_the_carrier_wins_the_ball_only_by_holding_it() {
        // 0.1 m a pixel: the ball 0.6 m ahead of the carrier, the defender 0.9 m beyond it.
        let mut xs = vec![306.0; 10];
        // For a few frames the ball is nearer the defender (noise, a touch): not a turnover.
        xs.extend([313.0; 6]);
        xs.extend([306.0; 20]);
        assert_eq!(kinds(&pressed(&xs, Some(0.1))), vec![EventKind::PossessionChange]);
        // He keeps it, with a frame of noise in the middle: a turnover, from the frame after the carrier
        // last had it.
        xs.extend([313.0; 5]);
        xs.push(306.0);
        xs.extend([313.0; 6]);
        let events = pressed(&xs, Some(0.1));
        assert_eq!(kinds(&events), vec![EventKind::PossessionChange, EventKind::Turnover, EventKind::PossessionChange]);
        assert_eq!((events[1].frame, events[1].from_track, events[1].to_track), (42, Some(1), Some(2)));
    }

    #[test]
    fn a_defender_who_takes_the_ball_clear_of_the_carrier_wins_it_without_holding_it_long() {
        // The carrier has it; then the ball is at the defender's feet for 4 frames (0.16 s), 2.1 m from
        // the carrier: he is out of the duel, and the defender has won it once the ball has stopped
        // jumping (frame 11).
        let mut xs = vec![306.0; 10];
        xs.extend([321.0; 4]);
        let events = pressed(&xs, Some(0.1));
        assert_eq!(kinds(&events), vec![EventKind::PossessionChange, EventKind::Turnover, EventKind::PossessionChange]);
        assert_eq!((events[1].frame, events[1].to_track), (11, Some(2)));
        // 1.3 m from the carrier, who is still in the duel: not yet.
        let mut xs = vec![306.0; 10];
        xs.extend([313.0; 4]);
        assert_eq!(kinds(&pressed(&xs, Some(0.1))), vec![EventKind::PossessionChange]);
    }

    /// The carrier has the ball for 10 frames; then it is seen once at `touch_x`, hidden for `hidden` frames
    /// and seen at the defender's feet for `seen`: the events.
    fn tackled_and_hidden(touch_x: f64, hidden: usize, seen: usize) -> Vec<Event> {
        let mut xs: Vec<Option<f64>> = vec![Some(306.0); 10];
        xs.push(Some(touch_x));
        xs.extend(vec![None; hidden]);
        xs.extend(vec![Some(313.0); seen]);
        pressed_seen(&xs, Some(0.1))
    }

    #[test]
    fn a_ball_hidden_at_a_challengers_feet_stays_his_and_he_has_it_from_before_it_was_hidden() {
        // The defender takes it (1 frame seen), the ball is hidden behind the players for 20 frames, then
        // seen at his feet again: one candidacy, which would have run out had the hidden frames counted.
        let events = tackled_and_hidden(313.0, 20, 9);
        assert_eq!(kinds(&events), vec![EventKind::PossessionChange, EventKind::Turnover, EventKind::PossessionChange]);
        assert_eq!(events[1].frame, 10);
    }

    #[test]
    fn a_ball_that_reaches_a_challenger_too_fast_to_control_and_is_hidden_is_his_from_when_it_reached_him() {
        // The defender's tackle: the ball jumps 1.2 m to his feet (too fast to be under control), is
        // hidden behind the two for 15 frames, then seen at his feet: he has had it from frame 10, not from
        // when it was seen again.
        let events = tackled_and_hidden(318.0, 15, 10);
        assert_eq!(kinds(&events), vec![EventKind::PossessionChange, EventKind::Turnover, EventKind::PossessionChange]);
        assert_eq!(events[1].frame, 10);
    }

    #[test]
    fn on_a_calibrated_frame_the_reach_is_in_metres() {
        // The ball 6 px from the carrier's feet: in reach by his height in the image, and at 0.1 m a pixel,
        // but 3 m away at 0.5 m a pixel (a wide view, where people are small).
        let xs = vec![294.0; 10];
        assert_eq!(kinds(&pressed(&xs, None)), vec![EventKind::PossessionChange]);
        assert_eq!(kinds(&pressed(&xs, Some(0.1))), vec![EventKind::PossessionChange]);
        assert_eq!(kinds(&pressed(&xs, Some(0.5))), vec![]);
    }
}
