//! Segmenting: a source becomes a manifest of 2-5 s segments in storage. A stream copy when the
//! source's keyframes allow, else a re-encode chunk by chunk, so that a long source can be cut over
//! several runs (the manifest is the progress).

mod follow;
mod listing;

use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::ids::MatchId;
use crate::pitch::Calibration;
use crate::source;
use crate::storage::{Condition, ObjectStore, StoreError};

pub use follow::{FollowOptions, Followed, follow};
pub use listing::{Listing, PAGE};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub match_id: MatchId,
    /// What the user pointed at (a path or URL), for display.
    pub source: String,
    /// Content fingerprint of the source.
    pub fingerprint: String,
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    pub frames: u64,
    pub segment_seconds: f64,
    /// Segments listed so far; their entries are in pages beside the manifest (`Listing`), so the
    /// manifest stays the same size however long the match.
    pub listed: u64,
    /// The last listed segment: where cutting goes on, and a live match's latest arrival.
    pub last: Option<SegmentInfo>,
    /// Cut by re-encoding, chunk by chunk (when the source's keyframes do not allow a stream copy).
    pub reencoded: bool,
    /// Every segment is listed: the segmenting is done.
    pub complete: bool,
    /// A live stream: segments carry when they were received, and late ones may be dropped.
    #[serde(default)]
    pub live: bool,
    /// Live only: a segment received longer ago than this when its turn comes is dropped, not analysed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_lag_seconds: Option<f64>,
    /// A fixed camera's calibration given when the match was started (`POST /matches` or `/uploads`):
    /// every worker calibrates the match with it, whatever its own setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
    /// Opted in when the match was started: each analysed segment is also written annotated, with an HLS
    /// playlist over them (`analysis::annotate`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub annotate: bool,
}

/// What the starter of a match asked for beyond its source, kept beside it until its manifest is written.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StartOptions {
    #[serde(default)]
    pub annotate: bool,
}

impl StartOptions {
    pub async fn save<S: ObjectStore>(&self, store: &S, id: &MatchId) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(self).expect("options serialise");
        store.put(&id.options_key(), bytes, Condition::Always).await.map(|_| ())
    }

    async fn load<S: ObjectStore>(store: &S, id: &MatchId) -> anyhow::Result<StartOptions> {
        let Some(obj) = store.get(&id.options_key()).await? else { return Ok(StartOptions::default()) };
        serde_json::from_slice(&obj.bytes).with_context(|| format!("{} is not a match's options", id.options_key()))
    }
}

impl Manifest {
    /// A match's first manifest, before any segment is listed: `(width, height, fps)` of its video.
    pub fn new(
        match_id: MatchId,
        (source, fingerprint): (String, String),
        (width, height, fps): (u32, u32, f64),
        segment_seconds: f64,
    ) -> Self {
        Manifest {
            match_id,
            source,
            fingerprint,
            width,
            height,
            fps,
            frames: 0,
            segment_seconds,
            listed: 0,
            last: None,
            reencoded: false,
            complete: false,
            live: false,
            max_lag_seconds: None,
            calibration: None,
            annotate: false,
        }
    }
}

/// What `requests/{match}.json` holds: the upload or URL to segment (or to go on segmenting).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SegmentRequest {
    Upload {
        upload: String,
    },
    Url {
        url: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        source_type: Option<crate::source::url::SourceKind>,
    },
    /// A file on the machine of `tacticeye serve`; the cloud has none.
    File {
        path: String,
    },
}

/// Segments per re-encoded chunk: one step of the segmenter, small enough to fit a Lambda invocation.
pub const CHUNK_SEGMENTS: u64 = 20;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SegmentInfo {
    pub index: u64,
    pub key: String,
    pub first_frame: u64,
    pub frames: u64,
    pub start_time: f64,
    /// URL sources: where the segment ends in the source's own timeline (seconds); a VOD resumes there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_end: Option<f64>,
    /// Live: when the segmenter had the whole segment (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<f64>,
    /// Live: seconds of stream lost just before this segment (the connection dropped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap_seconds: Option<f64>,
}

