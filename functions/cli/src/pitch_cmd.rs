//! `tacticeye calibrate` and `tacticeye eval-calibration`: the pitch model on still images.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use tacticeye::detect::images;
use tacticeye::pitch::fixed;
use tacticeye::pitch::keypoints::{self, KeypointModel};
use tacticeye::pitch::score::{self, Tally};
use tacticeye::pitch::{Homography, Pitch};
use tacticeye::source::Frame;

use crate::detect_cmd::list_images;

fn calibrate_frame(
    model: &mut KeypointModel,
    frame: &Frame,
    pitch: &Pitch,
) -> anyhow::Result<(Option<Homography>, Vec<keypoints::Keypoint>)> {
    let found = model.find(&[frame])?.pop().unwrap_or_default();
    Ok(match keypoints::calibrate(&found, pitch) {
        Some((h, kept)) => (Some(h), kept),
        None => (None, found),
    })
}

/// One line per image: its homography from pixels to pitch metres (null when it cannot be calibrated)
/// and the keypoints it rests on (or, uncalibrated, those found). Every image is read before anything
/// is printed, so a bad one prints nothing.
pub fn calibrate(paths: &[PathBuf], model: &str, pitch: &Pitch, json: bool) -> anyhow::Result<()> {
    let mut model = KeypointModel::open_named(model)?;
    let mut lines = Vec::with_capacity(paths.len());
    for path in paths {
        let frame = images::load(path)?;
        let (h, kept) = calibrate_frame(&mut model, &frame, pitch)?;
        lines.push(if json {
            serde_json::json!({ "image": path, "homography": h.map(|h| h.0), "keypoints": kept }).to_string()
        } else {
            match h {
                Some(h) => {
                    let centre = h.apply((frame.width as f64 / 2.0, frame.height as f64 / 2.0));
                    let at = centre.map_or("beyond the horizon".into(), |(x, y)| format!("({x:.1}, {y:.1}) m"));
                    format!("{}: calibrated on {} keypoints; the image centre is at {at}", path.display(), kept.len())
                }
                None => format!("{}: not calibrated ({} keypoints found)", path.display(), kept.len()),
            }
        });
    }
    for line in lines {
        println!("{line}");
    }
    Ok(())
}

/// The images as frames of one fixed camera: the camera found from them, as `analyze --calibration fixed`
/// finds it. With `json`, the calibration file of the keypoints it rests on; else a line saying it.
pub fn calibrate_fixed(paths: &[PathBuf], model: &str, pitch: Pitch, json: bool) -> anyhow::Result<()> {
    let mut model = KeypointModel::open_named(model)?;
    let frames = paths.iter().map(|p| images::load(p)).collect::<anyhow::Result<Vec<Frame>>>()?;
    let (first, size) = (&frames[0], |f: &Frame| (f.width, f.height));
    if let Some((path, f)) = paths.iter().zip(&frames).find(|(_, f)| size(f) != size(first)) {
        let ((w, h), (fw, fh)) = (size(f), size(first));
        let (path, first) = (path.display(), paths[0].display());
        anyhow::bail!("{path} is {w}x{h} but {first} is {fw}x{fh}: the frames of one camera are all one size");
    }
    let Some((camera, file)) = fixed::find(&mut model, &frames.iter().collect::<Vec<_>>(), pitch)? else {
        let (n, least) = (paths.len(), keypoints::MIN_INLIERS);
        anyhow::bail!("the {n} images do not fix a camera: fewer than {least} of the keypoints found in them agree");
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&file)?);
    } else {
        let lens = camera.lens.map_or("no lens distortion".into(), |l| format!("a lens of k = {:.2}", l.k));
        println!("a fixed camera found from {} images: {} keypoints agree, {lens}", paths.len(), file.points.len());
    }
    Ok(())
}

pub fn eval(images_dir: &Path, labels_dir: &Path, model: &str, json: bool) -> anyhow::Result<()> {
    if !labels_dir.is_dir() {
        anyhow::bail!("labels folder {} does not exist", labels_dir.display());
    }
    let paths = list_images(images_dir)?;
    let mut model = KeypointModel::open_named(model)?;
    // The labels' keypoints are on a standard pitch.
    let pitch = Pitch::default();
    let mut tally = Tally::default();
    let mut seconds = 0.0;
    for path in &paths {
        let frame = images::load(path)?;
        let stem = path.file_stem().context("image has no file name")?;
        let labels =
            score::read_labels(&labels_dir.join(format!("{}.txt", stem.to_string_lossy())), frame.width, frame.height)?;
        let t = Instant::now();
        let (h, _) = calibrate_frame(&mut model, &frame, &pitch)?;
        seconds += t.elapsed().as_secs_f64();
        tally.add(h.as_ref(), &labels, &pitch);
    }
    let s = tally.score(seconds);
    if json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        let m = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.2} m"));
        println!("images               {}", s.frames);
        println!("calibrated           {:.3}  ({} of {})", s.calibrated_share, s.calibrated, s.frames);
        println!(
            "keypoint error       median {}  90th percentile {}  ({} labelled keypoints)",
            m(s.median_m),
            m(s.p90_m),
            s.points
        );
        println!("calibration speed    {:.1} frames/s", s.frames_per_second);
    }
    Ok(())
}
