//! The shipped detector (`models/tacticeye-detector.onnx`, with its ball check) on real footage: still images through
//! `tacticeye detect` and `eval-detector`, whole clips through `analyze`, and its refusals of bad input.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use tacticeye_tests::{ok, python, shared_data, stderr, stdout, tacticeye};

fn detect(data: &Path) -> Command {
    let mut cmd = tacticeye(data);
    cmd.arg("detect");
    cmd
}

fn fails_naming(out: &std::process::Output, words: &[&str]) {
    assert_eq!(out.status.code(), Some(1), "expected exit 1: {}", stderr(out));
    let err = stderr(out);
    for w in words {
        assert!(err.contains(w), "{err:?} does not say {w:?}");
    }
}

/// What an analysed clip's positions say: mean people per frame, people tracks, rows per team.
fn analyse(clip: &Path, dir: &Path, id: &str) -> (f64, usize, BTreeMap<String, usize>) {
    let data = dir.join("data");
    ok(tacticeye(&data).arg("analyze").arg(clip).args(["--match-id", id]));
    let summary: serde_json::Value =
        serde_json::from_str(&stdout(&ok(tacticeye(&data).args(["summary", id, "--json"])))).unwrap();
    assert_eq!(summary["status"], "complete", "{summary}");
    let out = dir.join(id);
    ok(tacticeye(&data).args(["export", id, "--format", "csv", "--out"]).arg(&out));
    let csv = std::fs::read_to_string(out.join("positions.csv")).unwrap();
    let (mut people, mut frames, mut tracks, mut teams) = (0usize, BTreeSet::new(), BTreeSet::new(), BTreeMap::new());
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        frames.insert(f[0].to_string());
        if f[4] != "ball" {
            people += 1;
            tracks.insert(f[2].to_string());
            *teams.entry(f[3].to_string()).or_insert(0) += 1;
        }
    }
    let total = summary["frames_total"].as_u64().unwrap() as f64;
    (people as f64 / total, tracks.len(), teams)
}

#[test]
fn the_shipped_model_finds_the_players_of_a_real_broadcast_and_a_fixed_camera_clip() {
    let Some(dfl) = shared_data("clips/dfl-bundesliga-08fd33_4-848x478.mp4") else { return };
    let Some(uni) = shared_data("clips/university-fixed-camera-left-3072x1728.mp4") else { return };
    let dir = tempfile::tempdir().unwrap();
    let (per_frame, tracks, teams) = analyse(&dfl, dir.path(), "dfl");
    eprintln!("DFL clip: {per_frame:.1} people per frame, {tracks} tracks, rows per team {teams:?}");
    assert!(per_frame >= 12.0, "a wide broadcast view shows most of 20+ people: {per_frame:.1} per frame");
    let (a, b) = (teams.get("0").copied().unwrap_or(0), teams.get("1").copied().unwrap_or(0));
    assert!(a.min(b) as f64 >= 0.25 * (a + b) as f64, "both teams are found: {teams:?}");

    let (per_frame, tracks, teams) = analyse(&uni, dir.path(), "uni");
    eprintln!("University clip: {per_frame:.1} people per frame, {tracks} tracks, rows per team {teams:?}");
    assert!(per_frame >= 6.0, "the fixed camera's half of the pitch: {per_frame:.1} people per frame");
}

#[test]
fn the_shipped_model_scores_on_the_labelled_broadcast_frames() {
    let Some(valid) = shared_data("players-detection/valid") else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = ok(tacticeye(&dir.path().join("data"))
        .arg("eval-detector")
        .arg(valid.join("images"))
        .arg(valid.join("labels"))
        .arg("--json"));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    eprintln!("{report}");
    let s = &report["score"];
    let get = |k: &str| s[k].as_f64().unwrap();
    // Floors a little under what the shipped model measured (models/MODEL_CARD.md): a worse model fails.
    assert!(get("people_recall") >= 0.9, "{s}");
    assert!(get("people_precision") >= 0.9, "{s}");
    assert!(get("role_accuracy") >= 0.95, "{s}");
    // The detector alone finds 0.54 of the balls, the one-window check 0.74: over 0.8 needs the two-window one.
    assert!(get("ball_hit_rate") >= 0.8 && get("ball_precision") >= 0.9, "{s}");
}

