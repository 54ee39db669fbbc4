//! `tacticeye analyze`: a file or a URL, cut into segments on one thread while this one analyses them.

use std::path::{Path, PathBuf};

use anyhow::Context;
use indicatif::ProgressBar;
use tacticeye::analysis;
use tacticeye::detect::truth::Noise;
use tacticeye::detect::{self, DetectorChoice};
use tacticeye::ids::MatchId;
use tacticeye::pipeline::Models;
use tacticeye::pitch::keypoints::{Camera, KeypointModel};
use tacticeye::pitch::{Calibration, CalibrationFile, CalibrationMode, Pitch};
use tacticeye::queue::LocalQueue;
use tacticeye::results;
use tacticeye::segment::{FollowOptions, StartOptions};
use tacticeye::source::url::{Source, SourceKind};
use tacticeye::state::Config;
use tacticeye::storage::LocalStore;
use tacticeye::synth;

use crate::{bar, print_summary};

#[derive(clap::Args)]
pub struct AnalyzeArgs {
    source: String,
    /// What SOURCE is, when its URL does not tell: file, http, hls, rtmp, rtsp, youtube, veo, web.
    #[arg(long)]
    source_type: Option<SourceKind>,
    /// Defaults to the file name or the URL's last path segment.
    #[arg(long)]
    match_id: Option<MatchId>,
    /// Segment length, 2 to 5 seconds.
    #[arg(long, default_value_t = 3.0)]
    segment_seconds: f64,
    /// `default` (our shipped model), `truth` (synthetic clips only) or a path to an .onnx model.
    #[arg(long, default_value = "default")]
    detector: String,
    /// Truth file for `--detector truth` (default: <video stem>.truth.json beside the video).
    #[arg(long)]
    truth: Option<PathBuf>,
    /// Noise of the truth detector: `none`, `default`, or e.g. `miss=0.1,jitter=0.05,seed=3`.
    #[arg(long, default_value = "default")]
    noise: Noise,
    /// Discard this match's checkpoint and results and start over.
    #[arg(long)]
    restart: bool,
    /// Put positions on the pitch, in metres, too. `auto`: the pitch keypoint model finds the camera
    /// every few frames (a moving broadcast camera). `fixed`: a camera that never moves, calibrated once
    /// from where the keypoints stay over a segment. Or a fixed camera's calibration file: JSON
    /// `{"points": [{"image": [x, y], "pitch": [x, y]} or {"image": [x, y], "keypoint": K}, ...]}`, at
    /// least 4 points.
    #[arg(long)]
    calibration: Option<String>,
    /// The pitch keypoint model for `--calibration auto` or `fixed`: `default` (our shipped model) or a path.
    #[arg(long, default_value = "default")]
    pitch_model: String,
    /// The pitch's length and width in metres, for --calibration.
    #[arg(long, default_value = "105x68", value_parser = Pitch::parse)]
    pitch: Pitch,
    /// Live streams: drop a segment received longer ago than this when its turn comes, so the
    /// results stay this close to the stream (0: never drop).
    #[arg(long, default_value_t = 30.0)]
    max_lag: f64,
    /// URL sources: after a drop, keep reconnecting this long; a live stream silent for longer has ended.
    #[arg(long, default_value_t = 60.0)]
    reconnect_seconds: f64,
    /// URL sources: a connection silent this long counts as dropped.
    #[arg(long, default_value_t = 10.0)]
    io_timeout: f64,
    /// Keep each segment's video in the data folder after it is analysed (for `render frame`); by
    /// default it is deleted, so the match is not stored twice.
    #[arg(long)]
    keep_segments: bool,
    /// Also write each analysed segment annotated (boxes, ids, ball, radar inset) with an HLS playlist over
    /// them, `matches/{id}/annotated/index.m3u8`, to watch the match annotated while it is analysed.
    #[arg(long)]
    annotate: bool,
}

pub async fn analyze(data_dir: &Path, args: AnalyzeArgs) -> anyhow::Result<()> {
    let source = Source::parse(&args.source, args.source_type)?;
    let (calibration, pitch_model) = match args.calibration.as_deref() {
        None => (None, None),
        Some(name) => match Camera::named(name) {
            Some(camera) => {
                let model = KeypointModel::open_named(&args.pitch_model)?;
                (Some(model.calibration(args.pitch, camera)), Some(model))
            }
            None => (Some(CalibrationMode::Fixed(calibrate_from(Path::new(name), args.pitch)?)), None),
        },
    };
    let config = Config { segment_seconds: args.segment_seconds, calibration, ..Config::default() };
    let run =
        Run { config: &config, restart: args.restart, keep_segments: args.keep_segments, annotate: args.annotate };
    if source.is_url() {
        let options = FollowOptions {
            segment_seconds: args.segment_seconds,
            max_lag_seconds: (args.max_lag > 0.0).then_some(args.max_lag),
            reconnect_seconds: args.reconnect_seconds,
            io_timeout: args.io_timeout,
            deadline: None,
            hand_over_live: false,
        };
        let choice = DetectorChoice::parse(&args.detector, args.truth, args.noise)?;
        let models = Models { detector: detect::open(&choice)?, pitch: pitch_model };
        return analyze_url(data_dir, source, args.match_id, models, options, run).await;
    }
    let truth = args.truth.unwrap_or_else(|| synth::truth_path(Path::new(&source.location)));
    let choice = DetectorChoice::parse(&args.detector, Some(truth), args.noise)?;
    analyze_file(data_dir, Path::new(&source.location), args.match_id, &choice, pitch_model, run).await
}

