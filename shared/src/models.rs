//! Where the models we ship in `models/` are found: an environment variable first, then beside the
//! executable (the cloud image), then the repository's `models/` (a build tree or the working folder).

use std::path::PathBuf;

/// A shipped model: its file name and the variable that overrides where it is.
pub struct Shipped {
    pub file: &'static str,
    pub env: &'static str,
    /// What it is, for the error when it is nowhere.
    pub what: &'static str,
}

pub const DETECTOR: Shipped =
    Shipped { file: "tacticeye-detector.onnx", env: "TACTICEYE_MODEL", what: "the default detector" };
pub const BALL_CHECK: Shipped =
    Shipped { file: "tacticeye-ball.onnx", env: "TACTICEYE_BALL_MODEL", what: "the default detector's ball check" };
pub const PITCH: Shipped =
    Shipped { file: "tacticeye-pitch.onnx", env: "TACTICEYE_PITCH_MODEL", what: "the default pitch model" };

impl Shipped {
    /// Where it is looked for, in order.
    pub fn paths(&self) -> Vec<PathBuf> {
        let mut paths = Vec::new();
        if let Some(p) = std::env::var_os(self.env) {
            paths.push(PathBuf::from(p));
        }
        if let Ok(exe) = std::env::current_exe()
            && let Some(dir) = exe.parent()
        {
            paths.push(dir.join("models").join(self.file));
            paths.push(dir.join("../../models").join(self.file));
        }
        paths.push(PathBuf::from("models").join(self.file));
        paths
    }

    /// The first path where it is.
    pub fn find(&self) -> anyhow::Result<PathBuf> {
        let paths = self.paths();
        paths.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
            let looked: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            anyhow::anyhow!(
                "{} was not found (looked for {}); set {} to {} or pass a model path",
                self.what,
                looked.join(", "),
                self.env,
                self.file
            )
        })
    }
}
