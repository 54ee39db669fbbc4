//! Figures read off the pitch, kept up to date segment by segment: each person's distance, speeds and
//! sprints (`runner`), each team's heatmap, thirds, shape and passes (`team`), and the report people read
//! (`report`). The state is part of the checkpoint, so a resumed match counts exactly as an uninterrupted one.

mod report;
pub mod runner;
pub mod score;
pub mod team;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use report::{PlayerReport, StatsReport, TeamReport, report};
pub use runner::Runner;
pub use team::{Grid, TeamStats};

use crate::detect::Class;
use crate::events::{Event, EventKind};
use crate::pipeline::FrameOutput;
use crate::pitch::Pitch;

/// A track unseen this long is gone for good: its buffers are freed.
const RETIRE_SECONDS: f64 = 10.0;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatsState {
    pub runners: BTreeMap<u64, Runner>,
    pub teams: [TeamStats; 2],
}

impl StatsState {
    pub fn is_empty(&self) -> bool {
        self.runners.is_empty() && self.teams == <[TeamStats; 2]>::default()
    }
}

/// Adds one segment's frames and events (positions in metres on `pitch`).
pub fn update(mut state: StatsState, pitch: Pitch, fps: f64, frames: &[FrameOutput], events: &[Event]) -> StatsState {
    let grid = Grid::of(pitch);
    for frame in frames {
        let mut outfield: [Vec<[f64; 2]>; 2] = Default::default();
        for o in &frame.objects {
            let Some(at) = o.pitch else { continue };
            let runner = state.runners.entry(o.track_id).or_default();
            runner.vote(o.team, o.role);
            runner.observe(frame.frame, at, fps);
            let Some(team) = o.team.filter(|_| matches!(o.role, Class::Player | Class::Goalkeeper)) else { continue };
            let team = team as usize & 1;
            state.teams[team].place(&grid, at);
            if o.role == Class::Player {
                outfield[team].push(at);
            }
        }
        for (team, players) in state.teams.iter_mut().zip(&outfield) {
            team.shape(players);
        }
        let owner = frame.owner.and_then(|id| frame.objects.iter().find(|o| o.track_id == id));
        if let Some((team, at)) = owner.and_then(|o| o.team.zip(o.pitch)) {
            state.teams[team as usize & 1].own(pitch, at);
        }
    }
    for e in events.iter().filter(|e| e.kind == EventKind::Pass) {
        if let Some(team) = e.team {
            state.teams[team as usize & 1].passes.add(e.from_track, e.to_track, e.from_pitch.zip(e.to_pitch));
        }
    }
    if let Some(last) = frames.last() {
        let horizon = last.frame as f64 - RETIRE_SECONDS * fps;
        state.runners.values_mut().filter(|r| r.last_frame().is_some_and(|f| f < horizon)).for_each(Runner::retire);
    }
    state
}
