//! `tacticeye`: the local mode. Thin over the `tacticeye` library; every command reads and writes the
//! data folder through the same `ObjectStore` the cloud uses.

mod analyze_cmd;
mod detect_cmd;
mod evaluate_cmd;
mod pitch_cmd;
mod render_cmd;
mod serve_cmd;
mod slots;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use tacticeye::ids::MatchId;
use tacticeye::pitch::Pitch;
use tacticeye::pitch::keypoints::Camera;
use tacticeye::results::{self, Format, ResultsError, Summary};
use tacticeye::segment::ManifestError;
use tacticeye::state::StateError;
use tacticeye::storage::LocalStore;
use tacticeye::synth::{self, SynthOptions};
use tacticeye::truth::TruthEventKind;

#[derive(Parser)]
#[command(
    name = "tacticeye",
    version,
    about = "Football match video analysis: players, teams, ball, possession and passes"
)]
struct Cli {
    /// Where matches are kept.
    #[arg(long, global = true, env = "TACTICEYE_DATA", default_value = "./tacticeye-data")]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Render a synthetic match and its ground truth (<OUT stem>.truth.json).
    Synth {
        out: PathBuf,
        #[arg(long, default_value_t = 60.0)]
        seconds: f64,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        #[arg(long, default_value_t = 1280)]
        width: u32,
        #[arg(long, default_value_t = 720)]
        height: u32,
        #[arg(long, default_value_t = 25)]
        fps: u32,
        /// A fixed wide camera on the centre spot (club or Veo-like) instead of a broadcast camera that
        /// pans with play.
        #[arg(long)]
        fixed_camera: bool,
    },
    /// Analyse a match video segment by segment; rerun the same command to resume after a stop.
    ///
    /// SOURCE is a file or a URL: http(s) video, HLS playlist (VOD or live), rtmp(s), rtsp(s), YouTube
    /// or Veo link. A live stream is analysed as it plays, a few seconds behind.
    Analyze(analyze_cmd::AnalyzeArgs),
    /// Status and figures of a match, during or after its analysis.
    Summary {
        match_id: MatchId,
        #[arg(long)]
        json: bool,
    },
    /// Per-frame positions, events and summary of the analysed part of a match.
    Export {
        match_id: MatchId,
        #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
        format: ExportFormat,
        /// A file for json, a folder for csv, cdf and parquet.
        #[arg(long)]
        out: PathBuf,
    },
    /// Serve the HTTP API over the data folder (the same router as the cloud's HTTP function).
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: std::net::SocketAddr,
        /// Bearer token every route requires.
        #[arg(long, env = "TACTICEYE_API_TOKEN")]
        token: String,
        /// Let GET routes answer without the token.
        #[arg(long)]
        public_read: bool,
        /// Seconds a client has to send a request's headers before its connection is closed.
        #[arg(long, default_value_t = 10.0)]
        header_timeout: f64,
        /// Seconds a request may run before it answers 503.
        #[arg(long, default_value_t = 30.0)]
        request_timeout: f64,
        /// Analyses run at once for matches started through `POST /matches` (default: the cores); the
        /// others wait in line.
        #[arg(long)]
        max_concurrent: Option<usize>,
        /// The detector of the analyses it starts, as `analyze --detector`.
        #[arg(long, default_value = "default")]
        detector: String,
        /// `auto` or `fixed`: the analyses it starts find the pitch (as `analyze --calibration`), unless
        /// their match was started with a calibration of its own.
        #[arg(long)]
        calibration: Option<String>,
    },
    /// Run the detector on images: one line per image (JSON with --json), boxes in the image's pixels.
    Detect {
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// `default` (our shipped model) or a path to an .onnx model.
        #[arg(long, default_value = "default")]
        detector: String,
        #[arg(long)]
        json: bool,
        /// Write each image with its boxes drawn into this folder, as <stem>.png.
        #[arg(long)]
        draw: Option<PathBuf>,
    },
    /// Score the detector on labelled images (YOLO text labels, <LABELS_DIR>/<image stem>.txt).
    EvalDetector {
        images_dir: PathBuf,
        labels_dir: PathBuf,
        /// The label files' class names by index: ball, goalkeeper, player, referee, person (any role), ignore.
        #[arg(long, default_value = "ball,goalkeeper,player,referee")]
        classes: String,
        /// IoU at which a found person matches a labelled one.
        #[arg(long, default_value_t = 0.5)]
        iou: f64,
        #[arg(long, default_value = "default")]
        detector: String,
        #[arg(long)]
        json: bool,
    },
    /// Calibrate images to the pitch: one line per image (JSON with --json), the homography from the image's
    /// pixels to pitch metres (origin at keypoint 0's corner), or null where it cannot be found. With
    /// --fixed the images are frames of one fixed camera, found as `analyze --calibration fixed` finds it;
    /// with --json that prints the keypoints it rests on as a file `--calibration FILE` takes (to check or
    /// correct by hand).
    Calibrate {
        #[arg(required = true)]
        images: Vec<PathBuf>,
        #[arg(long)]
        fixed: bool,
        /// `default` (our shipped pitch model) or a path to an .onnx model.
        #[arg(long, default_value = "default")]
        model: String,
        /// The pitch's length and width in metres.
        #[arg(long, default_value = "105x68", value_parser = Pitch::parse)]
        pitch: Pitch,
        #[arg(long)]
        json: bool,
    },
    /// Score calibration on labelled images (YOLO-pose keypoint labels, <LABELS_DIR>/<image stem>.txt):
    /// each labelled keypoint's distance in metres from where it is on a 105 x 68 pitch.
    EvalCalibration {
        images_dir: PathBuf,
        labels_dir: PathBuf,
        #[arg(long, default_value = "default")]
        model: String,
        #[arg(long)]
        json: bool,
    },
    /// Per-player distance, speeds and sprints, and per-team figures on the pitch (calibrated matches).
    Stats {
        match_id: MatchId,
        #[arg(long)]
        json: bool,
    },
    /// Draw an analysed frame, or the match on the pitch (radar, heatmap, pass network), as a PNG.
    Render {
        #[command(subcommand)]
        what: RenderWhat,
    },
    /// Score an analysed synthetic match against its truth, or a real match's passes against labelled events.
    Evaluate(evaluate_cmd::EvaluateArgs),
}

