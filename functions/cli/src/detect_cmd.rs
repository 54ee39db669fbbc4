//! `tacticeye detect` and `tacticeye eval-detector`: the detector on still images.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use tacticeye::detect::score::{self, Tally};
use tacticeye::detect::{self, Class, Detection, DetectorChoice, images};
use tacticeye::source::Frame;

pub fn open(detector: &str) -> anyhow::Result<Box<dyn detect::Detector>> {
    match detector {
        "truth" => {
            anyhow::bail!("--detector truth reads a synthetic clip's truth, not images: pass default or a model path")
        }
        name => detect::open(&DetectorChoice::parse(name, None, Default::default())?),
    }
}

/// Detects on each image, each read once. Output is held back and drawings are staged beside the `--draw`
/// folder until every image has been read, so a bad one leaves nothing behind.
pub fn detect(paths: &[PathBuf], detector: &str, json: bool, draw: Option<&Path>) -> anyhow::Result<()> {
    if let Some(dir) = draw
        && dir.exists()
        && !dir.is_dir()
    {
        anyhow::bail!("--draw {} exists and is not a folder", dir.display());
    }
    let staging = draw.map(staging_beside).transpose()?;
    let mut detector = open(detector)?;
    let mut out = String::new();
    let mut drawn = Vec::new();
    for path in paths {
        let frame = images::load(path)?;
        let detections = detector.detect(std::slice::from_ref(&frame))?.pop().unwrap_or_default();
        if json {
            let line = serde_json::json!({ "image": path, "detections": detections });
            writeln!(out, "{line}")?;
        } else {
            table(&mut out, path, &frame, &detections)?;
        }
        if let Some(staging) = &staging {
            let stem = path.file_stem().context("image has no file name")?;
            // Not with_extension: stems may hold dots of their own (`frame.rf.123.jpg`).
            let name = format!("{}.png", stem.to_string_lossy());
            let staged = staging.path().join(&name);
            images::draw(&frame, &detections)
                .save(&staged)
                .with_context(|| format!("cannot write {}", staged.display()))?;
            drawn.push(name);
        }
    }
    if let (Some(dir), Some(staging)) = (draw, &staging) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for name in &drawn {
            std::fs::rename(staging.path().join(name), dir.join(name))
                .with_context(|| format!("cannot write {}", dir.join(name).display()))?;
        }
    }
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(())
}

/// A temporary folder on the same file system as `dir`, so its files can be renamed into `dir`.
fn staging_beside(dir: &Path) -> anyhow::Result<tempfile::TempDir> {
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    tempfile::Builder::new()
        .prefix(".tacticeye-draw-")
        .tempdir_in(parent)
        .with_context(|| format!("cannot write in {}", parent.display()))
}

/// The readable form: a line per image, then a row per detection.
fn table(out: &mut String, path: &Path, frame: &Frame, detections: &[Detection]) -> std::fmt::Result {
    let count = |c: Class| detections.iter().filter(|d| d.class == c).count();
    writeln!(
        out,
        "{} ({}x{}): {} players, {} goalkeepers, {} referees, {} balls",
        path.display(),
        frame.width,
        frame.height,
        count(Class::Player),
        count(Class::Goalkeeper),
        count(Class::Referee),
        count(Class::Ball)
    )?;
    writeln!(out, "  {:<11} {:>10} {:>8} {:>8} {:>8} {:>8}", "class", "confidence", "x1", "y1", "x2", "y2")?;
    for d in detections {
        let b = &d.bbox;
        let (class, conf) = (d.class.name(), d.confidence);
        writeln!(out, "  {class:<11} {conf:>10.3} {:>8.1} {:>8.1} {:>8.1} {:>8.1}", b.x1, b.y1, b.x2, b.y2)?;
    }
    Ok(())
}

/// Every .jpg/.jpeg/.png of a folder, sorted; an error when there is none.
pub fn list_images(images_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(images_dir)
        .with_context(|| format!("cannot read images folder {}", images_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| ["jpg", "jpeg", "png"].contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        anyhow::bail!("no .jpg or .png images in {}", images_dir.display());
    }
    Ok(paths)
}

/// Every .jpg/.jpeg/.png of `images_dir`, with `labels_dir/<stem>.txt` as its labels.
pub fn eval(
    images_dir: &Path,
    labels_dir: &Path,
    classes: &str,
    iou: f64,
    detector: &str,
    json: bool,
) -> anyhow::Result<()> {
    let classes = score::parse_classes(classes)?;
    if !labels_dir.is_dir() {
        anyhow::bail!("labels folder {} does not exist", labels_dir.display());
    }
    let paths = list_images(images_dir)?;
    let mut detector = open(detector)?;
    let mut tally = Tally::default();
    let mut seconds = 0.0;
    for path in &paths {
        let frame = images::load(path)?;
        let stem = path.file_stem().context("image has no file name")?;
        // Not with_extension: stems may hold dots of their own (`frame.rf.123.jpg`).
        let label = labels_dir.join(format!("{}.txt", stem.to_string_lossy()));
        let labels = score::read_labels(&label, frame.width, frame.height, &classes)?;
        let t = Instant::now();
        let detections = detector.detect(std::slice::from_ref(&frame))?.pop().unwrap_or_default();
        seconds += t.elapsed().as_secs_f64();
        tally.add(&detections, &labels, iou);
    }
    let s = tally.score(seconds);
    if json {
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "iou": iou, "score": s }))?);
    } else {
        let c = &s.counts;
        println!("images               {}", c.images);
        println!(
            "people (IoU {iou})    recall {:.3}  precision {:.3}  ({} matched, {} labelled, {} found)",
            s.people_recall, s.people_precision, c.people_matched, c.people_labelled, c.people_found
        );
        match s.role_accuracy {
            Some(r) => {
                println!("role accuracy        {r:.3}  ({} of {} matched with a role)", c.roles_right, c.roles_labelled)
            }
            None => println!("role accuracy        -  (no labelled roles)"),
        }
        println!(
            "ball top-1 (10 px)   hit rate {:.3}  precision {:.3}  ({} hits, {} images with a ball, {} predicted)",
            s.ball_hit_rate, s.ball_precision, c.ball_hits, c.ball_images, c.ball_predicted
        );
        println!("detector speed       {:.1} frames/s", s.frames_per_second);
    }
    Ok(())
}
