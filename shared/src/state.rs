//! `MatchState`: everything needed to continue an analysis, checkpointed after every segment.
//!
//! It round-trips exactly through JSON (serde_json's `float_roundtrip`, ordered maps, no NaN), which is
//! what makes a resumed analysis identical to an uninterrupted one.

use serde::{Deserialize, Serialize};

use crate::ball::{BallConfig, BallState};
use crate::events::log::EventLog;
use crate::events::{PossessionConfig, PossessionState};
use crate::ids::MatchId;
use crate::pitch::CalibrationMode;
use crate::pitch::camera::CameraState;
use crate::stats::StatsState;
use crate::teams::{TeamState, TeamsConfig};
use crate::track::{TrackerConfig, TrackerState};

pub const SCHEMA_VERSION: u32 = 8;

/// Every setting that changes results. A checkpoint only resumes under the same config.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub segment_seconds: f64,
    /// How positions are put on the pitch, in metres, if they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<CalibrationMode>,
    pub tracker: TrackerConfig,
    pub teams: TeamsConfig,
    pub ball: BallConfig,
    pub possession: PossessionConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            segment_seconds: 3.0,
            calibration: None,
            tracker: TrackerConfig::default(),
            teams: TeamsConfig::default(),
            ball: BallConfig::default(),
            possession: PossessionConfig::default(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Running,
    Complete,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MatchState {
    pub schema_version: u32,
    pub match_id: MatchId,
    pub config: Config,
    /// `Detector::identity` of the model that produced the results so far.
    pub detector: String,
    /// Fingerprint of the source video.
    pub source: String,
    pub status: Status,
    pub fps: f64,
    pub width: u32,
    pub height: u32,
    /// Index of the next segment to apply; equals the number of segments done.
    pub next_segment: u64,
    /// Global index of that segment's first frame; equals the number of frames done.
    pub next_frame: u64,
    /// A moving camera's last calibrated keyframe, for the next segment to blend from.
    #[serde(default, skip_serializing_if = "CameraState::is_empty")]
    pub camera: CameraState,
    pub tracker: TrackerState,
    pub teams: TeamState,
    pub ball: BallState,
    pub possession: PossessionState,
    /// Distances, speeds and team figures on the pitch (calibrated matches).
    #[serde(default, skip_serializing_if = "StatsState::is_empty")]
    pub stats: StatsState,
    /// Every event so far, as pages a reader can pick from (`events::log`).
    #[serde(default, skip_serializing_if = "EventLog::is_empty")]
    pub events: EventLog,
    pub live: LiveStats,
}

/// Live matches: how far behind the stream the analysis runs, and what it had to skip.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveStats {
    /// Segments analysed with a receive time, for the lag figures.
    pub segments: u64,
    /// Lag of the last analysed segment: its commit time minus the time its last frame was received.
    pub last_lag: f64,
    pub max_lag: f64,
    pub total_lag: f64,
    pub dropped_segments: u64,
    pub dropped_seconds: f64,
    pub gaps: u64,
    pub gap_seconds: f64,
    /// When the last applied or dropped segment was received (Unix seconds): the lag grows from there
    /// while nothing new is committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_received_at: Option<f64>,
}

impl LiveStats {
    pub fn record_lag(&mut self, lag: f64) {
        self.segments += 1;
        self.last_lag = lag;
        self.max_lag = self.max_lag.max(lag);
        self.total_lag += lag;
    }
}

/// A checkpoint this run cannot go on from; only discarding it (the caller's decision) gets past it.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("the checkpoint of match {match_id} is unreadable ({reason})")]
    Unreadable { match_id: String, reason: String },
    #[error("the checkpoint of match {0} was written by schema version {1}, this build reads {SCHEMA_VERSION}")]
    Schema(String, u32),
    #[error("the checkpoint of match {match_id} was made with a different {what}; results would not match")]
    Incompatible { match_id: String, what: &'static str },
}

impl MatchState {
    pub fn new(
        match_id: MatchId,
        config: Config,
        detector: String,
        source: String,
        fps: f64,
        width: u32,
        height: u32,
    ) -> Self {
        MatchState {
            schema_version: SCHEMA_VERSION,
            match_id,
            config,
            detector,
            source,
            status: Status::Running,
            fps,
            width,
            height,
            next_segment: 0,
            next_frame: 0,
            camera: CameraState::default(),
            tracker: TrackerState::default(),
            teams: TeamState::default(),
            ball: BallState::default(),
            possession: PossessionState::default(),
            stats: StatsState::default(),
            events: EventLog::default(),
            live: LiveStats::default(),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("match state serialises")
    }

    pub fn from_json(match_id: &MatchId, bytes: &[u8]) -> Result<MatchState, StateError> {
        let unreadable = |reason: String| StateError::Unreadable { match_id: match_id.to_string(), reason };
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| unreadable(e.to_string()))?;
        let version = value
            .get("schema_version")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| unreadable("no schema_version".into()))?;
        if version != SCHEMA_VERSION as u64 {
            return Err(StateError::Schema(match_id.to_string(), version as u32));
        }
        let state: MatchState = serde_json::from_slice(bytes).map_err(|e| unreadable(e.to_string()))?;
        if &state.match_id != match_id {
            return Err(unreadable(format!("it belongs to match {}", state.match_id)));
        }
        Ok(state)
    }

    /// Refuses to continue under other settings, another model or another video.
    pub fn check_compatible(&self, config: &Config, detector: &str, source: &str) -> Result<(), StateError> {
        let incompatible = |what| Err(StateError::Incompatible { match_id: self.match_id.to_string(), what });
        if &self.config != config {
            return incompatible("configuration");
        }
        if self.detector != detector {
            return incompatible("detector model");
        }
        if self.source != source {
            return incompatible("source video");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> MatchState {
        MatchState::new(
            MatchId::new("m1").unwrap(),
            Config::default(),
            "truth:x".into(),
            "md5:y".into(),
            25.0,
            1280,
            720,
        )
    }

    #[test]
    fn state_refuses_another_config_model_or_source() {
        let s = state();
        assert!(s.check_compatible(&Config::default(), "truth:x", "md5:y").is_ok());
        let other = Config { segment_seconds: 2.0, ..Config::default() };
        assert!(matches!(
            s.check_compatible(&other, "truth:x", "md5:y"),
            Err(StateError::Incompatible { what: "configuration", .. })
        ));
        assert!(s.check_compatible(&Config::default(), "onnx:z", "md5:y").is_err());
        assert!(s.check_compatible(&Config::default(), "truth:x", "md5:q").is_err());
    }

    #[test]
    fn foreign_or_garbled_checkpoints_are_refused() {
        let s = state();
        let other = MatchId::new("m2").unwrap();
        let err = MatchState::from_json(&other, &s.to_json()).unwrap_err().to_string();
        assert!(err.contains("belongs to match m1"), "{err}");
        let err = MatchState::from_json(&s.match_id, b"{not json").unwrap_err();
        assert!(matches!(err, StateError::Unreadable { .. }), "{err}");
        let mut v: serde_json::Value = serde_json::from_slice(&s.to_json()).unwrap();
        v["schema_version"] = 99.into();
        assert!(matches!(MatchState::from_json(&s.match_id, v.to_string().as_bytes()), Err(StateError::Schema(_, 99))));
    }
}
