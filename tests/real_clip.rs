//! The whole pipeline on real broadcast footage through `ort`, with a tiny ONNX detector in the
//! Ultralytics layout built for the test: no crash on real input, every frame analysed.

use std::process::Command;

use tacticeye_tests::{ok, python, shared_data, stdout, tacticeye};

#[test]
fn a_real_broadcast_clip_runs_end_to_end_through_onnx_runtime() {
    let Some(clip) = shared_data("clips/dfl-bundesliga-08fd33_4-848x478.mp4") else { return };
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.onnx");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/tiny_detector.py");
    ok(Command::new(python()).arg(script).arg(&model));
    let data = dir.path().join("data");
    ok(tacticeye(&data).arg("analyze").arg(&clip).args(["--match-id", "dfl", "--detector"]).arg(&model));
    let summary: serde_json::Value =
        serde_json::from_str(&stdout(&ok(tacticeye(&data).args(["summary", "dfl", "--json"])))).unwrap();
    assert_eq!(summary["status"], "complete");
    assert_eq!(summary["frames_done"], summary["frames_total"]);
    assert!(summary["frames_done"].as_u64().unwrap() >= 160, "{summary}");
    // The clip has sparse keyframes: it must still be cut into 2-5 s segments (by re-encoding).
    assert!(summary["segments_total"].as_u64().unwrap() >= 2, "{summary}");

    let export = dir.path().join("positions");
    ok(tacticeye(&data).args(["export", "dfl", "--format", "csv", "--out"]).arg(&export));
    let positions = std::fs::read_to_string(export.join("positions.csv")).unwrap();
    assert!(positions.lines().count() > 100, "the detector's boxes should become tracks");
}

#[test]
fn a_model_without_class_names_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("bad.onnx");
    std::fs::write(&model, b"not a model").unwrap();
    let Some(clip) = shared_data("clips/dfl-bundesliga-08fd33_4-848x478.mp4") else { return };
    let out = tacticeye(&dir.path().join("data"))
        .arg("analyze")
        .arg(&clip)
        .args(["--detector"])
        .arg(&model)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a usable ONNX model"), "{err}");
}
