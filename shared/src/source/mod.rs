//! Sources and segments: probing a video, cutting it into 2-5 s segments, decoding a segment to RGB frames.
//!
//! All of it drives Debian's `ffmpeg` binary through ffmpeg-sidecar (`TACTICEYE_FFMPEG` overrides the path).
//! URL sources: `url` names them, `resolve` finds the media behind a page, `stream` cuts them as they play.

pub mod resolve;
pub mod stream;
pub mod url;

use std::path::{Path, PathBuf};

use ffmpeg_sidecar::command::FfmpegCommand;
use ffmpeg_sidecar::event::{FfmpegEvent, LogLevel};

/// One decoded RGB frame with its global index in the match.
#[derive(Clone, Debug)]
pub struct Frame {
    pub index: u64,
    pub width: u32,
    pub height: u32,
    /// Packed RGB24, row-major.
    pub rgb: Vec<u8>,
}

impl Frame {
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let i = ((y * self.width + x) * 3) as usize;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// The `width` x `height` window with its top-left corner at (`x`, `y`), as a frame of its own.
    pub fn crop(&self, x: u32, y: u32, width: u32, height: u32) -> Frame {
        let row = |r: u32| {
            let start = ((r * self.width + x) * 3) as usize;
            &self.rgb[start..start + width as usize * 3]
        };
        let rgb = (y..y + height).flat_map(row).copied().collect();
        Frame { index: self.index, width, height, rgb }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct VideoInfo {
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub frames: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("video file not found: {0}")]
    NotFound(PathBuf),
    #[error("{path} is not a readable video: {reason}")]
    NotVideo { path: PathBuf, reason: String },
    #[error("could not run ffmpeg ({0}); install it (Debian: apt-get install ffmpeg) or set TACTICEYE_FFMPEG")]
    NoFfmpeg(std::io::Error),
    #[error("ffmpeg failed on {path}: {reason}")]
    Ffmpeg { path: PathBuf, reason: String },
    #[error("unsupported source: {0}")]
    Unsupported(String),
    #[error("{0}")]
    Resolve(String),
    #[error("cannot read {url}: {reason}")]
    Unreadable { url: String, reason: String },
}

/// A segment cut from a source, before it is stored.
#[derive(Clone, Debug)]
pub struct CutSegment {
    pub path: PathBuf,
    pub first_frame: u64,
    pub frames: u64,
}

fn ffmpeg() -> FfmpegCommand {
    let bin = std::env::var_os("TACTICEYE_FFMPEG").unwrap_or_else(|| "ffmpeg".into());
    let mut cmd = FfmpegCommand::new_with_path(bin);
    cmd.hide_banner();
    cmd
}

/// What one ffmpeg run told us.
#[derive(Default)]
struct Run {
    video: Option<(u32, u32, f64)>,
    last_frame: Option<u64>,
    errors: Vec<String>,
    frames: Vec<Vec<u8>>,
    success: bool,
}

fn run(cmd: &mut FfmpegCommand, path: &Path, keep_frames: bool) -> Result<Run, SourceError> {
    let mut child = cmd.spawn().map_err(SourceError::NoFfmpeg)?;
    let mut out = Run::default();
    let iter = child.iter().map_err(|e| SourceError::Ffmpeg { path: path.into(), reason: e.to_string() })?;
    for event in iter {
        match event {
            FfmpegEvent::Progress(p) => out.last_frame = Some(p.frame as u64),
            FfmpegEvent::OutputFrame(f) if keep_frames => out.frames.push(f.data),
            event => note_video_or_error(&event, &mut out.video, &mut out.errors),
        }
    }
    out.success = child.wait().map(|s| s.success()).unwrap_or(false);
    Ok(out)
}

/// What every ffmpeg run takes from its log: the first video stream's size and frame rate, and errors.
fn note_video_or_error(event: &FfmpegEvent, video: &mut Option<(u32, u32, f64)>, errors: &mut Vec<String>) {
    match event {
        FfmpegEvent::ParsedInputStream(s) if video.is_none() => {
            if let Some(v) = s.video_data() {
                *video = Some((v.width, v.height, v.fps as f64));
            }
        }
        // ffmpeg-sidecar's own note that nothing goes to stdout: true of a segment muxer, and no error.
        FfmpegEvent::Error(msg) if msg == "No streams found" => {}
        FfmpegEvent::Log(LogLevel::Error | LogLevel::Fatal, msg) | FfmpegEvent::Error(msg) => {
            let msg = msg.trim();
            if !msg.is_empty() {
                errors.push(msg.to_string());
            }
        }
        _ => {}
    }
}

/// Empties `dir` (or makes it) for an ffmpeg run's output.
fn fresh_dir(dir: &Path) -> Result<(), SourceError> {
    let failed = |e: std::io::Error| SourceError::Ffmpeg { path: dir.into(), reason: e.to_string() };
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(failed)?;
    }
    std::fs::create_dir_all(dir).map_err(failed)
}

