//! Multi-object tracking of people: ByteTrack's two-stage association (confident detections first, then
//! weak ones to keep tracks alive through blur and occlusion) with Kalman motion and Hungarian assignment,
//! plus a shirt-histogram cue that re-identifies a lost player when he reappears. On a calibrated pitch a
//! lost player is looked for in metres, within the distance he can have run while gone: a panning camera
//! moves everyone in the image, but not on the pitch. A player out of view for longer sleeps: a new track
//! confirmed near where he should be takes his id back. Where he should be is where he left, carried along
//! with the players in view since (the tracker's drift): teams shift with the ball as a block.

pub(crate) mod assign;
pub mod kalman;

use serde::{Deserialize, Serialize};

use crate::appearance::{Appearance, hist_distance};
use crate::detect::{Class, Detection};
use crate::geometry::{BBox, distance};
use assign::assign;
use kalman::Kalman;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackerConfig {
    /// Detections at or above this confidence are matched first and may start tracks.
    pub high_confidence: f64,
    /// Detections below this are ignored.
    pub low_confidence: f64,
    /// A new track needs at least this confidence.
    pub new_track_confidence: f64,
    /// Least IoU with a track's predicted box for a match.
    pub min_iou: f64,
    /// Weight of the shirt histogram distance in the first-stage cost.
    pub appearance_weight: f64,
    /// Largest shirt histogram distance still taken as the same person.
    pub max_appearance_distance: f64,
    /// How long a lost track is kept for re-identification.
    pub lost_seconds: f64,
    /// The same where he was last seen on the pitch: he can be found again by where he can have run.
    #[serde(default = "defaults::lost_seconds_on_pitch")]
    pub lost_seconds_on_pitch: f64,
    /// On the pitch a lost player is looked for within this radius, in metres, plus `reid_speed` metres for
    /// each second he was gone.
    #[serde(default = "defaults::reid_radius_m")]
    pub reid_radius_m: f64,
    #[serde(default = "defaults::reid_speed")]
    pub reid_speed: f64,
    /// After `lost_seconds_on_pitch` a player with a place on the pitch sleeps this long: no longer
    /// matched by box or shirt, but a new track confirmed near where he can have run takes his id (he
    /// left the camera's view and came back).
    #[serde(default = "defaults::dormant_seconds")]
    pub dormant_seconds: f64,
}

/// No lost player is looked for further from where he should be on the pitch, in metres.
const MAX_REID_M: f64 = 15.0;
/// A new track takes a sleeping player's id only within this distance of where he should be.
const MAX_WAKE_M: f64 = 20.0;
/// The largest shirt distance taken as the same person right where a lost one was.
const NEAR_MAX_LOOK: f64 = 0.9;