#[derive(Subcommand)]
enum RenderWhat {
    /// One frame, from the match's stored segment, as a PNG.
    Frame {
        match_id: MatchId,
        #[arg(long)]
        frame: u64,
        #[arg(long)]
        out: PathBuf,
        /// Scale the picture down to this width.
        #[arg(long)]
        width: Option<u32>,
    },
    /// One frame from above: players in team colours with their ids, the ball, the player on it.
    Radar {
        match_id: MatchId,
        #[arg(long)]
        frame: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// The analysed part of the match as an MP4: boxes in team colours, ids, the ball, the player on it,
    /// and a radar inset when calibrated.
    Video {
        match_id: MatchId,
        #[arg(long)]
        out: PathBuf,
        /// The video the match was analysed from, where its segments were not kept (default: its source,
        /// if that is a file here).
        #[arg(long)]
        video: Option<PathBuf>,
    },
    /// Where a team's players were over the analysed part of the match.
    Heatmap {
        match_id: MatchId,
        /// 0 or 1.
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=1))]
        team: u8,
        #[arg(long)]
        out: PathBuf,
    },
    /// A team's pass network: players at their average positions, lines as thick as their passes.
    Passes {
        match_id: MatchId,
        #[arg(long, value_parser = clap::value_parser!(u8).range(0..=1))]
        team: u8,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    Json,
    Csv,
    /// Common Data Format v0.3.2: meta.json, tracking.jsonl, event.jsonl (a calibrated match).
    Cdf,
    /// positions.parquet, events.parquet and (calibrated) players.parquet.
    Parquet,
}