/// Output options that re-encode with a keyframe at every `seconds`, so the segment muxer can cut
/// there. One encoder thread: x264's frame threads make the output vary from run to run, and a
/// segment cut again must come out the same.
fn reencode_args(seconds: f64) -> Vec<String> {
    let keys = format!("expr:gte(t,n_forced*{seconds})");
    [
        "-c:v",
        "libx264",
        "-threads",
        "1",
        "-preset",
        "veryfast",
        "-crf",
        "18",
        "-pix_fmt",
        "yuv420p",
        "-force_key_frames",
        &keys,
    ]
    .map(String::from)
    .to_vec()
}

pub(crate) fn reason(errors: &[String]) -> String {
    let useful: Vec<&str> = errors.iter().map(String::as_str).filter(|e| !e.is_empty()).collect();
    if useful.is_empty() { "ffmpeg exited with an error".into() } else { useful.join("; ") }
}

/// Size, frame rate and frame count of a video's first video stream (counted by packets, no decoding).
pub fn probe(path: &Path) -> Result<VideoInfo, SourceError> {
    if !path.is_file() {
        return Err(SourceError::NotFound(path.into()));
    }
    let mut cmd = ffmpeg();
    cmd.input(path).args(["-map", "0:v:0", "-c", "copy", "-f", "null", "-"]);
    let run = run(&mut cmd, path, false)?;
    let not_video = |reason: String| SourceError::NotVideo { path: path.into(), reason };
    if !run.success {
        return Err(not_video(reason(&run.errors)));
    }
    // ffmpeg reads a truncated or damaged file to the break and still exits 0; its error lines tell.
    if !run.errors.is_empty() {
        return Err(not_video(format!("damaged or truncated ({})", reason(&run.errors))));
    }
    let (width, height, fps) = run.video.ok_or_else(|| not_video("no video stream".into()))?;
    let frames = run.last_frame.unwrap_or(0);
    if frames == 0 || width == 0 || height == 0 || fps.is_nan() || fps <= 0.0 {
        return Err(not_video(format!("no decodable frames ({width}x{height}, {fps} fps, {frames} frames)")));
    }
    Ok(VideoInfo { width, height, fps, frames })
}

/// Frames of a segment we cut (an MP4 with one video track), read from its sample table: no ffmpeg run,
/// which would cost more than the segment's upload.
pub fn count_frames(path: &Path) -> Result<u64, SourceError> {
    let not_video = |reason: String| SourceError::NotVideo { path: path.into(), reason };
    let file = std::fs::File::open(path).map_err(|e| not_video(e.to_string()))?;
    let size = file.metadata().map_err(|e| not_video(e.to_string()))?.len();
    let mp4 = mp4::Mp4Reader::read_header(std::io::BufReader::new(file), size).map_err(|e| not_video(e.to_string()))?;
    let video = mp4.tracks().values().find(|t| matches!(t.track_type(), Ok(mp4::TrackType::Video)));
    let frames = video.ok_or_else(|| not_video("no video track".into()))?.sample_count() as u64;
    if frames == 0 {
        return Err(not_video("no frames".into()));
    }
    Ok(frames)
}

/// Cuts the whole of `source` into segments of about `seconds` by stream copy: lossless and fast, exact
/// when keyframes fall on segment boundaries. `None` when they do not (the cuts land outside 2-5 s).
pub fn cut_copy(
    source: &Path,
    out_dir: &Path,
    info: &VideoInfo,
    seconds: f64,
) -> Result<Option<Vec<CutSegment>>, SourceError> {
    let args = ["-c", "copy"].map(String::from).to_vec();
    Ok(cut_with(source, out_dir, seconds, &[], &args, 0)
        .ok()
        .filter(|s| within_bounds(s, info.fps) && total(s) == info.frames))
}

