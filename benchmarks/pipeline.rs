//! Pipeline benchmark: frames per second of each stage and of the whole pipeline on a synthetic 1080p
//! clip and on a real clip scaled to 1080p, and the checkpoint cost per segment early and late in a long
//! match.
//!
//! `pipeline-bench [--seconds N] [--long-minutes M] [--model M.onnx] [--ball-model B.onnx] [--real-clip CLIP]
//! [--pitch-model P.onnx]`; prints markdown tables. The ball model is the detector's ball check. With a pitch
//! model the synthetic clip (a panning broadcast camera) and the real clip run a second time calibrated by
//! it, to show what calibration costs: on the synthetic clip the camera's mount is learnt in its first 8 s,
//! and from then on its turn is read off every frame as well. ONNX Runtime uses `TACTICEYE_THREADS` threads (default: every core).
//! Figures are wall time on this machine: compare ratios within one run.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tacticeye::analysis;
use tacticeye::detect::ballcheck::BallCheck;
use tacticeye::detect::truth::{Noise, TruthDetector};
use tacticeye::detect::{Detector, onnx::OnnxDetector};
use tacticeye::ids::MatchId;
use tacticeye::pipeline::{Models, Segment, StageTimes, process_segment};
use tacticeye::pitch::keypoints::{Camera, KeypointModel};
use tacticeye::pitch::{Calibration, CalibrationMode, Pitch};
use tacticeye::segment::{self, Manifest};
use tacticeye::source;
use tacticeye::state::{Config, MatchState};
use tacticeye::storage::{Condition, LocalStore, ObjectStore};
use tacticeye::synth::{self, SynthOptions};
use tacticeye::truth::Truth;

struct Args {
    seconds: f64,
    long_minutes: f64,
    model: Option<PathBuf>,
    real_clip: Option<PathBuf>,
    pitch_model: Option<PathBuf>,
    ball_model: Option<PathBuf>,
}

fn args() -> Args {
    let mut a =
        Args { seconds: 20.0, long_minutes: 10.0, model: None, real_clip: None, pitch_model: None, ball_model: None };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().unwrap_or_default();
        match k.as_str() {
            "--seconds" => a.seconds = v.parse().expect("--seconds N"),
            "--long-minutes" => a.long_minutes = v.parse().expect("--long-minutes M"),
            "--model" => a.model = Some(v.into()),
            "--real-clip" => a.real_clip = Some(v.into()),
            "--pitch-model" => a.pitch_model = Some(v.into()),
            "--ball-model" => a.ball_model = Some(v.into()),
            other => panic!("unknown option {other}"),
        }
    }
    a
}

/// Our detector, with its ball check when given one; and its name in the tables.
fn onnx(model: &Path, ball: Option<&Path>) -> anyhow::Result<(String, OnnxDetector)> {
    let mut name = format!("onnx {}", model.file_name().unwrap_or_default().to_string_lossy());
    let detector = OnnxDetector::open(model)?;
    let Some(ball) = ball else { return Ok((name, detector)) };
    name.push_str(" + ball check");
    Ok((name, detector.with_ball_check(BallCheck::open(ball)?)?))
}

fn fps(frames: u64, d: Duration) -> String {
    format!("{:.1}", frames as f64 / d.as_secs_f64().max(1e-9))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = args();
    let work = tempfile::tempdir()?;
    println!("## Pipeline throughput, synthetic 1920x1080 clip, {} s at 25 fps\n", args.seconds);
    let video = work.path().join("bench.mp4");
    let t = Instant::now();
    let truth = synth::generate(
        &video,
        &SynthOptions { seconds: args.seconds, seed: 7, width: 1920, height: 1080, fps: 25, fixed_camera: false },
        |_, _| {},
    )?;
    let frames = truth.frames.len() as u64;
    let render = t.elapsed();

    let store = LocalStore::new(work.path().join("data"));
    let id = MatchId::new("bench")?;
    let t = Instant::now();
    let manifest = segment::segment_video(&store, &id, &segment::Video::open(&video)?, 3.0).await?;
    let segmenting = t.elapsed();

    let mut detectors: Vec<(String, Box<dyn Detector>)> =
        vec![("truth (noisy)".into(), Box::new(TruthDetector::open(&synth::truth_path(&video), Noise::default())?))];
    if let Some(model) = &args.model {
        let (name, detector) = onnx(model, args.ball_model.as_deref())?;
        detectors.push((name, Box::new(detector)));
    }
    println!("| stage | detector | frames/s |\n|---|---|---|");
    println!("| render synthetic frames (incl. H.264 encode) | - | {} |", fps(frames, render));
    println!("| segment (ffmpeg cut + store) | - | {} |", fps(frames, segmenting));
    for (name, detector) in detectors {
        let mut models = Models::new(detector);
        stage_table(&store, &manifest, &mut models, &Config::default(), &name, frames).await?;
        if let Some(path) = &args.pitch_model {
            let config = calibrated(&mut models, path)?;
            stage_table(&store, &manifest, &mut models, &config, &format!("{name}, calibrated"), frames).await?;
        }
    }
    if let (Some(clip), Some(model)) = (&args.real_clip, &args.model) {
        real_clip(work.path(), clip, model, args.ball_model.as_deref(), args.pitch_model.as_deref()).await?;
    }

    checkpoint_cost(work.path(), args.long_minutes).await
}

