//! Ground truth of a synthetic clip (`<video>.truth.json`): written by `synth`, read by the truth
//! detector and by `eval`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::detect::Class;
use crate::geometry::BBox;
use crate::pitch::Homography;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    pub seed: u64,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    /// Shirt colours (RGB) of team 0 and team 1.
    pub kits: [[u8; 3]; 2],
    pub frames: Vec<FrameTruth>,
    pub events: Vec<TruthEvent>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameTruth {
    pub index: u64,
    pub people: Vec<PersonTruth>,
    pub ball: Option<BallTruth>,
    /// The camera's true homography from image pixels to pitch metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub homography: Option<Homography>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PersonTruth {
    pub id: u32,
    pub role: Class,
    pub team: Option<u8>,
    #[serde(rename = "box")]
    pub bbox: BBox,
    /// Share of the figure's pixels not hidden by others, 0..1.
    pub visible: f64,
    /// Where the person stands on the pitch, in metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pitch: Option<[f64; 2]>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BallTruth {
    #[serde(rename = "box")]
    pub bbox: BBox,
    pub visible: f64,
    /// Where the ball is on the pitch, in metres (it stays on the ground in the simulation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pitch: Option<[f64; 2]>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TruthEventKind {
    Pass,
    Turnover,
}

/// A change of the ball's owner: a pass between team-mates or a turnover to the other team.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TruthEvent {
    pub kind: TruthEventKind,
    pub from: u32,
    pub to: u32,
    /// Team of the player who received the ball.
    pub team: u8,
    /// Frame the ball left `from`.
    pub start_frame: u64,
    /// Frame `to` controlled it.
    pub end_frame: u64,
}

impl Truth {
    pub fn load(path: &Path) -> anyhow::Result<Truth> {
        let bytes =
            std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read truth file {}: {e}", path.display()))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("{} is not a TacticEYE truth file: {e}", path.display()))
    }

    pub fn frame(&self, index: u64) -> Option<&FrameTruth> {
        self.frames.get(index as usize).filter(|f| f.index == index)
    }
}
