//! Annotated video: each analysed frame with what was found drawn on it and, on a calibrated match, a
//! radar inset in the bottom-right corner; encoded by ffmpeg (H.264, yuv420p) from raw frames on its stdin.

use std::io::Write;
use std::path::Path;
use std::process::ChildStdin;

use anyhow::Context;
use ffmpeg_sidecar::child::FfmpegChild;
use ffmpeg_sidecar::command::FfmpegCommand;
use ffmpeg_sidecar::event::{FfmpegEvent, LogLevel};
use ffmpeg_sidecar::iter::FfmpegIterator;
use image::RgbImage;
use image::imageops::{self, FilterType};

use crate::pipeline::FrameOutput;
use crate::pitch::Pitch;
use crate::source::Frame;

/// The inset's width, as a share of the frame's.
const INSET: f64 = 0.28;

/// A frame with boxes, ids, the ball and the player on it, and the radar inset where `pitch` is given.
pub fn annotated(frame: &Frame, out: &FrameOutput, kits: Option<[[f64; 3]; 2]>, pitch: Option<Pitch>) -> RgbImage {
    let mut img = super::analysed(frame, out, kits);
    if let Some(pitch) = pitch {
        let radar = super::radar(out, pitch, kits);
        let w = ((img.width() as f64 * INSET).round() as u32).max(16);
        let h = (radar.height() as u64 * w as u64 / radar.width() as u64).max(1) as u32;
        let inset = imageops::resize(&radar, w, h, FilterType::Triangle);
        let margin = (img.width() / 100).max(2);
        if img.width() > w + margin && img.height() > h + margin {
            let (x, y) = (img.width() - w - margin, img.height() - h - margin);
            imageops::overlay(&mut img, &inset, x.into(), y.into());
        }
    }
    img
}

/// An H.264 file written frame by frame.
pub struct VideoWriter {
    child: FfmpegChild,
    stdin: Option<ChildStdin>,
    /// Its log, read from the start so that a long encode never fills the pipe.
    log: FfmpegIterator,
    size: (u32, u32),
    frames: u64,
}

impl VideoWriter {
    pub fn create(path: &Path, width: u32, height: u32, fps: f64) -> anyhow::Result<VideoWriter> {
        Self::create_at(path, (width, height, fps), None)
    }

    /// `start`: an MPEG-TS piece of a longer stream whose first frame is at `start` seconds (an HLS
    /// segment, so that the pieces' timestamps run on); otherwise an MP4 from 0.
    pub fn create_at(
        path: &Path,
        (width, height, fps): (u32, u32, f64),
        start: Option<f64>,
    ) -> anyhow::Result<VideoWriter> {
        let container = match start {
            Some(t) => vec!["-output_ts_offset".to_string(), format!("{t:.6}"), "-f".into(), "mpegts".into()],
            None => vec!["-movflags".to_string(), "+faststart".into()],
        };
        let bin = std::env::var_os("TACTICEYE_FFMPEG").unwrap_or_else(|| "ffmpeg".into());
        let mut child = FfmpegCommand::new_with_path(bin)
            .hide_banner()
            .format("rawvideo")
            .pix_fmt("rgb24")
            .size(width, height)
            .rate(fps as f32)
            .input("-")
            .codec_video("libx264")
            .preset("veryfast")
            .crf(23)
            // yuv420p wants even sides: a stray odd column or row is cropped.
            .args(["-vf", "crop=trunc(iw/2)*2:trunc(ih/2)*2", "-pix_fmt", "yuv420p"])
            .args(container)
            .overwrite()
            .output(path)
            .spawn()
            .context("cannot run ffmpeg; install it (Debian: apt-get install ffmpeg)")?;
        let stdin = child.take_stdin().context("ffmpeg has no stdin")?;
        let log = child.iter()?;
        Ok(VideoWriter { child, stdin: Some(stdin), log, size: (width, height), frames: 0 })
    }

    pub fn write(&mut self, img: &RgbImage) -> anyhow::Result<()> {
        anyhow::ensure!(img.dimensions() == self.size, "frame of {:?}, not {:?}", img.dimensions(), self.size);
        let stdin = self.stdin.as_mut().context("the writer is finished")?;
        stdin.write_all(img.as_raw()).context("ffmpeg stopped taking frames")?;
        self.frames += 1;
        Ok(())
    }

    /// Closes the stream and waits for the file; the frames written.
    pub fn finish(mut self) -> anyhow::Result<u64> {
        drop(self.stdin.take());
        let errors: Vec<String> = (&mut self.log)
            .filter_map(|e| match e {
                FfmpegEvent::Log(LogLevel::Error | LogLevel::Fatal, m) | FfmpegEvent::Error(m) => Some(m),
                _ => None,
            })
            .collect();
        let status = self.child.wait()?;
        anyhow::ensure!(status.success(), "ffmpeg failed to encode: {}", errors.join("; "));
        Ok(self.frames)
    }
}
