//! YouTube, Veo and other pages: yt-dlp finds the media URL that ffmpeg then reads. Run as its own step
//! (`resolve`) and parsed by our own code (`parse_info`), so each can be tested apart.

use std::process::Command;

use serde::Deserialize;

use super::SourceError;
use super::url::{Source, SourceKind};

/// What ffmpeg is to read.
#[derive(Clone, Debug, PartialEq)]
pub struct Media {
    pub url: String,
    /// How ffmpeg reads it: `Http` for a file, `Hls` for a playlist.
    pub kind: SourceKind,
    /// `None` when the source does not say (ffmpeg's report of a length decides).
    pub live: Option<bool>,
    /// Headers the host wants with every request (cookies, user agent), from yt-dlp.
    pub headers: Vec<(String, String)>,
}

/// Video at most this tall: more costs decoding time and adds nothing to detection.
const FORMAT: &str = "best[height<=1080][vcodec!=none]/bestvideo[height<=1080]/best";

/// The media behind a source: the URL itself, or what yt-dlp finds on the page.
pub fn media(source: &Source) -> Result<Media, SourceError> {
    if !source.kind.needs_resolving() {
        let live = source.kind.always_live().then_some(true);
        return Ok(Media { url: source.location.clone(), kind: source.kind, live, headers: Vec::new() });
    }
    resolve(source)
}