/// A real clip scaled to 1920x1080 (H.264, like a broadcast) through the whole pipeline with `model` (and
/// its ball check), then again calibrated by `pitch_model`.
async fn real_clip(
    work: &Path,
    clip: &Path,
    model: &Path,
    ball_model: Option<&Path>,
    pitch_model: Option<&Path>,
) -> anyhow::Result<()> {
    if !clip.is_file() {
        println!("\n(real clip {} absent: skipped)", clip.display());
        return Ok(());
    }
    let video = work.join("real-1080p.mp4");
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(clip)
        .args(["-vf", "scale=1920:1080", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-an"])
        .arg(&video)
        .status()?;
    anyhow::ensure!(status.success(), "ffmpeg could not scale {}", clip.display());
    let store = LocalStore::new(work.join("real-data"));
    let manifest = segment::segment_video(&store, &MatchId::new("real")?, &segment::Video::open(&video)?, 3.0).await?;
    let frames = manifest.frames;
    println!(
        "\n## Real clip {} scaled to 1920x1080, {frames} frames\n",
        clip.file_name().unwrap_or_default().to_string_lossy()
    );
    println!("| stage | detector | frames/s |\n|---|---|---|");
    let (name, detector) = onnx(model, ball_model)?;
    let mut models = Models::new(Box::new(detector));
    stage_table(&store, &manifest, &mut models, &Config::default(), &name, frames).await?;
    if let Some(path) = pitch_model {
        let config = calibrated(&mut models, path)?;
        stage_table(&store, &manifest, &mut models, &config, &format!("{name}, calibrated"), frames).await?;
    }
    Ok(())
}

/// Gives `models` the pitch model at `path`: the config of a match calibrated by it, its camera moving.
fn calibrated(models: &mut Models, path: &Path) -> anyhow::Result<Config> {
    let pitch = KeypointModel::open(path)?;
    let config = Config { calibration: Some(pitch.calibration(Pitch::default(), Camera::Moving)), ..Config::default() };
    models.pitch = Some(pitch);
    Ok(config)
}

/// Runs the match and prints each stage's frames per second and the whole's.
async fn stage_table(
    store: &LocalStore,
    manifest: &Manifest,
    models: &mut Models,
    config: &Config,
    name: &str,
    frames: u64,
) -> anyhow::Result<()> {
    let (decode, times, whole) = run_match(store, manifest, models, config).await?;
    // An uncalibrated match skips calibration: its lap is only the skip, so no rate is printed.
    let calibrated = config.calibration.is_some();
    for (stage, d, ran) in [
        ("decode (ffmpeg to RGB)", decode, true),
        ("detect", times.detect, true),
        ("calibrate (pitch keypoints every 5th frame, the camera's turn every frame)", times.calibrate, calibrated),
        ("appearance (shirt colour)", times.appearance, true),
        ("track", times.track, true),
        ("teams", times.teams, true),
        ("ball", times.ball, true),
        ("possession and events", times.possession, true),
        ("stats on the pitch (distance, speeds, team figures)", times.stats, calibrated),
    ] {
        let rate = if ran { fps(frames, d) } else { "-".to_string() };
        println!("| {stage} | {name} | {rate} |");
    }
    println!("| **whole pipeline** (decode + stages + commit) | {name} | **{}** |", fps(frames, whole));
    Ok(())
}

/// Decodes and processes every segment, committing like the worker does; returns decode time, stage
/// times and the wall time of the whole.
async fn run_match(
    store: &LocalStore,
    manifest: &Manifest,
    models: &mut Models,
    config: &Config,
) -> anyhow::Result<(Duration, StageTimes, Duration)> {
    let mut state = MatchState::new(
        manifest.match_id.clone(),
        config.clone(),
        models.detector.identity(),
        manifest.fingerprint.clone(),
        manifest.fps,
        manifest.width,
        manifest.height,
    );
    let (mut decode, mut times) = (Duration::ZERO, StageTimes::default());
    let start = Instant::now();
    for seg in segment::Listing::new(store, manifest).all().await? {
        let bytes = store.get(&seg.key).await?.expect("segment stored").bytes;
        let file = tempfile::Builder::new().suffix(".mp4").tempfile()?;
        std::fs::write(file.path(), bytes)?;
        let t = Instant::now();
        let frames = source::decode(file.path(), seg.first_frame)?;
        decode += t.elapsed();
        let (next, output, t) = process_segment(models, state, &Segment { index: seg.index, frames: &frames })?;
        times.add(&t);
        store.put(&manifest.match_id.output_key(seg.index), serde_json::to_vec(&output)?, Condition::Always).await?;
        store.put(&manifest.match_id.checkpoint_key(), next.to_json(), Condition::Always).await?;
        state = next;
    }
    Ok((decode, times, start.elapsed()))
}

/// A long match at low resolution through the real local run, timing each checkpoint write. It is on the
/// pitch (a fixed camera, given its true homography), so the checkpoint holds every stage's state.
async fn checkpoint_cost(work: &Path, minutes: f64) -> anyhow::Result<()> {
    let video = work.join("long.mp4");
    synth::generate(
        &video,
        &SynthOptions { seconds: minutes * 60.0, seed: 3, width: 480, height: 270, fps: 25, fixed_camera: true },
        |_, _| {},
    )?;
    let store = LocalStore::new(work.join("long-data"));
    let id = MatchId::new("long")?;
    let manifest = segment::segment_video(&store, &id, &segment::Video::open(&video)?, 2.0).await?;
    let truth = Truth::load(&synth::truth_path(&video))?;
    let homography = truth.frame(0).and_then(|f| f.homography).expect("the fixed camera's true homography");
    let calibration = Calibration { pitch: Pitch::default(), homography, lens: None };
    let mut models = Models::new(Box::new(TruthDetector::open(&synth::truth_path(&video), Noise::default())?));
    let mut state = MatchState::new(
        id.clone(),
        Config { segment_seconds: 2.0, calibration: Some(CalibrationMode::Fixed(calibration)), ..Config::default() },
        models.detector.identity(),
        manifest.fingerprint.clone(),
        manifest.fps,
        manifest.width,
        manifest.height,
    );
    let mut rows: Vec<(u64, usize, Duration, Duration)> = Vec::new(); // index, bytes, serialise+put, load+parse
    for seg in segment::Listing::new(&store, &manifest).all().await? {
        let bytes = store.get(&seg.key).await?.expect("segment").bytes;
        let file = tempfile::Builder::new().suffix(".mp4").tempfile()?;
        std::fs::write(file.path(), bytes)?;
        let frames = source::decode(file.path(), seg.first_frame)?;
        let (next, _, _) = process_segment(&mut models, state, &Segment { index: seg.index, frames: &frames })?;
        let t = Instant::now();
        let json = next.to_json();
        let size = json.len();
        store.put(&id.checkpoint_key(), json, Condition::Always).await?;
        let write = t.elapsed();
        let t = Instant::now();
        let (loaded, _) = analysis::load_state(&store, &id).await?.expect("checkpoint");
        let read = t.elapsed();
        assert_eq!(loaded, next, "checkpoint must round-trip exactly");
        rows.push((seg.index, size, write, read));
        state = loaded;
    }
    let n = rows.len();
    let window = 10.min(n / 2).max(1);
    let mean = |r: &[(u64, usize, Duration, Duration)]| {
        let k = r.len() as f64;
        (
            r.iter().map(|x| x.1 as f64).sum::<f64>() / k,
            r.iter().map(|x| x.2.as_secs_f64() * 1e3).sum::<f64>() / k,
            r.iter().map(|x| x.3.as_secs_f64() * 1e3).sum::<f64>() / k,
        )
    };
    let (early, late) = (mean(&rows[..window]), mean(&rows[n - window..]));
    println!("\n## Checkpoint cost per segment, {minutes} min match on the pitch in 2 s segments ({n} segments)\n");
    println!(
        "| part of the match | checkpoint bytes | write ms (serialise + atomic put) | read ms (get + parse) |\n|---|---|---|---|"
    );
    println!("| first {window} segments | {:.0} | {:.2} | {:.2} |", early.0, early.1, early.2);
    println!("| last {window} segments | {:.0} | {:.2} | {:.2} |", late.0, late.1, late.2);
    println!("| late / early | {:.2} | {:.2} | {:.2} |", late.0 / early.0, late.1 / early.1, late.2 / early.2);
    Ok(())
}
