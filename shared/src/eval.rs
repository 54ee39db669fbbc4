//! Scores an analysis against a synthetic clip's truth (people found, team accuracy, identity switches,
//! passes and turnovers, and positions on the pitch), or its passes against a real match's labelled ones.

mod misses;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::events::EventKind;
use crate::pipeline::{FrameOutput, ObjectOutput, SegmentOutput};
use crate::pitch::score::quantile;
use crate::reference::ReferencePass;
use crate::stats::score::PhysicalScore;
use crate::track::assign::assign;
use crate::truth::{FrameTruth, PersonTruth, Truth, TruthEventKind};

pub use misses::Misses;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventScore {
    pub truth: usize,
    pub found: usize,
    pub matched: usize,
    pub precision: f64,
    pub recall: f64,
    /// Against a synthetic truth: how the unmatched truth events arose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missed: Option<Misses>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub frames: u64,
    /// Share of truth people (at least half visible) matched by an output box at IoU >= 0.5.
    pub people_recall: f64,
    /// Share of output boxes matching a truth person.
    pub people_precision: f64,
    /// Share of matched team players and goalkeepers given the right team (labels aligned to truth).
    pub team_accuracy: f64,
    /// Times a truth person's matched track id changed.
    pub id_switches: u64,
    /// Switches per truth person per minute analysed.
    #[serde(default)]
    pub id_switches_per_player_minute: f64,
    /// How they arose.
    #[serde(default)]
    pub switch_causes: SwitchCauses,
    pub truth_people: usize,
    pub tracks: usize,
    pub passes: EventScore,
    pub turnovers: EventScore,
    /// Share of frames with a visible ball where the output ball is within 10 px.
    pub ball_within_10px: f64,
    /// Matched people placed on the pitch: their share, and the median and 90th percentile of the distance
    /// from where they truly stand, in metres (absent when nothing was placed).
    pub placed: f64,
    pub position_error_m: Option<f64>,
    pub position_error_p90_m: Option<f64>,
    /// Distances and top speeds against the truth, on calibrated matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical: Option<PhysicalScore>,
}

/// What a truth person's new track id was when it changed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SwitchCauses {
    /// He was not matched on the frame before (out of view, hidden or missed) and came back under another id.
    pub after_gap: u64,
    /// Matched on the frame before, and now under an id another person had: identities crossed.
    pub crossed: u64,
    /// Matched on the frame before, and now under a new id.
    pub new_id: u64,
}

