//! Pictures: what was found drawn on the video's frames (`frame`), and the match drawn on the pitch
//! (`pitch`: radar, heatmap, pass network); and both at once, frame after frame, as a video (`video`).

mod frame;
mod pitch;
mod video;

pub use frame::{BALL, analysed, canvas, disc, number, outline};
pub use pitch::{heatmap, passes, radar};
pub use video::{VideoWriter, annotated};
