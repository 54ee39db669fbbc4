//! The pitch: a fixed camera's calibration puts positions in metres, and bad calibrations are refused.

use std::path::Path;

use tacticeye::pitch::Homography;
use tacticeye::truth::Truth;
use tacticeye_tests::{ok, stderr, synthetic_clip, tacticeye};

/// A calibration file of image points and their pitch metres, through the clip's true homography.
fn calibration_file(dir: &Path, h: &Homography, width: f64, height: f64) -> std::path::PathBuf {
    let points: Vec<serde_json::Value> = [(0.1, 0.5), (0.9, 0.5), (0.2, 0.95), (0.8, 0.95), (0.5, 0.7), (0.5, 0.4)]
        .iter()
        .map(|&(fx, fy)| {
            let image = [fx * width, fy * height];
            let (x, y) = h.apply((image[0], image[1])).unwrap();
            serde_json::json!({ "image": image, "pitch": [x, y] })
        })
        .collect();
    let path = dir.join("calibration.json");
    std::fs::write(&path, serde_json::json!({ "points": points }).to_string()).unwrap();
    path
}

#[test]
fn a_fixed_calibration_puts_the_players_on_the_pitch_in_metres() {
    let video = synthetic_clip(20, 9, 320, 180);
    let truth = Truth::load(&video.with_extension("truth.json")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A frame where the tracks are confirmed; its camera is the calibration's.
    const FRAME: usize = 10;
    let first = &truth.frames[FRAME];
    let h = first.homography.expect("the truth has the camera's homography");
    let file = calibration_file(dir.path(), &h, truth.width as f64, truth.height as f64);
    let data = dir.path().join("data");
    ok(tacticeye(&data)
        .arg("analyze")
        .arg(&video)
        .args(["--match-id", "m", "--detector", "truth", "--noise", "none"])
        .arg("--calibration")
        .arg(&file));
    let export = dir.path().join("m.json");
    ok(tacticeye(&data).args(["export", "m", "--out"]).arg(&export));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    // The camera pans, so only that frame's calibration is the truth's.
    assert_eq!(doc["frames"][FRAME]["frame"], FRAME);
    let objects = doc["frames"][FRAME]["objects"].as_array().unwrap();
    assert!(!objects.is_empty());
    let mut errors: Vec<f64> = objects
        .iter()
        .filter_map(|o| o["pitch"].as_array())
        .map(|p| {
            let (x, y) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
            first
                .people
                .iter()
                .filter_map(|t| t.pitch)
                .map(|t| (t[0] - x).hypot(t[1] - y))
                .fold(f64::INFINITY, f64::min)
        })
        .collect();
    assert!(errors.len() * 10 >= objects.len() * 8, "most players are placed: {} of {}", errors.len(), objects.len());
    errors.sort_by(f64::total_cmp);
    let median = errors[errors.len() / 2];
    eprintln!("frame {FRAME}: {} players placed, median error {median:.2} m", errors.len());
    assert!(median < 1.0, "a 320x180 pixel is under a metre at this range: median {median:.2} m");

    let csv = dir.path().join("csv");
    ok(tacticeye(&data).args(["export", "m", "--format", "csv", "--out"]).arg(&csv));
    let positions = std::fs::read_to_string(csv.join("positions.csv")).unwrap();
    assert!(positions.lines().next().unwrap().ends_with(",pitch_x,pitch_y"));
}

#[test]
fn a_calibration_that_fixes_no_camera_is_refused_naming_the_file() {
    let video = synthetic_clip(20, 9, 320, 180);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("goal-line.json");
    // Four keypoints of the goal line: one line, no camera.
    let points: Vec<_> = (0..4)
        .map(|k| serde_json::json!({ "image": [10.0 + 5.0 * k as f64, 20.0 * k as f64], "keypoint": k }))
        .collect();
    std::fs::write(&file, serde_json::json!({ "points": points }).to_string()).unwrap();
    let data = dir.path().join("data");
    let out = tacticeye(&data)
        .arg("analyze")
        .arg(&video)
        .args(["--detector", "truth", "--calibration"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("goal-line.json") && err.contains("degenerate"), "{err}");
    assert!(!data.join("matches").exists(), "nothing is written");
}