/// Truth people paired with output boxes, greedily by IoU (at least 0.5), best pairs first.
pub fn matches(people: &[PersonTruth], objects: &[ObjectOutput]) -> Vec<(usize, usize)> {
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (i, p) in people.iter().enumerate() {
        for (j, o) in objects.iter().enumerate() {
            let iou = p.bbox.iou(&o.bbox);
            if iou >= 0.5 {
                pairs.push((iou, i, j));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut used_t, mut used_o) = (vec![false; people.len()], vec![false; objects.len()]);
    let mut out = Vec::new();
    for (_, i, j) in pairs {
        if !used_t[i] && !used_o[j] {
            used_t[i] = true;
            used_o[j] = true;
            out.push((i, j));
        }
    }
    out
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// Counts kept over the frames of a match as it is scored.
#[derive(Default)]
struct Tally {
    frames: u64,
    truth_seen: usize,
    found: usize,
    out_boxes: usize,
    matched_boxes: usize,
    /// `[output team][truth team]`.
    agree: [[usize; 2]; 2],
    team_total: usize,
    /// Per truth person, the track and frame he was last matched at; per track, the person it last was.
    last_track: BTreeMap<u32, (u64, u64)>,
    last_person: BTreeMap<u64, u32>,
    switches: u64,
    causes: SwitchCauses,
    tracks: std::collections::BTreeSet<u64>,
    ball_frames: usize,
    ball_hits: usize,
    position_errors: Vec<f64>,
}

impl Tally {
    fn frame(&mut self, t: &FrameTruth, f: &FrameOutput) {
        self.frames += 1;
        self.out_boxes += f.objects.len();
        self.tracks.extend(f.objects.iter().map(|o| o.track_id));
        for (i, j) in self.correspond(&t.people, &f.objects) {
            self.person(&t.people[i], &f.objects[j], f.frame);
        }
        self.truth_seen += t.people.iter().filter(|p| p.visible >= 0.5).count();
        if let Some(b) = t.ball.as_ref().filter(|b| b.visible >= 0.5) {
            self.ball_frames += 1;
            let (bx, by) = b.bbox.center();
            self.ball_hits += usize::from(f.ball.is_some_and(|o| (o.x - bx).hypot(o.y - by) <= 10.0));
        }
    }

    /// Truth people paired with output boxes as CLEAR MOT pairs them (here exactly as py-motmetrics does,
    /// which a test checks): a person keeps the track he was last matched with while their boxes overlap
    /// at IoU 0.5, and the others are paired for the least total 1 - IoU. Two people crossing with boxes
    /// jittering are no switch unless the tracks truly swap.
    fn correspond(&self, people: &[PersonTruth], objects: &[ObjectOutput]) -> Vec<(usize, usize)> {
        let iou = |i: usize, j: usize| Some(people[i].bbox.iou(&objects[j].bbox)).filter(|&v| v >= 0.5);
        let mut pairs = Vec::new();
        let (mut kept_t, mut kept_o) = (vec![false; people.len()], vec![false; objects.len()]);
        for (i, p) in people.iter().enumerate() {
            let Some(&(track, _)) = self.last_track.get(&p.id) else { continue };
            if let Some(j) =
                (0..objects.len()).find(|&j| !kept_o[j] && objects[j].track_id == track && iou(i, j).is_some())
            {
                (kept_t[i], kept_o[j]) = (true, true);
                pairs.push((i, j));
            }
        }
        let (rows, cols): (Vec<usize>, Vec<usize>) =
            ((0..people.len()).filter(|&i| !kept_t[i]).collect(), (0..objects.len()).filter(|&j| !kept_o[j]).collect());
        let costs: Vec<Option<f64>> =
            rows.iter().flat_map(|&i| cols.iter().map(move |&j| iou(i, j).map(|v| 1.0 - v))).collect();
        pairs.extend(assign(rows.len(), cols.len(), &costs, 0.5).into_iter().map(|(r, c)| (rows[r], cols[c])));
        pairs
    }

    /// A truth person matched to an output box at `frame`: found, his team, his place, his identity.
    fn person(&mut self, p: &PersonTruth, o: &ObjectOutput, frame: u64) {
        self.matched_boxes += 1;
        if p.visible >= 0.5 {
            self.found += 1;
        }
        if let Some(tt) = p.team {
            self.team_total += 1;
            if let Some(ot) = o.team {
                self.agree[ot as usize][tt as usize] += 1;
            }
        }
        if let (Some(truly), Some(placed)) = (p.pitch, o.pitch) {
            self.position_errors.push((truly[0] - placed[0]).hypot(truly[1] - placed[1]));
        }
        if let Some((prev, seen)) = self.last_track.insert(p.id, (o.track_id, frame))
            && prev != o.track_id
        {
            self.switches += 1;
            if seen + 1 < frame {
                self.causes.after_gap += 1;
            } else if self.last_person.get(&o.track_id).is_some_and(|&other| other != p.id) {
                self.causes.crossed += 1;
            } else {
                self.causes.new_id += 1;
            }
        }
        self.last_person.insert(o.track_id, p.id);
    }

    /// Whether our team 0 is the truth's team 1, and the person-frames whose team is right.
    fn teams(&self) -> (bool, usize) {
        let a = &self.agree;
        let swap = a[0][1] + a[1][0] > a[0][0] + a[1][1];
        (swap, if swap { a[0][1] + a[1][0] } else { a[0][0] + a[1][1] })
    }
}

/// Truth events of one kind up to `last_frame` matched one to one with our events of the matching kind:
/// the same team (ours mapped by `map_team`) within `tolerance` frames, the nearest first.
fn score_events(
    truth: &Truth,
    outputs: &[SegmentOutput],
    (kind_truth, kind_out): (TruthEventKind, EventKind),
    map_team: impl Fn(u8) -> u8,
    tolerance: u64,
    last_frame: u64,
) -> EventScore {
    let wanted: Vec<_> = truth.events.iter().filter(|e| e.kind == kind_truth && e.end_frame <= last_frame).collect();
    let got: Vec<_> = outputs.iter().flat_map(|o| &o.events).filter(|e| e.kind == kind_out).collect();
    let mut taken = vec![false; got.len()];
    let mut missed = Vec::new();
    for w in &wanted {
        let best = got
            .iter()
            .enumerate()
            .filter(|(j, g)| {
                !taken[*j] && g.team.map(&map_team) == Some(w.team) && g.frame.abs_diff(w.end_frame) <= tolerance
            })
            .min_by_key(|(_, g)| g.frame.abs_diff(w.end_frame));
        match best {
            Some((j, _)) => taken[j] = true,
            None => missed.push(*w),
        }
    }
    let matched = wanted.len() - missed.len();
    EventScore {
        truth: wanted.len(),
        found: got.len(),
        matched,
        precision: ratio(matched, got.len()),
        recall: ratio(matched, wanted.len()),
        missed: Some(misses::misses(truth, &missed)),
    }
}

/// `tolerance` frames around the truth reception frame count as the same event.
pub fn evaluate(truth: &Truth, outputs: &[SegmentOutput], tolerance: u64) -> Report {
    let mut tally = Tally::default();
    for f in outputs.iter().flat_map(|o| &o.frames) {
        if let Some(t) = truth.frame(f.frame) {
            tally.frame(t, f);
        }
    }
    let (swap, team_right) = tally.teams();
    let map_team = |team: u8| if swap { 1 - team } else { team };
    let last_frame = outputs.last().and_then(|o| o.frames.last()).map_or(0, |f| f.frame);
    let score = |kinds| score_events(truth, outputs, kinds, map_team, tolerance, last_frame);
    let mut t = tally;
    let minutes = t.last_track.len().max(1) as f64 * t.frames as f64 / truth.fps.max(1e-9) / 60.0;
    Report {
        frames: t.frames,
        people_recall: ratio(t.found, t.truth_seen),
        people_precision: ratio(t.matched_boxes, t.out_boxes),
        team_accuracy: ratio(team_right, t.team_total),
        id_switches: t.switches,
        id_switches_per_player_minute: t.switches as f64 / minutes.max(1e-9),
        switch_causes: t.causes,
        truth_people: t.last_track.len(),
        tracks: t.tracks.len(),
        passes: score((TruthEventKind::Pass, EventKind::Pass)),
        turnovers: score((TruthEventKind::Turnover, EventKind::Turnover)),
        ball_within_10px: ratio(t.ball_hits, t.ball_frames),
        placed: ratio(t.position_errors.len(), t.matched_boxes),
        position_error_m: quantile(&mut t.position_errors, 0.5),
        position_error_p90_m: quantile(&mut t.position_errors, 0.9),
        physical: None,
    }
}

/// Our passes against a real match's labelled ones.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReferenceScore {
    /// Reference passes received while the analysed video ran, against ours.
    pub passes: EventScore,
    /// The reference's names of our team 0 and team 1 (the pairing that agrees best).
    pub teams: [String; 2],
    /// The reference's clock at our first frame, given or found (`best_offset`).
    pub offset_s: f64,
    /// The analysed span on the reference's clock, seconds.
    pub span_s: [f64; 2],
    /// Median time between a matched reference reception and ours.
    pub median_time_error_s: Option<f64>,
}

/// Scores our passes against `reference`, whose clock read `offset_s` at our video's first frame: a
/// reference pass received within the analysed span is found when one of ours by the same team ends within
/// `tolerance_s` of it, the nearest first. Only our passes within the span of the reference's count.
pub fn score_passes<'a>(
    reference: &'a [ReferencePass],
    outputs: &[SegmentOutput],
    offset_s: f64,
    tolerance_s: f64,
) -> ReferenceScore {
    let times = || outputs.iter().flat_map(|o| &o.frames).map(|f| f.time);
    let span_s = [times().next().unwrap_or(0.0) + offset_s, times().next_back().unwrap_or(0.0) + offset_s];
    let wanted: Vec<&ReferencePass> = reference.iter().filter(|p| (span_s[0]..=span_s[1]).contains(&p.end_s)).collect();
    // Ours count only while the reference labels passes: a reference of part of the match says nothing of
    // the rest.
    let first = reference.iter().map(|p| p.start_s).reduce(f64::min).unwrap_or(f64::INFINITY);
    let last = reference.iter().map(|p| p.end_s).reduce(f64::max).unwrap_or(f64::NEG_INFINITY);
    let ours: Vec<(u8, f64)> = outputs
        .iter()
        .flat_map(|o| &o.events)
        .filter(|e| e.kind == EventKind::Pass)
        .filter_map(|e| Some((e.team?, e.time + offset_s)))
        .filter(|&(_, t)| (first - tolerance_s..=last + tolerance_s).contains(&t))
        .collect();
    let mut names: Vec<&str> = Vec::new();
    for p in reference {
        if !names.contains(&p.team.as_str()) {
            names.push(&p.team);
        }
    }
    names.resize(names.len().max(2), "");
    let pairing = |teams: [&'a str; 2]| -> ([&'a str; 2], Vec<f64>) {
        let mut taken = vec![false; ours.len()];
        let mut errors = Vec::new();
        for w in &wanted {
            let best = (0..ours.len())
                .filter(|&j| !taken[j] && teams[ours[j].0 as usize & 1] == w.team)
                .map(|j| (j, (ours[j].1 - w.end_s).abs()))
                .filter(|&(_, dt)| dt <= tolerance_s)
                .min_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((j, dt)) = best {
                taken[j] = true;
                errors.push(dt);
            }
        }
        (teams, errors)
    };
    let (straight, swapped) = (pairing([names[0], names[1]]), pairing([names[1], names[0]]));
    let (teams, mut errors) = if swapped.1.len() > straight.1.len() { swapped } else { straight };
    ReferenceScore {
        passes: EventScore {
            truth: wanted.len(),
            found: ours.len(),
            matched: errors.len(),
            precision: ratio(errors.len(), ours.len()),
            recall: ratio(errors.len(), wanted.len()),
            missed: None,
        },
        teams: teams.map(String::from),
        offset_s,
        span_s,
        median_time_error_s: quantile(&mut errors, 0.5),
    }
}

/// The reference's clock at our first frame, found from the passes alone: every pair of one of their
/// receptions and one of ours votes for the offset that would align the two, and the offsets within twice
/// `tolerance_s` of each other that gather the most votes win (their median). `None` without passes.
pub fn best_offset(reference: &[ReferencePass], outputs: &[SegmentOutput], tolerance_s: f64) -> Option<f64> {
    let ours: Vec<f64> =
        outputs.iter().flat_map(|o| &o.events).filter(|e| e.kind == EventKind::Pass).map(|e| e.time).collect();
    let mut votes: Vec<f64> = reference.iter().flat_map(|r| ours.iter().map(move |t| r.end_s - t)).collect();
    votes.sort_by(f64::total_cmp);
    let (mut best, mut end) = ((0, 0), 0);
    for start in 0..votes.len() {
        while end < votes.len() && votes[end] - votes[start] <= 2.0 * tolerance_s {
            end += 1;
        }
        if end - start > best.1 - best.0 {
            best = (start, end);
        }
    }
    quantile(&mut votes[best.0..best.1], 0.5)
}