fn main() -> ExitCode {
    tacticeye::logging::init("warn", tacticeye::logging::Clock::Timestamps);
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if let Some(hint) = hint(&e) {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}

/// What the user can do about an error the library reports without knowing our flags.
fn hint(e: &anyhow::Error) -> Option<&'static str> {
    e.chain().find_map(|cause| {
        if let Some(e) = cause.downcast_ref::<StateError>() {
            return Some(match e {
                StateError::Incompatible { .. } => {
                    "use the same settings, or run again with --restart to discard it and start over"
                }
                _ => "run again with --restart to discard it",
            });
        }
        if let Some(e) = cause.downcast_ref::<ManifestError>() {
            return match e {
                ManifestError::OtherSource { .. } => Some("use another --match-id, or --restart to discard it"),
                ManifestError::OtherSettings { .. } => {
                    Some("use the same settings, or run again with --restart to discard it and start over")
                }
                ManifestError::Unreadable(..) | ManifestError::MissingPage(_) => {
                    Some("run again with --restart to discard it")
                }
                ManifestError::Raced(_) => Some("run again to go on from where the other run is"),
                ManifestError::Store(_) => None,
            };
        }
        match cause.downcast_ref::<ResultsError>() {
            Some(ResultsError::NotFound(_)) => Some("analyse it first: tacticeye analyze VIDEO --match-id ID"),
            _ => None,
        }
    })
}

/// A fixed camera's calibration from the user's file; the error names the file.
fn bar(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {what} [{{bar:30}}] {{pos}}/{{len}} {{elapsed}} (eta {{eta}})"
        ))
        .expect("template")
        .progress_chars("=> "),
    );
    bar
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let store = LocalStore::new(&cli.data_dir);
    match cli.command {
        Command::Synth { out, seconds, seed, width, height, fps, fixed_camera } => {
            synthesise(&out, &SynthOptions { seconds, seed, width, height, fps, fixed_camera })?
        }
        Command::Analyze(args) => analyze_cmd::analyze(&cli.data_dir, args).await?,
        Command::Summary { match_id, json } => {
            let summary = results::summary(&store, &match_id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                print_summary(&summary);
            }
        }
        Command::Export { match_id, format, out } => {
            let format = match format {
                ExportFormat::Json => Format::Json,
                ExportFormat::Csv => Format::Csv,
                ExportFormat::Cdf => {
                    let written = tacticeye::cdf::export(&store, &match_id, &out).await?;
                    let (frames, events, players) = (written.frames, written.events, written.players);
                    let to = out.display();
                    println!(
                        "exported match {match_id} as CDF {} to {to}: {frames} frames, {events} events, {players} players",
                        tacticeye::cdf::VERSION
                    );
                    return Ok(());
                }
                ExportFormat::Parquet => {
                    let w = tacticeye::tables::export(&store, &match_id, &out).await?;
                    let players = w.players.map_or("no players (uncalibrated)".into(), |n| format!("{n} players"));
                    println!(
                        "exported match {match_id} as Parquet to {}: {} positions, {} events, {players}",
                        out.display(),
                        w.positions,
                        w.events
                    );
                    return Ok(());
                }
            };
            let summary = results::export(&store, &match_id, format, &out).await?;
            println!("exported {} frames of match {match_id} to {}", summary.frames_done, out.display());
        }
        Command::Serve {
            addr,
            token,
            public_read,
            header_timeout,
            request_timeout,
            max_concurrent,
            detector,
            calibration,
        } => {
            println!("serving {} (dashboard at http://{addr}/)", cli.data_dir.display());
            let max = max_concurrent.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let mut options = vec!["--detector".to_string(), detector];
            match calibration.as_deref() {
                None => {}
                Some(name) if Camera::named(name).is_some() => options.extend(["--calibration".into(), name.into()]),
                Some(other) => anyhow::bail!(
                    "serve --calibration takes `auto` or `fixed`, not {other:?}: a fixed camera's file goes with its match (POST /matches)"
                ),
            }
            let starts = tacticeye_api::Starts::Local(slots::start(&cli.data_dir, options, max).await?);
            let config = tacticeye_api::ApiConfig { token: Some(token), public_read, starts, cloud: None };
            let limits = serve_cmd::Limits {
                header_timeout: std::time::Duration::from_secs_f64(header_timeout),
                request_timeout: std::time::Duration::from_secs_f64(request_timeout),
            };
            serve_cmd::serve(store, addr, config, limits).await?;
        }
        Command::Detect { images, detector, json, draw } => {
            detect_cmd::detect(&images, &detector, json, draw.as_deref())?
        }
        Command::EvalDetector { images_dir, labels_dir, classes, iou, detector, json } => {
            detect_cmd::eval(&images_dir, &labels_dir, &classes, iou, &detector, json)?
        }
        Command::Calibrate { images, model, pitch, json, fixed: false } => {
            pitch_cmd::calibrate(&images, &model, &pitch, json)?
        }
        Command::Calibrate { images, model, pitch, json, fixed: true } => {
            pitch_cmd::calibrate_fixed(&images, &model, pitch, json)?
        }
        Command::EvalCalibration { images_dir, labels_dir, model, json } => {
            pitch_cmd::eval(&images_dir, &labels_dir, &model, json)?
        }
        Command::Stats { match_id, json } => {
            let report = results::stats(&store, &match_id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                render_cmd::print_stats(&report);
            }
        }
        Command::Render { what } => match what {
            RenderWhat::Frame { match_id, frame, out, width } => {
                render_cmd::frame(&store, &match_id, frame, &out, width).await?
            }
            RenderWhat::Radar { match_id, frame, out } => render_cmd::radar(&store, &match_id, frame, &out).await?,
            RenderWhat::Video { match_id, out, video } => {
                render_cmd::video(&store, &match_id, &out, video.as_deref()).await?
            }
            RenderWhat::Heatmap { match_id, team, out } => {
                render_cmd::team(&store, &match_id, team, &out, render_cmd::TeamPicture::Heatmap).await?
            }
            RenderWhat::Passes { match_id, team, out } => {
                render_cmd::team(&store, &match_id, team, &out, render_cmd::TeamPicture::Passes).await?
            }
        },
        Command::Evaluate(args) => evaluate_cmd::evaluate(&store, args).await?,
    }
    Ok(())
}

