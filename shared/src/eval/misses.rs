//! How truth events were missed: whether the footage shows a change of owner at all.

use serde::{Deserialize, Serialize};

use crate::detect::Class;
use crate::pitch::distance;
use crate::truth::{FrameTruth, Truth, TruthEvent};

/// A receiver who lost the ball again sooner than this touched it rather than held it: a change of owner is
/// confirmed over 3 (pass) to 10 (turnover) frames, 0.4 s at 25 fps.
const BRIEF_SECONDS: f64 = 0.4;

/// Missed truth events of one kind, by what the footage shows of them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Misses {
    /// The receiver lost the ball again within 0.4 s.
    pub brief: usize,
    /// Over most of the receiver's time on the ball someone else was nearer it.
    pub someone_nearer: usize,
    /// The ball went back to whoever had just lost it, in an event itself brief or with someone nearer:
    /// on the footage he never lost it.
    pub given_back: usize,
    /// None of these: the ball was seen to change owner.
    pub other: usize,
}

/// Why each of `missed` (truth events, in time order) was not found.
pub fn misses(truth: &Truth, missed: &[&TruthEvent]) -> Misses {
    let mut m = Misses::default();
    for e in missed {
        match unseen(truth, e) {
            Some(Unseen::Brief) => m.brief += 1,
            Some(Unseen::SomeoneNearer) => m.someone_nearer += 1,
            None if before(truth, e).is_some_and(|b| b.from == e.to && unseen(truth, b).is_some()) => m.given_back += 1,
            None => m.other += 1,
        }
    }
    m
}

enum Unseen {
    Brief,
    SomeoneNearer,
}

/// Why the footage cannot show the receiver with the ball, if it cannot.
fn unseen(truth: &Truth, e: &TruthEvent) -> Option<Unseen> {
    let held = held_frames(truth, e);
    if held < (BRIEF_SECONDS * truth.fps).round() as u64 {
        return Some(Unseen::Brief);
    }
    let someone_nearer = |t: &FrameTruth| {
        let Some(ball) = t.ball.as_ref().and_then(|b| b.pitch) else { return false };
        let (mut his, mut others) = (None, f64::INFINITY);
        for p in t.people.iter().filter(|p| p.role != Class::Referee) {
            let Some(at) = p.pitch else { continue };
            if p.id == e.to {
                his = Some(distance(at, ball));
            } else {
                others = others.min(distance(at, ball));
            }
        }
        his.is_some_and(|his| others < his)
    };
    let nearer = (e.end_frame..e.end_frame + held).filter_map(|f| truth.frame(f)).filter(|t| someone_nearer(t)).count();
    (2 * nearer as u64 > held).then_some(Unseen::SomeoneNearer)
}

/// Frames the receiver had the ball: from his reception to when it left him (or the end of the truth).
fn held_frames(truth: &Truth, e: &TruthEvent) -> u64 {
    let next = truth.events.iter().find(|n| n.end_frame > e.end_frame);
    let left = next.map_or(truth.frames.len() as u64, |n| n.start_frame);
    (left + 1).saturating_sub(e.end_frame)
}

/// The truth event before `e`: how the ball reached the player `e` takes it from.
fn before<'a>(truth: &'a Truth, e: &TruthEvent) -> Option<&'a TruthEvent> {
    truth.events.iter().take_while(|b| b.end_frame < e.end_frame).last()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::BBox;
    use crate::truth::{BallTruth, PersonTruth, TruthEventKind};

    /// Players 1 (team 0) and 2 (team 1) over 100 frames; the ball at (50, 30), `owner(f)` 0.6 m from it
    /// and the other 2 m away, except where `nearer(f)` puts the other at 0.4 m.
    fn truth(events: &[(u32, u32, u64)], owner: impl Fn(u64) -> u32, nearer: impl Fn(u64) -> bool) -> Truth {
        let person = |id: u32, metres: f64| PersonTruth {
            id,
            role: Class::Player,
            team: Some((id - 1) as u8),
            bbox: BBox::from([0.0, 0.0, 10.0, 30.0]),
            visible: 1.0,
            pitch: Some([50.0 + metres, 30.0]),
        };
        let frames = (0..100)
            .map(|f| {
                let (holder, other) = if owner(f) == 1 { (1, 2) } else { (2, 1) };
                FrameTruth {
                    index: f,
                    people: vec![person(holder, 0.6), person(other, if nearer(f) { -0.4 } else { -2.0 })],
                    ball: Some(BallTruth {
                        bbox: BBox::from([0.0, 0.0, 2.0, 2.0]),
                        visible: 1.0,
                        pitch: Some([50.0, 30.0]),
                    }),
                    homography: None,
                }
            })
            .collect();
        let events = events
            .iter()
            .map(|&(from, to, end_frame)| TruthEvent {
                kind: TruthEventKind::Turnover,
                from,
                to,
                team: (to - 1) as u8,
                start_frame: end_frame - 1,
                end_frame,
            })
            .collect();
        Truth { seed: 0, width: 100, height: 100, fps: 25.0, kits: [[0; 3]; 2], frames, events }
    }

    #[test]
    fn a_missed_turnover_is_told_apart_by_what_the_footage_shows_of_it() {
        // Player 2 has the ball for two frames at 10 and gets it back at 12 (brief, then given back); from 40
        // to 69 he has it with player 1 nearer it (then given back); from 80 he keeps it.
        let events = [(1, 2, 10), (2, 1, 12), (1, 2, 40), (2, 1, 70), (1, 2, 80)];
        let owner = |f: u64| if (10..12).contains(&f) || (40..70).contains(&f) || f >= 80 { 2 } else { 1 };
        let t = truth(&events, owner, |f| (40..70).contains(&f));
        let all: Vec<&TruthEvent> = t.events.iter().collect();
        assert_eq!(misses(&t, &all), Misses { brief: 1, someone_nearer: 1, given_back: 2, other: 1 });
        // Without anyone nearer from 40, that turnover and the one undoing it were there to be seen.
        let t = truth(&events, owner, |_| false);
        let all: Vec<&TruthEvent> = t.events.iter().collect();
        assert_eq!(misses(&t, &all), Misses { brief: 1, someone_nearer: 0, given_back: 1, other: 3 });
    }
}
