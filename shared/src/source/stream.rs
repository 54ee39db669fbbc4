//! Cutting a URL source while it plays: one ffmpeg run reads the media (a file over http, an HLS
//! playlist, an RTMP or RTSP stream) and writes 2-5 s segments to a folder with a running list; the
//! caller picks each segment up as soon as ffmpeg closes it. Stream copy by default (the frames stay
//! the source's own); re-encoding with forced keyframes where the source's keyframes are too sparse.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ChildStdin;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use ffmpeg_sidecar::child::FfmpegChild;
use ffmpeg_sidecar::event::{FfmpegEvent, LogLevel};

use super::resolve::Media;
use super::url::input_args;
use super::{SourceError, ffmpeg, fresh_dir, note_video_or_error, reencode_args};

/// How to start reading.
#[derive(Clone, Debug)]
pub struct CutOptions {
    pub segment_seconds: f64,
    /// Start this many seconds into a VOD source (resuming); `None` for the start, or the live edge.
    pub seek: Option<f64>,
    pub reencode: bool,
    /// A connection silent this long is dropped (ffmpeg's I/O timeout).
    pub io_timeout: f64,
}

/// What ffmpeg has said about the input so far.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// Width, height, frame rate of the video stream, once opened.
    pub video: Option<(u32, u32, f64)>,
    /// Length in seconds, where the source has one (none, or 0, for a live stream).
    pub duration: Option<f64>,
    /// Timestamp of the first packet read, in the source's timeline: an HLS stream keeps its timeline
    /// across reconnections, so segments read in two runs can be placed exactly.
    pub start: Option<f64>,
    pub errors: Vec<String>,
}

/// A segment ffmpeg has closed: its file and its span in seconds from the start of reading (the seek
/// point, or the first packet read: `Observed::start` in the source's timeline).
#[derive(Clone, Debug, PartialEq)]
pub struct Closed {
    pub path: PathBuf,
    pub start: f64,
    pub end: f64,
}

pub struct StreamCut {
    child: FfmpegChild,
    stdin: Option<ChildStdin>,
    events: Option<JoinHandle<()>>,
    observed: Arc<Mutex<Observed>>,
    dir: PathBuf,
    listed: usize,
}

impl StreamCut {
    /// Starts ffmpeg on `media`, writing segments into `dir` (emptied first).
    pub fn start(media: &Media, dir: &Path, opts: &CutOptions) -> Result<StreamCut, SourceError> {
        fresh_dir(dir)?;
        let mut cmd = ffmpeg();
        cmd.args(input_args(media.kind, opts.io_timeout, &media.headers));
        if let Some(seek) = opts.seek {
            cmd.args(["-ss", &format!("{seek:.6}")]);
        }
        cmd.input(&media.url).args(["-map", "0:v:0", "-an", "-sn", "-dn"]);
        let seconds = opts.segment_seconds.to_string();
        if opts.reencode {
            cmd.args(reencode_args(opts.segment_seconds));
        } else {
            cmd.args(["-c", "copy"]);
        }
        let list = dir.join("list.csv");
        cmd.args(["-f", "segment", "-segment_time", &seconds, "-reset_timestamps", "1", "-segment_list_type", "csv"])
            .args(["-segment_list", &list.to_string_lossy(), &dir.join("%06d.mp4").to_string_lossy()]);
        let mut child = cmd.spawn().map_err(SourceError::NoFfmpeg)?;
        let stdin = child.take_stdin();
        let iter =
            child.iter().map_err(|e| SourceError::Ffmpeg { path: media.url.clone().into(), reason: e.to_string() })?;
        let observed = Arc::new(Mutex::new(Observed::default()));
        let seen = observed.clone();
        let events = std::thread::spawn(move || {
            for event in iter {
                let mut o = seen.lock().unwrap_or_else(|p| p.into_inner());
                let o = &mut *o;
                match event {
                    FfmpegEvent::ParsedDuration(d) if o.duration.is_none() => {
                        o.duration = Some(d.duration);
                        o.start = start_of(&d.raw_log_message);
                    }
                    // A live stream's `Duration: N/A` is no ParsedDuration, but its start is still there.
                    FfmpegEvent::Log(LogLevel::Info, line) if o.start.is_none() && line.contains("Duration: N/A") => {
                        o.start = start_of(&line);
                    }
                    event => note_video_or_error(&event, &mut o.video, &mut o.errors),
                }
            }
        });
        Ok(StreamCut { child, stdin, events: Some(events), observed, dir: dir.into(), listed: 0 })
    }

    pub fn observed(&self) -> Observed {
        self.observed.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Segments closed since the last call, in order.
    pub fn closed(&mut self) -> Vec<Closed> {
        let Ok(text) = std::fs::read_to_string(self.dir.join("list.csv")) else { return Vec::new() };
        // Only whole lines: ffmpeg may be writing the next one.
        let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
        let lines: Vec<&str> = complete.lines().skip(self.listed).collect();
        self.listed += lines.len();
        lines
            .into_iter()
            .filter_map(|line| {
                let mut f = line.rsplitn(3, ',');
                let (end, start, name) = (f.next()?.parse().ok()?, f.next()?.parse().ok()?, f.next()?);
                Some(Closed { path: self.dir.join(name.trim_matches('"')), start, end })
            })
            .collect()
    }

    /// Whether ffmpeg has exited (its log has ended).
    pub fn finished(&self) -> bool {
        self.events.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Asks ffmpeg to stop as if the user pressed `q`: it closes the segment it is writing.
    pub fn stop(&mut self) {
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = stdin.write_all(b"q\n").and_then(|_| stdin.flush());
        }
    }

    /// Waits for ffmpeg to exit; true when it ended without error (the whole source was read).
    pub fn wait(&mut self) -> bool {
        if let Some(t) = self.events.take() {
            let _ = t.join();
        }
        let ok = self.child.wait().map(|s| s.success()).unwrap_or(false);
        ok && self.observed().errors.is_empty()
    }
}

/// `start: 1.480000` in ffmpeg's `Duration:` line.
fn start_of(line: &str) -> Option<f64> {
    let rest = &line[line.find("start: ")? + 7..];
    rest.split(',').next()?.trim().parse().ok()
}

impl Drop for StreamCut {
    fn drop(&mut self) {
        if !self.finished() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_start_timestamp_is_read_from_the_duration_line() {
        assert_eq!(super::start_of("[info]   Duration: N/A, start: 1.480000, bitrate: N/A"), Some(1.48));
        assert_eq!(super::start_of("[info]   Duration: 00:00:30.00, bitrate: 0 kb/s"), None);
    }
}