#[test]
fn the_shipped_model_scores_on_the_held_out_clips_of_the_360_degree_camera() {
    let Some(pan) = shared_data("players-panoramic/train") else { return };
    // The clips held out of training (models/train_detector.py): names hold dots, labels have no roles.
    let dir = tempfile::tempdir().unwrap();
    let (images, labels) = (dir.path().join("images"), dir.path().join("labels"));
    std::fs::create_dir_all(&images).unwrap();
    std::fs::create_dir_all(&labels).unwrap();
    for entry in std::fs::read_dir(pan.join("images")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.contains("_1st_5_") || name.contains("_2nd_4_") {
            std::fs::copy(&path, images.join(&name)).unwrap();
            let label = name.replace(".jpg", ".txt");
            std::fs::copy(pan.join("labels").join(&label), labels.join(&label)).unwrap();
        }
    }
    let out = ok(tacticeye(&dir.path().join("data")).arg("eval-detector").args([&images, &labels]).args([
        "--classes",
        "person,ball",
        "--iou",
        "0.3",
        "--json",
    ]));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    eprintln!("{report}");
    let s = &report["score"];
    assert_eq!(s["counts"]["images"], 18, "{s}");
    assert!(s["counts"]["people_labelled"].as_u64().unwrap() > 300, "every label file is read: {s}");
    assert!(s["role_accuracy"].is_null(), "no roles are labelled: {s}");
    assert!(s["people_recall"].as_f64().unwrap() >= 0.65 && s["people_precision"].as_f64().unwrap() >= 0.7, "{s}");
}

#[test]
fn detect_prints_one_json_line_per_image_in_its_pixels_and_draws_the_boxes() {
    let Some(images) = shared_data("players-detection/valid/images") else { return };
    let mut frames: Vec<_> = std::fs::read_dir(&images).unwrap().map(|e| e.unwrap().path()).collect();
    frames.sort();
    let dir = tempfile::tempdir().unwrap();
    let drawn = dir.path().join("drawn");
    let out = ok(detect(dir.path()).args(&frames[..2]).arg("--json").arg("--draw").arg(&drawn));
    let lines: Vec<serde_json::Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    for (line, frame) in lines.iter().zip(&frames) {
        assert_eq!(line["image"], frame.to_str().unwrap());
        let dets = line["detections"].as_array().unwrap();
        assert!(dets.len() >= 10, "{line}");
        for d in dets {
            let b: Vec<f64> = d["box"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
            assert!(b[0] <= b[2] && b[1] <= b[3] && b[2] <= 1920.0 && b[3] <= 1080.0, "{d}");
            assert!(["player", "goalkeeper", "referee", "ball"].contains(&d["class"].as_str().unwrap()), "{d}");
            assert!((0.0..=1.0).contains(&d["confidence"].as_f64().unwrap()), "{d}");
        }
        let png = drawn.join(format!("{}.png", frame.file_stem().unwrap().to_string_lossy()));
        let img = image_size(&png);
        assert_eq!(img, (1920, 1080), "{}", png.display());
    }
    let table = stdout(&ok(detect(dir.path()).arg(&frames[0])));
    assert!(table.contains("players") && table.contains("confidence"), "{table}");
}

fn image_size(png: &Path) -> (u32, u32) {
    let bytes = std::fs::read(png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

#[test]
fn unreadable_images_bad_models_and_a_missing_runtime_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (data, drawn) = (dir.path().join("data"), dir.path().join("drawn"));
    let broken = dir.path().join("broken.jpg");
    std::fs::write(&broken, b"\xff\xd8 not really a jpeg").unwrap();
    let Some(images) = shared_data("players-detection/valid/images") else { return };
    let good = std::fs::read_dir(&images).unwrap().next().unwrap().unwrap().path();
    let out = detect(&data).arg(&good).arg(&broken).arg("--draw").arg(&drawn).output().unwrap();
    fails_naming(&out, &["broken.jpg"]);
    assert!(stdout(&out).is_empty() && !drawn.exists(), "nothing is written before every image is read");
    fails_naming(&detect(&data).arg(dir.path().join("absent.png")).output().unwrap(), &["absent.png"]);

    let not_onnx = dir.path().join("weights.onnx");
    std::fs::write(&not_onnx, b"not a model").unwrap();
    fails_naming(
        &detect(&data).arg(&good).args(["--detector"]).arg(&not_onnx).output().unwrap(),
        &["weights.onnx", "not a usable ONNX model"],
    );

    // A model that claims our layout but has the wrong outputs.
    let wrong = dir.path().join("wrong.onnx");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tiny_detector.py");
    ok(Command::new(python()).arg(script).arg(&wrong).arg("--claim-tacticeye-layout"));
    fails_naming(
        &detect(&data).arg(&good).args(["--detector"]).arg(&wrong).output().unwrap(),
        &["wrong.onnx", "output must be"],
    );

    // The default detector's ball check replaced by a model that is not one.
    let pitch = concat!(env!("CARGO_MANIFEST_DIR"), "/../models/tacticeye-pitch.onnx");
    let out = detect(&data).arg(&good).env("TACTICEYE_BALL_MODEL", pitch).output().unwrap();
    fails_naming(&out, &["tacticeye-pitch.onnx", "not a usable ball check model"]);

    let out =
        detect(&data).arg(&good).env("ORT_DYLIB_PATH", dir.path().join("libonnxruntime.so.1.31.1")).output().unwrap();
    fails_naming(&out, &["ONNX Runtime"]);
}