/// The calibration given when the match was started, stored beside it until its manifest is written.
async fn given_calibration<S: ObjectStore>(store: &S, id: &MatchId) -> anyhow::Result<Option<Calibration>> {
    let Some(obj) = store.get(&id.calibration_key()).await? else { return Ok(None) };
    let c =
        serde_json::from_slice(&obj.bytes).with_context(|| format!("{} is not a calibration", id.calibration_key()))?;
    Ok(Some(c))
}

/// MD5 of a file's bytes, streamed.
pub fn fingerprint(path: &Path) -> anyhow::Result<String> {
    use md5::Digest;
    let mut file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut hasher = md5::Md5::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(format!("md5:{:x}", hasher.finalize()))
}

/// A manifest that cannot be read, or a match started under other terms (only discarding it, the caller's
/// decision, gets past those).
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the manifest of match {0} is unreadable: {1}")]
    Unreadable(MatchId, serde_json::Error),
    #[error("match {match_id} was started on another video or URL ({location})")]
    OtherSource { match_id: MatchId, location: String },
    #[error("match {match_id} was started with {started} s segments, not {asked} s")]
    OtherSettings { match_id: MatchId, started: f64, asked: f64 },
    #[error("{0}, a page of the segment list, is missing")]
    MissingPage(String),
    #[error("another run started segmenting match {0} at the same time; run again to go on from where it is")]
    Raced(MatchId),
}

pub async fn load_manifest<S: ObjectStore>(store: &S, match_id: &MatchId) -> Result<Option<Manifest>, ManifestError> {
    let Some(obj) = store.get(&match_id.manifest_key()).await? else { return Ok(None) };
    let manifest = serde_json::from_slice(&obj.bytes).map_err(|e| ManifestError::Unreadable(match_id.clone(), e))?;
    Ok(Some(manifest))
}

/// The manifest a segmenting run goes on from: none yet, or one made from the same source.
pub async fn stored_manifest<S: ObjectStore>(
    store: &S,
    match_id: &MatchId,
    segment_seconds: f64,
    fingerprint: &str,
) -> anyhow::Result<Option<Manifest>> {
    if !(2.0..=5.0).contains(&segment_seconds) {
        anyhow::bail!("segments must be 2 to 5 seconds long, got {segment_seconds}");
    }
    let existing = load_manifest(store, match_id).await?;
    if let Some(m) = &existing {
        if m.fingerprint != fingerprint {
            return Err(ManifestError::OtherSource { match_id: match_id.clone(), location: m.source.clone() }.into());
        }
        if m.segment_seconds != segment_seconds {
            let (started, asked) = (m.segment_seconds, segment_seconds);
            return Err(ManifestError::OtherSettings { match_id: match_id.clone(), started, asked }.into());
        }
    }
    Ok(existing)
}

