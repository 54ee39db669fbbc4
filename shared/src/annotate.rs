//! Annotated segments for a match started with `annotate`: each analysed segment's frames drawn as
//! `render video` draws them, as an MPEG-TS piece at `matches/{id}/annotated/{index}.ts`, and an HLS
//! playlist over them (`annotated/index.m3u8`) that grows as segments are committed and ends with the
//! match, so a live match can be watched annotated a few seconds behind. Both are written before the
//! checkpoint, under fixed keys, and a redelivered segment finds its entry there already: nothing doubles.

use std::fmt::Write;

use crate::ids::MatchId;
use crate::pipeline::SegmentOutput;
use crate::render;
use crate::segment::{Manifest, SegmentInfo};
use crate::source::Frame;
use crate::state::MatchState;
use crate::storage::{Condition, ObjectStore};

pub const PLAYLIST: &str = "index.m3u8";

pub fn piece_name(index: u64) -> String {
    format!("{index:06}.ts")
}

/// Draws and stores segment `info`'s frames, then lists them in the playlist.
pub async fn segment<S: ObjectStore>(
    store: &S,
    manifest: &Manifest,
    state: &MatchState,
    (info, frames, output): (&SegmentInfo, &[Frame], &SegmentOutput),
) -> anyhow::Result<()> {
    let id = &manifest.match_id;
    let pitch = state.config.calibration.as_ref().map(|c| c.pitch());
    let file = tempfile::Builder::new().suffix(".ts").tempfile()?;
    let size = (manifest.width, manifest.height, manifest.fps);
    let mut writer = render::VideoWriter::create_at(file.path(), size, Some(info.start_time))?;
    for frame in frames {
        let img = match output.frames.iter().find(|f| f.frame == frame.index) {
            Some(found) => render::annotated(frame, found, state.teams.kits, pitch),
            None => render::canvas(frame),
        };
        writer.write(&img)?;
    }
    writer.finish()?;
    store.put(&id.annotated_key(&piece_name(info.index)), std::fs::read(file.path())?, Condition::Always).await?;
    let seconds = info.frames as f64 / manifest.fps;
    update(store, id, manifest.segment_seconds, |p| p.add(info.index, seconds)).await
}

/// Closes the playlist: the match is over.
pub async fn end<S: ObjectStore>(store: &S, manifest: &Manifest) -> anyhow::Result<()> {
    update(store, &manifest.match_id, manifest.segment_seconds, |p| p.ended = true).await
}

async fn update<S: ObjectStore>(
    store: &S,
    id: &MatchId,
    segment_seconds: f64,
    change: impl FnOnce(&mut Playlist),
) -> anyhow::Result<()> {
    let key = id.annotated_key(PLAYLIST);
    let mut playlist = match store.get(&key).await? {
        Some(obj) => Playlist::parse(&String::from_utf8_lossy(&obj.bytes)),
        None => Playlist::default(),
    };
    let before = playlist.clone();
    change(&mut playlist);
    if playlist != before {
        store.put(&key, playlist.text(segment_seconds).into_bytes(), Condition::Always).await?;
    }
    Ok(())
}

/// An HLS event playlist: the pieces in order, with their lengths.
#[derive(Clone, Debug, Default, PartialEq)]
struct Playlist {
    pieces: Vec<(u64, f64)>,
    ended: bool,
}

impl Playlist {
    /// A piece after the last one listed; one listed already (a redelivery) changes nothing.
    fn add(&mut self, index: u64, seconds: f64) {
        if self.pieces.last().is_none_or(|&(last, _)| index > last) {
            self.pieces.push((index, seconds));
        }
    }

    fn parse(text: &str) -> Playlist {
        let mut playlist = Playlist { ended: text.contains("#EXT-X-ENDLIST"), ..Playlist::default() };
        let mut seconds = 0.0;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("#EXTINF:") {
                seconds = rest.trim_end_matches(',').parse().unwrap_or(0.0);
            } else if let Some(index) = line.strip_suffix(".ts").and_then(|n| n.parse().ok()) {
                playlist.pieces.push((index, seconds));
            }
        }
        playlist
    }

    fn text(&self, segment_seconds: f64) -> String {
        let longest = self.pieces.iter().map(|p| p.1).fold(segment_seconds, f64::max);
        let mut text = format!(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-TARGETDURATION:{}\n#EXT-X-MEDIA-SEQUENCE:0\n",
            longest.ceil() as u64
        );
        let mut previous = None;
        for &(index, seconds) in &self.pieces {
            // A segment dropped to keep up with a live stream leaves a hole in the timeline.
            if previous.is_some_and(|p: u64| index != p + 1) {
                text.push_str("#EXT-X-DISCONTINUITY\n");
            }
            let _ = write!(text, "#EXTINF:{seconds:.3},\n{}\n", piece_name(index));
            previous = Some(index);
        }
        if self.ended {
            text.push_str("#EXT-X-ENDLIST\n");
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_playlist_lists_each_piece_once_in_order_and_marks_holes_and_the_end() {
        let mut p = Playlist::default();
        p.add(0, 3.0);
        p.add(1, 3.0);
        p.add(1, 3.0);
        p.add(3, 2.5);
        p.ended = true;
        let text = p.text(3.0);
        assert_eq!(Playlist::parse(&text), p);
        assert_eq!(text.matches("000001.ts").count(), 1);
        assert!(
            text.contains("#EXTINF:3.000,\n000001.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:2.500,\n000003.ts\n#EXT-X-ENDLIST")
        );
        assert!(text.contains("#EXT-X-TARGETDURATION:3\n"));
    }
}
