//! Where a match comes from: a local file or a URL, and what kind of URL (from its scheme and host, or
//! as the user says with `--source-type`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::SourceError;
use crate::ids::MatchId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    File,
    /// A video file over http(s).
    Http,
    /// An HLS playlist, VOD or live.
    Hls,
    Rtmp,
    Rtsp,
    Youtube,
    Veo,
    /// Any other web page with a video, through yt-dlp's generic extractor.
    Web,
}

const KINDS: [(SourceKind, &str); 8] = [
    (SourceKind::File, "file"),
    (SourceKind::Http, "http"),
    (SourceKind::Hls, "hls"),
    (SourceKind::Rtmp, "rtmp"),
    (SourceKind::Rtsp, "rtsp"),
    (SourceKind::Youtube, "youtube"),
    (SourceKind::Veo, "veo"),
    (SourceKind::Web, "web"),
];

impl SourceKind {
    pub fn name(self) -> &'static str {
        KINDS.iter().find(|(k, _)| *k == self).map(|(_, n)| *n).expect("every kind is named")
    }

    /// A page, not media: yt-dlp finds the media URL.
    pub fn needs_resolving(self) -> bool {
        matches!(self, SourceKind::Youtube | SourceKind::Veo | SourceKind::Web)
    }

    /// Streams with no end known in advance, whatever ffmpeg reports of their length.
    pub fn always_live(self) -> bool {
        matches!(self, SourceKind::Rtmp | SourceKind::Rtsp)
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SourceKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        KINDS
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(s))
            .map(|(k, _)| *k)
            .ok_or_else(|| format!("unknown source type {s:?}; use one of {}", KINDS.map(|(_, n)| n).join(", ")))
    }
}

/// A source as the user named it.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    pub location: String,
    pub kind: SourceKind,
}

impl Source {
    /// A path or URL; the kind comes from the URL unless `kind` says otherwise.
    pub fn parse(location: &str, kind: Option<SourceKind>) -> Result<Source, SourceError> {
        let detected = detect_kind(location)?;
        let kind = kind.unwrap_or(detected);
        if (kind == SourceKind::File) != (detected == SourceKind::File) {
            return Err(SourceError::Unsupported(format!("{location:?} is not a {kind} source")));
        }
        Ok(Source { location: location.to_string(), kind })
    }

    pub fn is_url(&self) -> bool {
        self.kind != SourceKind::File
    }

    /// The match id a URL suggests: its last path segment without extension (`.../final.m3u8` ->
    /// `final`), or the video id of a YouTube link.
    pub fn default_match_id(&self) -> Option<MatchId> {
        let url = url::Url::parse(&self.location).ok()?;
        if self.kind == SourceKind::Youtube
            && let Some((_, v)) = url.query_pairs().find(|(k, _)| k == "v")
        {
            return MatchId::new(format!("youtube-{v}")).ok();
        }
        let last = url.path_segments()?.rfind(|s| !s.is_empty())?;
        MatchId::from_file_name(std::path::Path::new(last)).ok()
    }
}

fn detect_kind(location: &str) -> Result<SourceKind, SourceError> {
    if !location.contains("://") {
        return Ok(SourceKind::File);
    }
    let url = url::Url::parse(location)
        .map_err(|e| SourceError::Unsupported(format!("{location:?} is not a valid URL ({e})")))?;
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    let under = |domain: &str| host == domain || host.ends_with(&format!(".{domain}"));
    Ok(match url.scheme() {
        "rtmp" | "rtmps" => SourceKind::Rtmp,
        "rtsp" | "rtsps" => SourceKind::Rtsp,
        "http" | "https" if under("youtube.com") || host == "youtu.be" => SourceKind::Youtube,
        "http" | "https" if under("veo.co") => SourceKind::Veo,
        "http" | "https" if url.path().to_ascii_lowercase().ends_with(".m3u8") => SourceKind::Hls,
        "http" | "https" => SourceKind::Http,
        other => {
            return Err(SourceError::Unsupported(format!(
                "{other}:// is not a supported protocol (use a file, http(s), HLS, rtmp(s), rtsp(s), YouTube or Veo)"
            )));
        }
    })
}

/// ffmpeg options for reading a URL of this kind: give up on a silent connection after `timeout`
/// seconds (our code then reconnects) and let ffmpeg's http client retry dropped connections itself.
pub fn input_args(kind: SourceKind, timeout: f64, headers: &[(String, String)]) -> Vec<String> {
    let micros = ((timeout * 1e6) as u64).to_string();
    let mut args: Vec<String> = match kind {
        SourceKind::File => Vec::new(),
        SourceKind::Rtsp => vec!["-rtsp_transport".into(), "tcp".into(), "-timeout".into(), micros],
        SourceKind::Rtmp => vec!["-rw_timeout".into(), micros],
        _ => {
            ["-rw_timeout", &micros, "-reconnect", "1", "-reconnect_on_network_error", "1", "-reconnect_delay_max", "2"]
                .map(String::from)
                .to_vec()
        }
    };
    if !headers.is_empty() {
        let joined: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
        args.extend(["-headers".into(), joined]);
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> SourceKind {
        Source::parse(s, None).unwrap().kind
    }

    #[test]
    fn the_kind_comes_from_the_scheme_host_and_path() {
        assert_eq!(kind("match.mp4"), SourceKind::File);
        assert_eq!(kind("https://cdn.example.com/games/final.mp4"), SourceKind::Http);
        assert_eq!(kind("https://cdn.example.com/live/index.M3U8?token=1"), SourceKind::Hls);
        assert_eq!(kind("rtmp://127.0.0.1:1935/live/pitch1"), SourceKind::Rtmp);
        assert_eq!(kind("rtsp://camera.local/stream"), SourceKind::Rtsp);
        assert_eq!(kind("https://www.youtube.com/watch?v=abc123"), SourceKind::Youtube);
        assert_eq!(kind("https://youtu.be/abc123"), SourceKind::Youtube);
        assert_eq!(kind("https://app.veo.co/matches/20261101-cup-final/"), SourceKind::Veo);
    }

    #[test]
    fn source_type_overrides_the_guess_but_not_file_versus_url() {
        let s = Source::parse("http://127.0.0.1:8000/stream", Some("hls".parse().unwrap())).unwrap();
        assert_eq!(s.kind, SourceKind::Hls);
        assert!(Source::parse("match.mp4", Some(SourceKind::Hls)).is_err());
        assert!(Source::parse("http://x/a.mp4", Some(SourceKind::File)).is_err());
        assert!("dash".parse::<SourceKind>().unwrap_err().contains("youtube"));
    }

    #[test]
    fn unsupported_protocols_are_refused_by_name() {
        let err = Source::parse("ftp://example.com/match.mp4", None).unwrap_err().to_string();
        assert!(err.contains("ftp:// is not a supported protocol"), "{err}");
    }

    #[test]
    fn a_url_suggests_a_match_id() {
        let id = |s: &str| Source::parse(s, None).unwrap().default_match_id().map(|m| m.as_str().to_string());
        assert_eq!(id("https://cdn.example.com/live/cup-final.m3u8").as_deref(), Some("cup-final"));
        assert_eq!(id("https://www.youtube.com/watch?v=dQw4w9WgXcQ").as_deref(), Some("youtube-dQw4w9WgXcQ"));
        assert_eq!(id("rtmp://127.0.0.1/live/pitch1").as_deref(), Some("pitch1"));
        assert_eq!(id("http://127.0.0.1:8000/"), None);
    }
}