/// Runs yt-dlp (`TACTICEYE_YTDLP` overrides the path) for one page and parses its answer.
pub fn resolve(source: &Source) -> Result<Media, SourceError> {
    let bin = std::env::var_os("TACTICEYE_YTDLP").unwrap_or_else(|| "yt-dlp".into());
    let mut cmd = Command::new(&bin);
    cmd.args(["--dump-single-json", "--no-playlist", "--no-warnings", "--socket-timeout", "15", "-f", FORMAT]);
    if source.kind == SourceKind::Web {
        cmd.arg("--force-generic-extractor");
    }
    let out = cmd.arg(&source.location).output().map_err(|e| {
        SourceError::Resolve(format!(
            "could not run yt-dlp ({e}); install it (pip install yt-dlp) or set TACTICEYE_YTDLP"
        ))
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let why: Vec<&str> = stderr.lines().filter(|l| l.starts_with("ERROR")).collect();
        let why = if why.is_empty() { stderr.trim().to_string() } else { why.join("; ") };
        return Err(SourceError::Resolve(format!("yt-dlp found no video at {}: {why}", source.location)));
    }
    parse_info(&out.stdout).map_err(|why| SourceError::Resolve(format!("{}: {why}", source.location)))
}

#[derive(Deserialize)]
struct Info {
    #[serde(rename = "_type")]
    kind: Option<String>,
    url: Option<String>,
    protocol: Option<String>,
    vcodec: Option<String>,
    is_live: Option<bool>,
    live_status: Option<String>,
    #[serde(default)]
    http_headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    requested_formats: Vec<Info>,
}

/// yt-dlp's JSON for one video -> the media to read. A merged format (separate video and audio) is
/// read through its video part: we need no sound.
pub fn parse_info(json: &[u8]) -> Result<Media, String> {
    let info: Info = serde_json::from_slice(json).map_err(|e| format!("yt-dlp answered something unreadable ({e})"))?;
    if info.kind.as_deref() == Some("playlist") {
        return Err("this is a playlist; give the link of one match".into());
    }
    match info.live_status.as_deref() {
        Some("is_upcoming") => return Err("this live stream has not started yet".into()),
        Some("post_live") => {
            return Err("this live stream has just ended and is still being processed; try again later".into());
        }
        _ => {}
    }
    let live = info.is_live.or_else(|| info.live_status.as_deref().map(|s| s == "is_live"));
    let chosen = if info.url.is_some() {
        &info
    } else {
        let video = info.requested_formats.iter().find(|f| f.url.is_some() && f.vcodec.as_deref() != Some("none"));
        video.ok_or("no video format in yt-dlp's answer")?
    };
    let url = chosen.url.clone().expect("chosen for its url");
    if chosen.vcodec.as_deref() == Some("none") {
        return Err("the only format found has no video".into());
    }
    let hls = chosen.protocol.as_deref().is_some_and(|p| p.starts_with("m3u8"));
    let headers = if chosen.http_headers.is_empty() { &info.http_headers } else { &chosen.http_headers };
    Ok(Media {
        url,
        kind: if hls { SourceKind::Hls } else { SourceKind::Http },
        live,
        headers: headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_youtube_vod_resolves_to_its_video_format_with_headers() {
        let info = json!({
            "_type": "video", "id": "abc", "is_live": false, "live_status": "not_live",
            "requested_formats": [
                {"format_id": "137", "url": "https://rr1.googlevideo.com/videoplayback?itag=137", "protocol": "https",
                 "vcodec": "avc1.640028", "http_headers": {"User-Agent": "Mozilla/5.0"}},
                {"format_id": "140", "url": "https://rr1.googlevideo.com/videoplayback?itag=140", "protocol": "https", "vcodec": "none"}
            ]
        });
        let media = parse_info(info.to_string().as_bytes()).unwrap();
        assert_eq!(media.url, "https://rr1.googlevideo.com/videoplayback?itag=137");
        assert_eq!((media.kind, media.live), (SourceKind::Http, Some(false)));
        assert_eq!(media.headers, vec![("User-Agent".to_string(), "Mozilla/5.0".to_string())]);
    }

    #[test]
    fn a_youtube_live_resolves_to_its_hls_playlist() {
        let info = json!({"id": "live1", "is_live": true, "url": "https://manifest.googlevideo.com/api/manifest/hls_playlist/index.m3u8",
                          "protocol": "m3u8_native", "vcodec": "avc1.4d401f"});
        let media = parse_info(info.to_string().as_bytes()).unwrap();
        assert_eq!((media.kind, media.live), (SourceKind::Hls, Some(true)));
    }

    #[test]
    fn a_veo_recording_resolves_to_its_mp4() {
        let info = json!({"id": "20261101-cup-final", "extractor": "Veo", "url": "https://c.veocdn.com/abc/standard/machine/video.mp4",
                          "protocol": "https", "vcodec": "h264", "live_status": "was_live"});
        let media = parse_info(info.to_string().as_bytes()).unwrap();
        assert_eq!(media.url, "https://c.veocdn.com/abc/standard/machine/video.mp4");
        assert_eq!((media.kind, media.live), (SourceKind::Http, Some(false)));
    }

    #[test]
    fn playlists_upcoming_streams_and_audio_only_answers_are_refused_with_a_reason() {
        let err = |v: serde_json::Value| parse_info(v.to_string().as_bytes()).unwrap_err();
        assert!(err(json!({"_type": "playlist", "entries": []})).contains("playlist"));
        assert!(err(json!({"live_status": "is_upcoming", "url": "https://x/y.m3u8"})).contains("not started"));
        assert!(err(json!({"url": "https://x/a.m4a", "vcodec": "none"})).contains("no video"));
        assert!(err(json!({"requested_formats": []})).contains("no video format"));
        assert!(parse_info(b"<html>").unwrap_err().contains("unreadable"));
    }

    #[test]
    fn a_missing_yt_dlp_is_a_clear_error() {
        // SAFETY: tests in this module do not read the variable concurrently except this one.
        unsafe { std::env::set_var("TACTICEYE_YTDLP", "/nonexistent/yt-dlp") };
        let err = resolve(&Source::parse("https://youtu.be/abc", None).unwrap()).unwrap_err().to_string();
        unsafe { std::env::remove_var("TACTICEYE_YTDLP") };
        assert!(err.contains("pip install yt-dlp"), "{err}");
    }
}