mod defaults {
    pub fn lost_seconds_on_pitch() -> f64 {
        10.0
    }
    /// Metres: his last place may come from a stray box a few metres off (a sliver at the picture's edge).
    pub fn reid_radius_m() -> f64 {
        5.0
    }
    /// Metres per second, on top of the block's drift: his own run while out of sight. Measured on
    /// synthetic matches (issue 11), 3 with the drift beat 6 without it: a wide radius lets a returning
    /// player take a team-mate's id.
    pub fn reid_speed() -> f64 {
        3.0
    }
    pub fn dormant_seconds() -> f64 {
        90.0
    }
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            high_confidence: 0.5,
            low_confidence: 0.1,
            new_track_confidence: 0.6,
            min_iou: 0.1,
            appearance_weight: 0.5,
            max_appearance_distance: 0.5,
            lost_seconds: 3.0,
            lost_seconds_on_pitch: defaults::lost_seconds_on_pitch(),
            reid_radius_m: defaults::reid_radius_m(),
            reid_speed: defaults::reid_speed(),
            dormant_seconds: defaults::dormant_seconds(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Seen once; becomes tracked when seen again on the next frame.
    Tentative,
    Tracked,
    Lost,
    /// Lost for long, out of the camera's view: only a new track near where he was can wake him.
    Dormant,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Track {
    pub id: u64,
    pub status: Status,
    pub kalman: Kalman,
    pub last_frame: u64,
    pub last_box: BBox,
    /// Where he was last seen on the pitch, when the match is calibrated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_pitch: Option<[f64; 2]>,
    /// The tracker's `drift` when he was last seen.
    #[serde(default)]
    pub drift_seen: [f64; 2],
    /// Running shirt histogram.
    pub hist: Vec<f64>,
    /// Detector votes for player, goalkeeper, referee.
    pub role_votes: [u32; 3],
}

impl Track {
    pub fn role(&self) -> Class {
        let v = self.role_votes;
        if v[1] > v[0] && v[1] >= v[2] {
            Class::Goalkeeper
        } else if v[2] > v[0] && v[2] > v[1] {
            Class::Referee
        } else {
            Class::Player
        }
    }

    fn new(id: u64, frame: u64, first: &PersonDetection, drift: [f64; 2]) -> Track {
        let mut track = Track {
            id,
            status: Status::Tentative,
            kalman: Kalman::new(&first.detection.bbox),
            last_frame: frame,
            last_box: first.detection.bbox,
            last_pitch: first.pitch,
            drift_seen: drift,
            hist: Vec::new(),
            role_votes: [0; 3],
        };
        track.remember(&first.detection, &first.appearance);
        track
    }

    fn observe(&mut self, frame: u64, seen: &PersonDetection, drift: [f64; 2]) {
        self.kalman.update(&seen.detection.bbox);
        self.last_frame = frame;
        if seen.pitch.is_some() && !seen.cut {
            self.last_pitch = seen.pitch;
            self.drift_seen = drift;
        }
        self.remember(&seen.detection, &seen.appearance);
    }

    /// Where he should be on the pitch now: where he was last seen, carried along with the players in view
    /// since (a team shifts with the ball as a block, and so do the players the camera no longer shows).
    fn expected_pitch(&self, drift: [f64; 2]) -> Option<[f64; 2]> {
        let moved = [drift[0] - self.drift_seen[0], drift[1] - self.drift_seen[1]];
        self.last_pitch.map(|p| [p[0] + moved[0], p[1] + moved[1]])
    }

    /// Keeps the box, the role vote and the shirt of a sighting.
    fn remember(&mut self, det: &Detection, look: &Appearance) {
        self.last_box = det.bbox;
        if let Some(slot) = role_slot(det.class) {
            self.role_votes[slot] += 1;
        }
        if look.pixels >= 8 {
            if self.hist.is_empty() {
                self.hist = look.hist.clone();
            } else {
                self.hist.iter_mut().zip(&look.hist).for_each(|(h, n)| *h = 0.9 * *h + 0.1 * n);
            }
        }
    }
}

fn role_slot(class: Class) -> Option<usize> {
    match class {
        Class::Player => Some(0),
        Class::Goalkeeper => Some(1),
        Class::Referee => Some(2),
        Class::Ball => None,
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrackerState {
    pub tracks: Vec<Track>,
    pub next_id: u64,
    /// How far, in metres, the players in view have moved since the match began: the sum over frames of
    /// the median step of the players seen on both.
    #[serde(default)]
    pub drift: [f64; 2],
}

/// A person detection with its shirt features, and where he stands on the pitch when calibrated.
#[derive(Clone, Debug)]
pub struct PersonDetection {
    pub detection: Detection,
    pub appearance: Appearance,
    pub pitch: Option<[f64; 2]>,
    /// The picture's side cuts his box: its place is too rough for a track to remember him by or to move
    /// the block with (a new track still starts from it: a player coming into view is a sliver first).
    pub cut: bool,
}

/// A confirmed track seen on this frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tracked {
    pub track_id: u64,
    pub role: Class,
    pub bbox: BBox,
    pub confidence: f64,
    /// Index of the detection in the frame's person detections.
    pub detection: usize,
}

#[derive(Clone, Debug, Default)]
pub struct FrameTracks {
    pub tracked: Vec<Tracked>,
    /// Tracks dropped for good on this frame.
    pub removed: Vec<u64>,
}

/// Tracks people over one segment: `frames[i]` holds the person detections of frame `first_frame + i`.
pub fn track_segment(
    mut state: TrackerState,
    config: &TrackerConfig,
    fps: f64,
    first_frame: u64,
    frames: &[Vec<PersonDetection>],
) -> (TrackerState, Vec<FrameTracks>) {
    let mut out = Vec::with_capacity(frames.len());
    for (i, dets) in frames.iter().enumerate() {
        out.push(step(&mut state, config, fps, first_frame + i as u64, dets));
    }
    (state, out)
}

fn step(state: &mut TrackerState, cfg: &TrackerConfig, fps: f64, frame: u64, dets: &[PersonDetection]) -> FrameTracks {
    for t in &mut state.tracks {
        match t.status {
            // Asleep he is looked for by where he was on the pitch, not by a box moving on.
            Status::Dormant => continue,
            Status::Lost => t.kalman.freeze_size(),
            _ => {}
        }
        t.kalman.predict();
    }
    let high: Vec<usize> = (0..dets.len()).filter(|&d| dets[d].detection.confidence >= cfg.high_confidence).collect();
    let low: Vec<usize> = (0..dets.len())
        .filter(|&d| (cfg.low_confidence..cfg.high_confidence).contains(&dets[d].detection.confidence))
        .collect();
    let mut matched: Vec<(usize, usize)> = Vec::new(); // (track index, detection index)

    // Stage 1: confident detections against tracked and lost tracks, by IoU and shirt.
    let pool: Vec<usize> =
        (0..state.tracks.len()).filter(|&t| matches!(state.tracks[t].status, Status::Tracked | Status::Lost)).collect();
    let cost = |t: &Track, d: &PersonDetection| -> Option<f64> {
        let iou = t.kalman.bbox().iou(&d.detection.bbox);
        let look = shirt_distance(t, &d.appearance);
        (iou >= cfg.min_iou && look <= cfg.max_appearance_distance).then_some(1.0 - iou + cfg.appearance_weight * look)
    };
    let unmatched_high = associate(state, &pool, &high, dets, cost, 1.0 + cfg.appearance_weight, &mut matched);

    // Stage 2: weak detections keep tracked tracks alive, by IoU, as long as the shirt is not another's.
    let tracked_left: Vec<usize> = pool
        .iter()
        .copied()
        .filter(|&t| state.tracks[t].status == Status::Tracked && !is_matched(&matched, t))
        .collect();
    let iou_cost = |t: &Track, d: &PersonDetection| {
        let iou = t.kalman.bbox().iou(&d.detection.bbox);
        (iou >= 0.5 && shirt_distance(t, &d.appearance) <= cfg.max_appearance_distance).then_some(1.0 - iou)
    };
    associate(state, &tracked_left, &low, dets, iou_cost, 0.5, &mut matched);

    // Re-identification, before a new track can take him: a lost player reappearing away from his predicted
    // box, matched by shirt within a radius that grows with the time he was gone (on the pitch, the distance
    // he can have run, where a team-mate's shirt is the only other cue and the position tells more).
    let lost_left: Vec<usize> = pool.iter().copied().filter(|&t| !is_matched(&matched, t)).collect();
    let drift = state.drift;
    let reid_cost = |t: &Track, d: &PersonDetection| reid_cost(cfg, fps, frame, t, d, drift);
    let unmatched_high = associate(state, &lost_left, &unmatched_high, dets, reid_cost, 1.0, &mut matched);

    // Tentative tracks confirm on a second sighting.
    let tentative: Vec<usize> =
        (0..state.tracks.len()).filter(|&t| state.tracks[t].status == Status::Tentative).collect();
    let unmatched_high = associate(
        state,
        &tentative,
        &unmatched_high,
        dets,
        |t, d| {
            let iou = t.kalman.bbox().iou(&d.detection.bbox);
            (iou >= 0.3).then_some(1.0 - iou)
        },
        0.7,
        &mut matched,
    );

    settle(state, cfg, fps, frame, dets, (&matched, &unmatched_high))
}

/// The cost of re-identifying lost track `t` as detection `d` at `frame`, if he can be that player.
fn reid_cost(
    cfg: &TrackerConfig,
    fps: f64,
    frame: u64,
    t: &Track,
    d: &PersonDetection,
    drift: [f64; 2],
) -> Option<f64> {
    let gone = (frame - t.last_frame) as f64;
    let look = shirt_distance(t, &d.appearance);
    match (t.expected_pitch(drift), d.pitch) {
        // In metres on one scale whatever the time gone, so the nearest candidate wins: a player lost for
        // a moment beats one lost for seconds who could have run there.
        (Some(expected), Some(is)) => {
            let dist = crate::pitch::distance(expected, is);
            let radius = (cfg.reid_radius_m + cfg.reid_speed * gone / fps).min(MAX_REID_M);
            // Where he just was, the shirt (a few pixels of a far player, often half hidden) only vetoes a
            // clearly other kit.
            let max_look = if dist <= cfg.reid_radius_m { NEAR_MAX_LOOK } else { cfg.max_appearance_distance };
            (dist <= radius && look <= max_look).then(|| 0.5 * look + 0.5 * dist / MAX_REID_M)
        }
        _ => {
            let h = d.detection.bbox.height().max(t.last_box.height()).max(1.0);
            let radius = h * (1.0 + 0.25 * gone).min(8.0);
            let dist = distance(t.last_box.feet(), d.detection.bbox.feet());
            (dist <= radius && look <= 0.35).then(|| look + 0.5 * dist / radius)
        }
    }
}

/// After association: tracks confirmed on this frame may wake a sleeping player's id, matched tracks
/// observe their detections, unmatched ones are lost, put to sleep or dropped, and confident detections
/// left over start new tracks. Returns the frame's tracks.
fn settle(
    state: &mut TrackerState,
    cfg: &TrackerConfig,
    fps: f64,
    frame: u64,
    dets: &[PersonDetection],
    (matched, unmatched_high): (&[(usize, usize)], &[usize]),
) -> FrameTracks {
    state.drift = drifted(state, frame, dets, matched);
    let woken = wake(state, cfg, fps, frame, matched);
    let mut out = FrameTracks::default();
    for &(t, d) in matched {
        let track = &mut state.tracks[t];
        track.observe(frame, &dets[d], state.drift);
        track.status = Status::Tracked;
        out.tracked.push(Tracked {
            track_id: track.id,
            role: track.role(),
            bbox: dets[d].detection.bbox,
            confidence: dets[d].detection.confidence,
            detection: d,
        });
    }
    let frames_of = |seconds: f64| (seconds * fps).round() as u64;
    let mut index = 0;
    state.tracks.retain_mut(|t| {
        let i = index;
        index += 1;
        if woken.contains(&i) {
            return false;
        }
        if t.last_frame == frame || t.status == Status::Tentative {
            return t.last_frame == frame;
        }
        let gone = frame - t.last_frame;
        let (lost, dormant) = match t.last_pitch {
            Some(_) => {
                (frames_of(cfg.lost_seconds_on_pitch), frames_of(cfg.lost_seconds_on_pitch + cfg.dormant_seconds))
            }
            None => (frames_of(cfg.lost_seconds), frames_of(cfg.lost_seconds)),
        };
        t.status = if gone <= lost { Status::Lost } else { Status::Dormant };
        let keep = gone <= dormant;
        if !keep {
            out.removed.push(t.id);
        }
        keep
    });
    for &d in unmatched_high {
        if dets[d].detection.confidence < cfg.new_track_confidence {
            continue;
        }
        let track = Track::new(state.next_id, frame, &dets[d], state.drift);
        state.next_id += 1;
        state.tracks.push(track);
    }
    out.tracked.sort_by_key(|t| t.track_id);
    out
}

/// The tracker's drift after this frame: the median step on the pitch of the players seen on this frame
/// and the one before, when there are enough of them to speak for the block.
fn drifted(state: &TrackerState, frame: u64, dets: &[PersonDetection], matched: &[(usize, usize)]) -> [f64; 2] {
    const MIN_PLAYERS: usize = 3;
    let (mut dx, mut dy): (Vec<f64>, Vec<f64>) = matched
        .iter()
        .filter_map(|&(t, d)| {
            let track = &state.tracks[t];
            let (was, is) = (track.last_pitch?, dets[d].pitch.filter(|_| !dets[d].cut)?);
            (track.status == Status::Tracked && track.last_frame + 1 == frame).then(|| (is[0] - was[0], is[1] - was[1]))
        })
        .unzip();
    if dx.len() < MIN_PLAYERS {
        return state.drift;
    }
    [state.drift[0] + median(&mut dx), state.drift[1] + median(&mut dy)]
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 { values[mid] } else { (values[mid - 1] + values[mid]) / 2.0 }
}

/// A track confirmed on this frame that is a sleeping (or lost, too far for re-identification) player
/// back in view takes his id, the nearest to where he was first; returns the indices of the tracks so
/// taken over, to be dropped.
fn wake(state: &mut TrackerState, cfg: &TrackerConfig, fps: f64, frame: u64, matched: &[(usize, usize)]) -> Vec<usize> {
    let confirmed: Vec<usize> =
        matched.iter().map(|&(t, _)| t).filter(|&t| state.tracks[t].status == Status::Tentative).collect();
    let asleep: Vec<usize> = (0..state.tracks.len())
        .filter(|&t| {
            let track = &state.tracks[t];
            matches!(track.status, Status::Lost | Status::Dormant)
                && track.last_pitch.is_some()
                && !is_matched(matched, t)
        })
        .collect();
    if confirmed.is_empty() || asleep.is_empty() {
        return Vec::new();
    }
    let cost = |new: &Track, old: &Track| -> Option<f64> {
        let (expected, is) = (old.expected_pitch(state.drift)?, new.last_pitch?);
        let gone = (frame - old.last_frame) as f64 / fps;
        let radius = (cfg.reid_radius_m + cfg.reid_speed * gone).min(MAX_WAKE_M);
        let dist = crate::pitch::distance(expected, is);
        let look = if new.hist.is_empty() || old.hist.is_empty() { 0.0 } else { hist_distance(&new.hist, &old.hist) };
        (dist <= radius && look <= cfg.max_appearance_distance && old.role() == new.role()).then(|| dist / MAX_WAKE_M)
    };
    let costs: Vec<Option<f64>> = confirmed
        .iter()
        .flat_map(|&n| asleep.iter().map(|&o| cost(&state.tracks[n], &state.tracks[o])).collect::<Vec<_>>())
        .collect();
    let mut woken = Vec::new();
    for (r, c) in assign(confirmed.len(), asleep.len(), &costs, 1.0) {
        let (new, old) = (confirmed[r], asleep[c]);
        let (id, votes) = (state.tracks[old].id, state.tracks[old].role_votes);
        let track = &mut state.tracks[new];
        track.id = id;
        track.role_votes.iter_mut().zip(votes).for_each(|(v, o)| *v += o);
        woken.push(old);
    }
    woken
}

fn shirt_distance(t: &Track, look: &Appearance) -> f64 {
    if t.hist.is_empty() || look.pixels < 8 { 0.0 } else { hist_distance(&t.hist, &look.hist) }
}

fn is_matched(matched: &[(usize, usize)], track: usize) -> bool {
    matched.iter().any(|&(t, _)| t == track)
}

/// Assigns `dets` to `tracks` by `cost` (capped at `max_cost`), appends the pairs to `matched` and returns
/// the detections left over.
fn associate(
    state: &TrackerState,
    tracks: &[usize],
    dets: &[usize],
    all: &[PersonDetection],
    cost: impl Fn(&Track, &PersonDetection) -> Option<f64>,
    max_cost: f64,
    matched: &mut Vec<(usize, usize)>,
) -> Vec<usize> {
    let costs: Vec<Option<f64>> = tracks
        .iter()
        .flat_map(|&t| dets.iter().map(|&d| cost(&state.tracks[t], &all[d])).collect::<Vec<_>>())
        .collect();
    let pairs = assign(tracks.len(), dets.len(), &costs, max_cost);
    let mut used = vec![false; dets.len()];
    for (r, c) in pairs {
        matched.push((tracks[r], dets[c]));
        used[c] = true;
    }
    dets.iter().zip(used).filter(|(_, u)| !u).map(|(d, _)| *d).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(x: f64, conf: f64, colour: usize) -> PersonDetection {
        let mut hist = vec![0.0; crate::appearance::HIST_BINS];
        hist[colour] = 1.0;
        PersonDetection {
            detection: Detection {
                bbox: BBox::from([x, 100.0, x + 20.0, 160.0]),
                confidence: conf,
                class: Class::Player,
            },
            appearance: Appearance { colour: [0.0; 3], hist, pixels: 100 },
            pitch: None,
            cut: false,
        }
    }

    fn run(frames: Vec<Vec<PersonDetection>>) -> Vec<FrameTracks> {
        track_segment(TrackerState::default(), &TrackerConfig::default(), 25.0, 0, &frames).1
    }

    #[test]
    fn a_steady_player_keeps_one_id_and_weak_detections_keep_him_tracked() {
        let frames: Vec<_> =
            (0..30).map(|i| vec![person(10.0 + 2.0 * i as f64, if i % 5 == 4 { 0.3 } else { 0.9 }, 0)]).collect();
        let out = run(frames);
        let ids: std::collections::BTreeSet<u64> =
            out.iter().flat_map(|f| f.tracked.iter().map(|t| t.track_id)).collect();
        assert_eq!(ids.len(), 1);
        // Confirmed on its second sighting, then never dropped, weak frames included.
        assert!(out[1..].iter().all(|f| f.tracked.len() == 1), "lost on a weak detection");
    }

    #[test]
    fn a_player_hidden_for_a_second_is_re_identified_by_his_shirt() {
        let mut frames: Vec<Vec<PersonDetection>> = Vec::new();
        for i in 0..10 {
            frames.push(vec![person(100.0 + i as f64, 0.9, 3), person(400.0, 0.9, 7)]);
        }
        for _ in 0..25 {
            frames.push(vec![person(400.0, 0.9, 7)]);
        }
        // Reappears 60 px from where he vanished, beyond any IoU with the predicted box.
        for _ in 0..5 {
            frames.push(vec![person(170.0, 0.9, 3), person(400.0, 0.9, 7)]);
        }
        let out = run(frames);
        let first = out[5].tracked.iter().find(|t| t.bbox.x1 < 300.0).unwrap().track_id;
        let last = out.last().unwrap().tracked.iter().find(|t| t.bbox.x1 < 300.0).unwrap().track_id;
        assert_eq!(first, last);
    }

    fn on_pitch(mut p: PersonDetection, at: [f64; 2]) -> PersonDetection {
        p.pitch = Some(at);
        p
    }

    #[test]
    fn a_player_back_in_a_panned_view_keeps_his_id_by_where_he_is_on_the_pitch() {
        // Two team-mates (one shirt), 15 m apart on the pitch. The camera pans away for two seconds and back:
        // both reappear hundreds of pixels from where they left the image, each a metre from where he was.
        let mut frames: Vec<Vec<PersonDetection>> = Vec::new();
        for _ in 0..10 {
            frames.push(vec![
                on_pitch(person(100.0, 0.9, 3), [30.0, 20.0]),
                on_pitch(person(300.0, 0.9, 3), [45.0, 20.0]),
            ]);
        }
        frames.extend(vec![vec![]; 50]);
        for _ in 0..5 {
            frames.push(vec![
                on_pitch(person(900.0, 0.9, 3), [31.0, 20.5]),
                on_pitch(person(600.0, 0.9, 3), [44.0, 19.0]),
            ]);
        }
        let out = run(frames);
        let id_at = |f: &FrameTracks, x: f64| f.tracked.iter().find(|t| (t.bbox.x1 - x).abs() < 1.0).unwrap().track_id;
        let last = out.last().unwrap();
        assert_eq!(id_at(&out[5], 100.0), id_at(last, 900.0), "the left player");
        assert_eq!(id_at(&out[5], 300.0), id_at(last, 600.0), "the right player");
    }

    #[test]
    fn on_the_pitch_a_lost_player_is_not_looked_for_further_than_he_can_have_run() {
        let mut frames = vec![vec![on_pitch(person(100.0, 0.9, 3), [30.0, 20.0])]; 5];
        frames.extend(vec![vec![]; 25]);
        // A second later, 20 m away: another player, not him.
        frames.extend(vec![vec![on_pitch(person(120.0, 0.9, 3), [50.0, 20.0])]; 5]);
        let out = run(frames);
        assert_ne!(out[3].tracked[0].track_id, out.last().unwrap().tracked[0].track_id);
    }

    #[test]
    fn lost_tracks_are_dropped_after_the_configured_time() {
        let mut frames = vec![vec![person(100.0, 0.9, 3)]; 5];
        frames.extend(vec![vec![]; 80]);
        let (state, out) = track_segment(TrackerState::default(), &TrackerConfig::default(), 25.0, 0, &frames);
        assert!(state.tracks.is_empty());
        assert_eq!(out.iter().map(|f| f.removed.len()).sum::<usize>(), 1);
    }

    #[test]
    fn a_single_false_detection_never_becomes_a_track() {
        let out = run(vec![vec![person(100.0, 0.9, 3)], vec![], vec![]]);
        assert!(out.iter().all(|f| f.tracked.is_empty()));
    }

    #[test]
    fn a_player_back_in_view_after_a_long_absence_wakes_his_id_near_where_he_left_and_not_far_away() {
        // Seen at (30, 20) m, then out of view for 20 s, beyond the 10 s of re-identification.
        let mut frames = vec![vec![on_pitch(person(100.0, 0.9, 3), [30.0, 20.0])]; 5];
        frames.extend(vec![vec![]; 500]);
        frames.extend(vec![vec![on_pitch(person(700.0, 0.9, 3), [34.0, 22.0])]; 5]);
        let (state, out) = track_segment(TrackerState::default(), &TrackerConfig::default(), 25.0, 0, &frames);
        assert_eq!(out[3].tracked[0].track_id, out.last().unwrap().tracked[0].track_id);
        assert_eq!(state.tracks.len(), 1, "the sleeping track is taken over, not kept beside");

        // The same absence, but 40 m away: someone else.
        let mut frames = vec![vec![on_pitch(person(100.0, 0.9, 3), [30.0, 20.0])]; 5];
        frames.extend(vec![vec![]; 500]);
        frames.extend(vec![vec![on_pitch(person(700.0, 0.9, 3), [70.0, 22.0])]; 5]);
        let out = run(frames);
        assert_ne!(out[3].tracked[0].track_id, out.last().unwrap().tracked[0].track_id);
    }

    #[test]
    fn a_lost_player_is_looked_for_where_the_players_in_view_have_carried_the_block() {
        // Team-mates A at (30, 20) and C at (45, 20) leave the view; the three players in view run 15 m
        // up the pitch over the next 10 s; A comes back at (45, 20), where C was but A should now be.
        let in_view = |f: usize| {
            let x = 50.0 + 15.0 * (f.saturating_sub(5).min(250) as f64 / 250.0);
            (0..3).map(move |i| on_pitch(person(300.0 + 100.0 * i as f64, 0.9, 5 + i), [x, 10.0 * i as f64]))
        };
        let mut frames: Vec<Vec<PersonDetection>> = (0..5)
            .map(|f| {
                let mut people =
                    vec![on_pitch(person(60.0, 0.9, 3), [30.0, 20.0]), on_pitch(person(900.0, 0.9, 3), [45.0, 20.0])];
                people.extend(in_view(f));
                people
            })
            .collect();
        frames.extend((5..255).map(|f| in_view(f).collect()));
        frames.extend((255..260).map(|f| {
            let mut people = vec![on_pitch(person(700.0, 0.9, 3), [45.0, 20.0])];
            people.extend(in_view(f));
            people
        }));
        let out = run(frames);
        let a = out[3].tracked.iter().find(|t| t.detection == 0).unwrap().track_id;
        let back = out.last().unwrap().tracked.iter().find(|t| t.detection == 0).unwrap().track_id;
        assert_eq!(back, a, "A keeps his id, not C's");
    }

    #[test]
    fn a_player_who_leaves_as_a_sliver_at_the_pictures_side_is_remembered_where_he_was_last_seen_whole() {
        // A at (30, 20) m at the picture's left, then for 3 frames only a sliver of him, cut by the side,
        // whose bottom reads 10 m off at (40, 20); B at (45, 20). Both leave the view for 20 s; a player
        // comes back at (41, 20): B, who was 4 m from there, not A, whose sliver read 1 m.
        let sliver = || {
            let mut p = on_pitch(person(0.0, 0.9, 3), [40.0, 20.0]);
            p.detection.bbox = BBox::from([0.0, 100.0, 8.0, 140.0]);
            p.cut = true;
            p
        };
        let b = || on_pitch(person(600.0, 0.9, 3), [45.0, 20.0]);
        let mut frames: Vec<Vec<PersonDetection>> =
            (0..5).map(|_| vec![on_pitch(person(3.0, 0.9, 3), [30.0, 20.0]), b()]).collect();
        frames.extend((0..3).map(|_| vec![sliver(), b()]));
        frames.extend(vec![vec![]; 500]);
        frames.extend(vec![vec![on_pitch(person(700.0, 0.9, 3), [41.0, 20.0])]; 5]);
        let out = run(frames);
        let id_of_b = out[3].tracked.iter().find(|t| t.detection == 1).unwrap().track_id;
        assert_eq!(out[6].tracked.iter().map(|t| t.track_id).collect::<Vec<_>>(), [0, 1], "the sliver is still A");
        assert_eq!(out.last().unwrap().tracked[0].track_id, id_of_b);
    }

    #[test]
    fn a_sleeping_player_is_dropped_after_the_dormant_time() {
        let mut frames = vec![vec![on_pitch(person(100.0, 0.9, 3), [30.0, 20.0])]; 5];
        frames.extend(vec![vec![]; 25 * 101]);
        let (state, out) = track_segment(TrackerState::default(), &TrackerConfig::default(), 25.0, 0, &frames);
        assert!(state.tracks.is_empty());
        assert_eq!(out.iter().map(|f| f.removed.len()).sum::<usize>(), 1);
    }
}
