//! Export to the Common Data Format (CDF v0.3.2, the version `common-data-format-validator` checks):
//! `meta.json` (match, teams with their tracks as players, pitch, frame rate), `tracking.jsonl` (a frame a
//! line: players by team, referees as officials, the ball) and `event.jsonl` (passes and turnovers, which
//! are our possession changes). Read segment by segment, so a whole match is never held in memory; written into a
//! new folder that replaces the destination only once complete.
//!
//! CDF wants metres from the centre spot: x along the length towards the right-hand goal, y across with
//! positive y towards the far touchline (our y runs from the far touchline towards the near one). What we
//! cannot know is filled as the schema allows: tracks stand for players (`jersey_number` is the track id,
//! no names), team 0 is "home" and said to play left to right, the whole match is `first_half`, a pass's
//! body part is `other`, and times are seconds from an unknown kickoff written as from 1970-01-01T00:00:00Z.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::detect::Class;
use crate::events::{Event, EventKind};
use crate::ids::MatchId;
use crate::pipeline::FrameOutput;
use crate::pitch::Pitch;
use crate::results::{self, ResultsError};
use crate::storage::ObjectStore;

pub const VERSION: &str = "0.3.2";
const FILES: [&str; 3] = ["meta.json", "tracking.jsonl", "event.jsonl"];
const PERIOD: &str = "first_half";

/// What was written.
pub struct Written {
    pub frames: u64,
    pub events: u64,
    pub players: usize,
}

pub async fn export<S: ObjectStore>(store: &S, id: &MatchId, out: &Path) -> anyhow::Result<Written> {
    let (state, _) = crate::analysis::load_state(store, id).await?.ok_or(ResultsError::NotFound(id.clone()))?;
    let pitch = state.config.calibration.as_ref().map(|c| c.pitch()).ok_or(ResultsError::NotCalibrated(id.clone()))?;
    let tmp = crate::staging::folder(out, &FILES)?;
    let place = Place { pitch };
    let mut tracking = std::io::BufWriter::new(std::fs::File::create(tmp.path().join("tracking.jsonl"))?);
    let mut events = std::io::BufWriter::new(std::fs::File::create(tmp.path().join("event.jsonl"))?);
    let mut players: BTreeMap<u64, u8> = BTreeMap::new();
    let mut written = Written { frames: 0, events: 0, players: 0 };
    for index in 0..state.next_segment {
        let output = results::output(store, id, index).await?;
        for frame in &output.frames {
            for o in &frame.objects {
                if let (Some(team), Class::Player | Class::Goalkeeper) = (o.team, o.role) {
                    players.entry(o.track_id).or_insert(team);
                }
            }
            serde_json::to_writer(&mut tracking, &tracking_line(id, frame, &place))?;
            tracking.write_all(b"\n")?;
            written.frames += 1;
        }
        for event in &output.events {
            if let Some(line) = event_line(id, event, &place, state.fps) {
                serde_json::to_writer(&mut events, &line)?;
                events.write_all(b"\n")?;
                written.events += 1;
            }
        }
    }
    tracking.flush()?;
    events.flush()?;
    written.players = players.len();
    let frames = state.next_frame;
    let meta = meta(id, pitch, state.fps, frames, &players, state.teams.kits);
    std::fs::write(tmp.path().join("meta.json"), serde_json::to_vec_pretty(&meta)?)?;
    crate::staging::put_folder(tmp, out)?;
    Ok(written)
}

/// Our pitch coordinates to CDF's (centre origin, y towards the far side), rounded to the centimetre.
struct Place {
    pitch: Pitch,
}

impl Place {
    fn cdf(&self, [x, y]: [f64; 2]) -> [f64; 2] {
        let r = |v: f64| (v * 100.0).round() / 100.0;
        [r(x - self.pitch.length / 2.0), r(self.pitch.width / 2.0 - y)]
    }
}

fn player_id(track: u64) -> String {
    format!("track_{track}")
}

fn team_id(team: u8) -> String {
    format!("team_{team}")
}