fn calibrate_from(path: &Path, pitch: Pitch) -> anyhow::Result<Calibration> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read calibration {}", path.display()))?;
    let file: CalibrationFile =
        serde_json::from_slice(&bytes).with_context(|| format!("{} is not a calibration file", path.display()))?;
    file.calibration(pitch).with_context(|| format!("calibration {}", path.display()))
}

/// How an analysis runs, whatever its source.
struct Run<'a> {
    config: &'a Config,
    restart: bool,
    keep_segments: bool,
    annotate: bool,
}

impl Run<'_> {
    /// Starts the match over if asked, and records `--annotate` for a match not started yet.
    async fn prepare(&self, store: &LocalStore, id: &MatchId) -> anyhow::Result<()> {
        if self.restart {
            analysis::discard(store, id).await?;
        }
        if !self.annotate {
            return Ok(());
        }
        match tacticeye::segment::load_manifest(store, id).await? {
            None => Ok(StartOptions { annotate: true }.save(store, id).await?),
            Some(m) if m.annotate => Ok(()),
            Some(_) => anyhow::bail!("match {id} was started without --annotate; add --restart to start it over"),
        }
    }
}

/// A video file: cut into segments on another thread while this one analyses them in order.
async fn analyze_file(
    data_dir: &Path,
    video: &Path,
    match_id: Option<MatchId>,
    choice: &DetectorChoice,
    pitch_model: Option<KeypointModel>,
    run: Run<'_>,
) -> anyhow::Result<()> {
    let match_id = match match_id {
        Some(id) => id,
        None => MatchId::from_file_name(video).map_err(|e| anyhow::anyhow!("{e}; pass --match-id"))?,
    };
    // The video first, probed and fingerprinted once: a wrong path is the likeliest mistake.
    let video = tacticeye::segment::Video::open(video)?;
    let mut models = Models { detector: detect::open(choice)?, pitch: pitch_model };
    let store = std::sync::Arc::new(LocalStore::new(data_dir));
    run.prepare(&store, &match_id).await?;
    let expected = (video.info.frames as f64 / (video.info.fps * run.config.segment_seconds)).ceil() as u64;
    let progress = bar(expected.max(1), &format!("analysing {match_id}"));
    let shown = |o: &analysis::Outcome| {
        if let analysis::Outcome::Applied { index, .. } = o {
            progress.set_position(index + 1)
        }
    };
    let ids = (match_id.clone(), video);
    let state = analysis::run_video(store.clone(), &mut models, ids, run.config, run.keep_segments, shown).await?;
    progress.finish_and_clear();
    let manifest = tacticeye::segment::load_manifest(store.as_ref(), &match_id).await?.context("no manifest")?;
    print_summary(&results::summarise(&state, &manifest, tacticeye::clock::unix_now()));
    Ok(())
}

/// A URL source: the segmenter follows it on its own thread while this one analyses each segment as it
/// is enqueued, as a worker does in the cloud.
async fn analyze_url(
    data_dir: &std::path::Path,
    source: Source,
    match_id: Option<MatchId>,
    mut models: Models,
    options: FollowOptions,
    run: Run<'_>,
) -> anyhow::Result<()> {
    let match_id = match match_id.or_else(|| source.default_match_id()) {
        Some(id) => id,
        None => anyhow::bail!("cannot make a match id from {}; pass --match-id", source.location),
    };
    let store = LocalStore::new(data_dir);
    run.prepare(&store, &match_id).await?;
    let queue = std::sync::Arc::new(LocalQueue::new());
    // Resuming: what was segmented but not analysed is enqueued again (the local queue lives in memory).
    if let Some(manifest) = tacticeye::segment::load_manifest(&store, &match_id).await? {
        let done = analysis::load_state(&store, &match_id).await?.map_or(0, |(s, _)| s.next_segment);
        analysis::enqueue(queue.as_ref(), &manifest, done).await?;
    }
    let config = run.config.clone();
    let follower = {
        let (store, queue, match_id) = (LocalStore::new(data_dir), queue.clone(), match_id.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(tacticeye::segment::follow(&store, queue.as_ref(), &match_id, &source, &options))
        })
    };
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(format!("analysing {match_id}: waiting for the first segment"));
    let worked = analysis::work(
        &store,
        queue.as_ref(),
        &mut models,
        &config,
        || !follower.is_finished(),
        |outcome| {
            spinner.tick();
            match outcome {
                analysis::Outcome::Applied { index, lag, .. } => {
                    let lag = lag.map(|l| format!(", {l:.1} s behind the stream")).unwrap_or_default();
                    spinner.set_message(format!("analysing {match_id}: segment {index} committed{lag}"));
                }
                analysis::Outcome::Dropped { index, lag } => spinner.set_message(format!(
                    "analysing {match_id}: segment {index} dropped ({lag:.1} s behind the stream)"
                )),
                _ => {}
            }
        },
        run.keep_segments,
    )
    .await;
    spinner.finish_and_clear();
    let followed = follower.join().map_err(|_| anyhow::anyhow!("the segmenter thread panicked"))?;
    // The source's error first: it is the cause when both fail.
    followed?;
    worked?;
    print_summary(&results::summary(&store, &match_id).await?);
    Ok(())
}