/// Re-encodes `count` segments of `seconds` starting with segment `first` (a chunk of the source), with
/// keyframes forced at the segment boundaries; frames are numbered on from `first_frame`. Chunks cut this
/// way one after another add up to the whole source, so a long source can be cut over several runs.
pub fn cut_reencoded(
    source: &Path,
    out_dir: &Path,
    info: &VideoInfo,
    seconds: f64,
    (first, count): (u64, u64),
    first_frame: u64,
) -> Result<Vec<CutSegment>, SourceError> {
    // Seeking before the input while transcoding is frame-accurate: ffmpeg decodes from the keyframe
    // before and drops what precedes the start.
    let before = vec!["-ss".to_string(), (first as f64 * seconds).to_string()];
    let mut codec = vec!["-t".to_string(), (count as f64 * seconds).to_string()];
    codec.extend(reencode_args(seconds));
    let segments = cut_with(source, out_dir, seconds, &before, &codec, first_frame)?;
    if !within_bounds(&segments, info.fps) {
        return Err(SourceError::Ffmpeg {
            path: source.into(),
            reason: "could not cut segments of 2-5 s even after re-encoding".into(),
        });
    }
    Ok(segments)
}

fn total(segments: &[CutSegment]) -> u64 {
    segments.iter().map(|s| s.frames).sum()
}

fn within_bounds(segments: &[CutSegment], fps: f64) -> bool {
    let n = segments.len();
    !segments.is_empty()
        && segments.iter().enumerate().all(|(i, s)| {
            let secs = s.frames as f64 / fps;
            // Only the last segment may be shorter than 2 s; none may be longer than 5 s.
            s.frames > 0 && secs <= 5.001 && (i + 1 == n || secs >= 1.999)
        })
}

fn cut_with(
    source: &Path,
    out_dir: &Path,
    seconds: f64,
    before_input: &[String],
    codec: &[String],
    first_frame: u64,
) -> Result<Vec<CutSegment>, SourceError> {
    fresh_dir(out_dir)?;
    let mut cmd = ffmpeg();
    cmd.args(before_input).input(source).args(["-map", "0:v:0", "-an", "-sn", "-dn"]).args(codec);
    let pattern = out_dir.join("%06d.mp4");
    cmd.args(["-f", "segment", "-segment_time", &seconds.to_string(), "-reset_timestamps", "1"])
        .arg(pattern.to_string_lossy().as_ref());
    let run = run(&mut cmd, source, false)?;
    if !run.success {
        return Err(SourceError::Ffmpeg { path: source.into(), reason: reason(&run.errors) });
    }
    let mut paths: Vec<PathBuf> = std::fs::read_dir(out_dir)
        .map_err(|e| SourceError::Ffmpeg { path: out_dir.into(), reason: e.to_string() })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mp4"))
        .collect();
    paths.sort();
    let mut first_frame = first_frame;
    let mut segments = Vec::with_capacity(paths.len());
    for path in paths {
        let frames = count_frames(&path)?;
        segments.push(CutSegment { path, first_frame, frames });
        first_frame += frames;
    }
    Ok(segments)
}

/// Decodes every frame of a segment to RGB, numbering them from `first_frame`.
pub fn decode(path: &Path, first_frame: u64) -> Result<Vec<Frame>, SourceError> {
    let mut cmd = ffmpeg();
    cmd.input(path).args(["-map", "0:v:0"]).fps_mode("passthrough").rawvideo();
    decoded(&mut cmd, path, first_frame)
}

/// Decodes `frames` frames of a whole video from `start` seconds (a segment's part of its source),
/// numbering them from `first_frame`. The seek is exact: ffmpeg decodes from the keyframe before and
/// drops what comes before `start`.
pub fn decode_range(path: &Path, start: f64, frames: u64, first_frame: u64) -> Result<Vec<Frame>, SourceError> {
    let mut cmd = ffmpeg();
    cmd.seek(format!("{start:.6}")).input(path).args(["-map", "0:v:0"]).fps_mode("passthrough");
    cmd.frames(frames as u32).rawvideo();
    decoded(&mut cmd, path, first_frame)
}

fn decoded(cmd: &mut FfmpegCommand, path: &Path, first_frame: u64) -> Result<Vec<Frame>, SourceError> {
    let run = run(cmd, path, true)?;
    let (width, height, _) =
        run.video.ok_or_else(|| SourceError::NotVideo { path: path.into(), reason: reason(&run.errors) })?;
    if !run.success || run.frames.is_empty() {
        return Err(SourceError::NotVideo { path: path.into(), reason: reason(&run.errors) });
    }
    Ok(run
        .frames
        .into_iter()
        .enumerate()
        .map(|(i, rgb)| Frame { index: first_frame + i as u64, width, height, rgb })
        .collect())
}