/// Writes a new match's first manifest, with the calibration its starter gave (if any), only where none
/// exists: the first run fixes the match's source and settings, and a run that loses the race is refused
/// before it writes anything else.
async fn claim<S: ObjectStore>(store: &S, manifest: &mut Manifest) -> anyhow::Result<()> {
    manifest.calibration = given_calibration(store, &manifest.match_id).await?;
    manifest.annotate = StartOptions::load(store, &manifest.match_id).await?.annotate;
    let bytes = serde_json::to_vec_pretty(manifest)?;
    match store.put(&manifest.match_id.manifest_key(), bytes, Condition::IfNoneMatch).await {
        Ok(_) => Ok(()),
        Err(StoreError::PreconditionFailed(_)) => {
            let id = &manifest.match_id;
            // The winner's source or settings, if they differ, make the clearer error.
            stored_manifest(store, id, manifest.segment_seconds, &manifest.fingerprint).await?;
            Err(ManifestError::Raced(id.clone()).into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Lists `added` after the manifest's segments, then saves the manifest that counts them.
pub async fn list<S: ObjectStore>(store: &S, manifest: &mut Manifest, added: &[SegmentInfo]) -> anyhow::Result<()> {
    listing::append(store, manifest, added).await?;
    save_manifest(store, manifest).await
}

async fn save_manifest<S: ObjectStore>(store: &S, manifest: &Manifest) -> anyhow::Result<()> {
    store.put(&manifest.match_id.manifest_key(), serde_json::to_vec_pretty(manifest)?, Condition::Always).await?;
    Ok(())
}

/// A local video about to be segmented, probed and fingerprinted once.
pub struct Video {
    pub path: std::path::PathBuf,
    pub info: source::VideoInfo,
    pub fingerprint: String,
}

impl Video {
    pub fn open(path: &Path) -> anyhow::Result<Video> {
        Ok(Video { path: path.to_path_buf(), info: source::probe(path)?, fingerprint: fingerprint(path)? })
    }
}

/// The segmenter, whole: cuts a local video into segments, stores them and the manifest. Rerunning it
/// over a stored manifest for the same video goes on where it stopped, or does nothing.
pub async fn segment_video<S: ObjectStore>(
    store: &S,
    match_id: &MatchId,
    video: &Video,
    segment_seconds: f64,
) -> anyhow::Result<Manifest> {
    loop {
        let (manifest, _) = segment_step(store, match_id, video, segment_seconds, CHUNK_SEGMENTS).await?;
        if manifest.complete {
            return Ok(manifest);
        }
    }
}

/// One step of the segmenter: a stream copy of the whole video when its keyframes allow, else the next
/// re-encoded chunk of `chunk` segments. Stores the new segments, then the manifest that lists them, and
/// returns it with the segments added. The manifest is the progress: a later step continues from it.
pub async fn segment_step<S: ObjectStore>(
    store: &S,
    match_id: &MatchId,
    video: &Video,
    segment_seconds: f64,
    chunk: u64,
) -> anyhow::Result<(Manifest, Vec<SegmentInfo>)> {
    let (info, fingerprint) = (&video.info, video.fingerprint.clone());
    let path = video.path.as_path();
    let mut manifest = match stored_manifest(store, match_id, segment_seconds, &fingerprint).await? {
        Some(m) => m,
        None => {
            let (source, size) = (path.display().to_string(), (info.width, info.height, info.fps));
            let mut m = Manifest {
                frames: info.frames,
                ..Manifest::new(match_id.clone(), (source, fingerprint), size, segment_seconds)
            };
            claim(store, &mut m).await?;
            m
        }
    };
    if manifest.complete {
        return Ok((manifest, Vec::new()));
    }
    let work = tempfile::tempdir()?;
    let dir = work.path().join("segments");
    let cut = if manifest.listed == 0 && !manifest.reencoded {
        match source::cut_copy(path, &dir, info, segment_seconds)? {
            Some(cut) => cut,
            None => {
                manifest.reencoded = true;
                source::cut_reencoded(path, &dir, info, segment_seconds, (0, chunk), 0)?
            }
        }
    } else {
        let next = manifest.last.as_ref().map_or(0, |s| s.first_frame + s.frames);
        source::cut_reencoded(path, &dir, info, segment_seconds, (manifest.listed, chunk), next)?
    };
    let mut added = Vec::with_capacity(cut.len());
    for seg in &cut {
        let index = manifest.listed + added.len() as u64;
        let key = match_id.segment_key(index);
        store.put(&key, std::fs::read(&seg.path)?, Condition::Always).await?;
        let start_time = seg.first_frame as f64 / info.fps;
        added.push(SegmentInfo {
            index,
            key,
            first_frame: seg.first_frame,
            frames: seg.frames,
            start_time,
            source_end: None,
            received_at: None,
            gap_seconds: None,
        });
    }
    // A short chunk is the last one.
    manifest.complete = !manifest.reencoded || (cut.len() as u64) < chunk;
    if manifest.complete {
        let last = added.last().or(manifest.last.as_ref());
        manifest.frames = last.map_or(0, |s| s.first_frame + s.frames);
    }
    list(store, &mut manifest, &added).await?;
    Ok((manifest, added))
}
