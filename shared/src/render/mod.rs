//! Pictures: what was found drawn on the video's frames (`frame`), and the match drawn on the pitch
//! (`pitch`: radar, heatmap, pass network).

mod frame;
mod pitch;

pub use frame::{BALL, analysed, canvas, disc, number, outline};
pub use pitch::{heatmap, passes, radar};