fn synthesise(out: &Path, opts: &SynthOptions) -> anyhow::Result<()> {
    let progress = bar((opts.seconds * opts.fps as f64).round() as u64, "rendering frames");
    let p = progress.clone();
    let truth = synth::generate(out, opts, move |done, _| p.set_position(done))?;
    progress.finish_and_clear();
    let passes = truth.events.iter().filter(|e| e.kind == TruthEventKind::Pass).count();
    println!(
        "wrote {} ({} frames, {}x{}) and {} ({} passes, {} turnovers)",
        out.display(),
        truth.frames.len(),
        opts.width,
        opts.height,
        synth::truth_path(out).display(),
        passes,
        truth.events.len() - passes
    );
    Ok(())
}

fn print_summary(s: &Summary) {
    println!(
        "match {}: {}, {}/{} segments, {}/{} frames ({:.1} s analysed)",
        s.match_id, s.status, s.segments_done, s.segments_total, s.frames_done, s.frames_total, s.seconds_done
    );
    let kit = |k: Option<&String>| k.map(|k| format!(" ({k})")).unwrap_or_default();
    let kits = s.kits.as_ref();
    println!(
        "possession   team 0{}: {:.1}%   team 1{}: {:.1}%",
        kit(kits.map(|k| &k.team_0)),
        s.possession.team_0,
        kit(kits.map(|k| &k.team_1)),
        s.possession.team_1
    );
    println!("passes       team 0: {}   team 1: {}", s.passes.team_0, s.passes.team_1);
    println!("turnovers won team 0: {}   team 1: {}", s.turnovers_won.team_0, s.turnovers_won.team_1);
    if let Some(l) = &s.live {
        println!(
            "live lag     now {:.1} s, mean {:.1} s, max {:.1} s at commit; {} segments dropped ({:.1} s), {} gaps ({:.1} s)",
            s.lag_seconds,
            l.mean_lag_seconds,
            l.max_lag_seconds,
            l.dropped_segments,
            l.dropped_seconds,
            l.gaps,
            l.gap_seconds
        );
    }
}