/// Video seconds as a CDF time: from an unknown kickoff, written from the Unix epoch.
fn timestamp(seconds: f64) -> String {
    let millis = (seconds * 1000.0).round().max(0.0) as i64;
    (DateTime::<Utc>::UNIX_EPOCH + TimeDelta::milliseconds(millis)).to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn tracking_line(id: &MatchId, frame: &FrameOutput, place: &Place) -> Value {
    let mut teams = [Vec::new(), Vec::new()];
    let mut officials = Vec::new();
    for o in &frame.objects {
        let Some(at) = o.pitch.map(|p| place.cdf(p)) else { continue };
        match (o.role, o.team) {
            (Class::Referee, _) => {
                officials.push(json!({ "id": format!("official_{}", o.track_id), "x": at[0], "y": at[1] }))
            }
            (_, Some(team)) => {
                teams[team as usize & 1].push(json!({ "id": player_id(o.track_id), "x": at[0], "y": at[1] }))
            }
            _ => {}
        }
    }
    let ball = match frame.ball_pitch.map(|p| place.cdf(p)) {
        Some([x, y]) => json!({ "x": x, "y": y, "z": 0.0 }),
        None => json!({ "x": null, "y": null, "z": null }),
    };
    let [home, away] = teams;
    json!({
        "frame_id": frame.frame,
        "timestamp": timestamp(frame.time),
        "period": PERIOD,
        "match": { "id": id.as_str() },
        "teams": { "home": { "id": team_id(0), "players": home }, "away": { "id": team_id(1), "players": away } },
        "ball": ball,
        "officials": officials,
    })
}

/// Passes and turnovers with both ends on the pitch. Our possession changes are the turnovers again (and
/// the first touch, which has no start), so they are not written twice.
fn event_line(id: &MatchId, e: &Event, place: &Place, fps: f64) -> Option<Value> {
    let kind = match e.kind {
        EventKind::Pass => "pass",
        EventKind::Turnover => "turnover",
        EventKind::PossessionChange | EventKind::SourceGap | EventKind::SegmentDropped => return None,
    };
    let (from, to) = (place.cdf(e.from_pitch?), place.cdf(e.to_pitch?));
    let team = e.team?;
    let start = e.start_frame.unwrap_or(e.frame);
    // `team` has the ball after: a pass stays with it; a turnover is lost by the other team's player.
    let (player_team, successful) = match e.kind {
        EventKind::Pass => (team, true),
        _ => (1 - team.min(1), false),
    };
    Some(json!({
        "match": { "id": id.as_str() },
        "meta": { "is_synced": true },
        "event": {
            "id": format!("{kind}_{}", e.frame),
            "time": timestamp(start as f64 / fps),
            "period": PERIOD,
            "type": kind,
            "sub_type": null,
            "is_successful": successful,
            "outcome_type": if successful { "successful" } else { "unsuccessful" },
            "player_id": e.from_track.map(player_id),
            "team_id": team_id(player_team),
            "receiver_id": e.to_track.map(player_id),
            "receiver_time": timestamp(e.time),
            "receiver_team_id": team_id(team),
            "x": from[0], "y": from[1], "x_end": to[0], "y_end": to[1],
            // A pass must name one; we do not see which.
            "body_part": if e.kind == EventKind::Pass { Some("other") } else { None },
            "related_event_ids": null,
        },
        "tracking": { "frame_id": start, "frame_id_end": e.frame },
    }))
}

fn meta(
    id: &MatchId,
    pitch: Pitch,
    fps: f64,
    frames: u64,
    players: &BTreeMap<u64, u8>,
    kits: Option<[[f64; 3]; 2]>,
) -> Value {
    let fps = fps.round() as u64;
    let team = |t: u8| {
        let mut team = json!({
            "id": team_id(t),
            "name": format!("Team {t}"),
            "players": players.iter().filter(|&(_, &pt)| pt == t).map(|(&track, _)| json!({
                "id": player_id(track), "team_id": team_id(t), "jersey_number": track, "is_starter": true,
            })).collect::<Vec<_>>(),
        });
        if let Some(k) = kits {
            let [r, g, b] = k[t as usize].map(|c| c.round() as u8);
            team["jersey_colour"] = format!("#{r:02x}{g:02x}{b:02x}").into();
        }
        team
    };
    let vendor = |name: &str| json!({ "version": env!("CARGO_PKG_VERSION"), "name": name, "fps": fps, "collection_timing": "post_match" });
    let start = timestamp(0.0);
    let end = timestamp(frames as f64 / fps.max(1) as f64);
    json!({
        "competition": { "id": "unknown" },
        "season": { "id": "unknown" },
        "match": {
            "id": id.as_str(),
            "kickoff_time": start,
            // Required; which way each team plays is not known, so team 0 is said to play left to right.
            "periods": [{ "period": PERIOD, "play_direction": "left_right", "start_time": start, "end_time": end,
                "frame_id_start": 0, "frame_id_end": frames.saturating_sub(1) }],
            "whistles": [
                { "type": PERIOD, "sub_type": "start", "time": start },
                { "type": PERIOD, "sub_type": "end", "time": end },
            ],
        },
        "teams": { "home": team(0), "away": team(1) },
        "venue": { "id": "unknown", "pitch_length": pitch.length, "pitch_width": pitch.width },
        "meta": {
            "video": { "perspective": "broadcast", "version": env!("CARGO_PKG_VERSION"), "name": "TacticEYE", "fps": fps },
            "tracking": vendor("TacticEYE"),
            "event": { "collection_timing": "post_match", "name": "TacticEYE", "version": env!("CARGO_PKG_VERSION") },
            // No body landmarks are tracked; the block is required, so it names the one point we have.
            "landmarks": { "version": env!("CARGO_PKG_VERSION"), "name": "TacticEYE", "fps": fps,
                "collection_timing": "post_match", "skeleton": { "root": "feet", "joints": ["feet"], "connections": [] } },
            "ball": vendor("TacticEYE"),
            "meta": { "version": env!("CARGO_PKG_VERSION"), "name": "TacticEYE" },
            "cdf": { "version": VERSION },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_places_the_centre_spot_at_zero_and_the_far_side_at_positive_y() {
        let place = Place { pitch: Pitch { length: 105.0, width: 68.0 } };
        assert_eq!(place.cdf([52.5, 34.0]), [0.0, 0.0]);
        assert_eq!(place.cdf([105.0, 0.0]), [52.5, 34.0]);
        assert_eq!(timestamp(3725.04), "1970-01-01T01:02:05.040Z");
        assert_eq!(timestamp(40.0 * 86_400.0 + 0.5), "1970-02-10T00:00:00.500Z", "past a month");
    }
}
