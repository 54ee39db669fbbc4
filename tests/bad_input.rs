//! Bad input gets a clear message and a non-zero exit, and never costs committed work.

use std::path::Path;
use std::process::Output;

use tacticeye_tests::{kill_at_fault, ok, stderr, synthetic_clip, tacticeye};

/// `analyze` with the truth detector in `seconds`-long segments, plus `extra` options.
fn analyze(data: &Path, video: &Path, seconds: &str, extra: &[&str]) -> Output {
    tacticeye(data)
        .arg("analyze")
        .arg(video)
        .args(["--match-id", "m", "--segment-seconds", seconds, "--detector", "truth", "--truth"])
        .arg(video.with_extension("truth.json"))
        .args(extra)
        .output()
        .unwrap()
}

fn fails_with(out: &Output, words: &[&str]) {
    assert!(!out.status.success(), "expected a failure");
    let err = stderr(out);
    assert!(err.starts_with("error: "), "{err}");
    for w in words {
        assert!(err.contains(w), "{err:?} does not say {w:?}");
    }
}

#[test]
fn missing_non_video_and_truncated_files_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    fails_with(&analyze(&data, &dir.path().join("nope.mp4"), "2", &[]), &["not found", "nope.mp4"]);

    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "this is not a video").unwrap();
    fails_with(&analyze(&data, &text, "2", &[]), &["not a readable video"]);

    let clip = std::fs::read(synthetic_clip(30, 5, 480, 270)).unwrap();
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &clip[..clip.len() / 2]).unwrap();
    fails_with(&analyze(&data, &cut, "2", &[]), &["damaged or truncated"]);
    assert!(!data.join("matches/m/checkpoint.json").exists(), "nothing should have been committed");
}

#[test]
fn real_video_without_a_detector_says_what_to_pass() {
    let dir = tempfile::tempdir().unwrap();
    let video = synthetic_clip(30, 5, 480, 270);
    let out = tacticeye(dir.path()).arg("analyze").arg(&video).output().unwrap();
    fails_with(&out, &["--detector"]);
}

/// Runs half a match (killed after segment 4), then returns the committed files' bytes.
fn half_done(data: &Path, video: &Path) -> Vec<(String, Vec<u8>)> {
    let mut analyze = tacticeye(data);
    analyze.arg("analyze").arg(video).args(["--match-id", "m", "--segment-seconds", "2", "--detector", "truth"]);
    kill_at_fault(&mut analyze, "after-commit:4");
    snapshot(data)
}

fn snapshot(data: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for dir in ["matches/m", "matches/m/outputs"] {
        for e in std::fs::read_dir(data.join(dir)).unwrap().flatten() {
            if e.path().is_file() {
                files.push((e.path().display().to_string(), std::fs::read(e.path()).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn unreadable_foreign_or_mismatched_checkpoints_are_refused_and_lose_nothing() {
    let video = synthetic_clip(30, 5, 480, 270);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let before = half_done(&data, &video);

    // Other settings or another model than the checkpoint's: refused, pointing at --restart.
    fails_with(&analyze(&data, &video, "3", &[]), &["different configuration", "--restart"]);
    fails_with(&analyze(&data, &video, "2", &["--noise", "miss=0.2"]), &["different detector", "--restart"]);
    // Another video under the same match id.
    let other = synthetic_clip(30, 6, 480, 270);
    fails_with(&analyze(&data, &other, "2", &[]), &["another video", "--restart"]);
    assert_eq!(snapshot(&data), before, "a refused run changed committed files");

    // A garbled checkpoint and one from another match.
    let checkpoint = data.join("matches/m/checkpoint.json");
    let good = std::fs::read(&checkpoint).unwrap();
    std::fs::write(&checkpoint, &good[..good.len() / 2]).unwrap();
    fails_with(&analyze(&data, &video, "2", &[]), &["unreadable", "--restart"]);
    let foreign = String::from_utf8(good.clone()).unwrap().replacen("\"match_id\":\"m\"", "\"match_id\":\"x\"", 1);
    std::fs::write(&checkpoint, foreign).unwrap();
    fails_with(&analyze(&data, &video, "2", &[]), &["belongs to match x", "--restart"]);

    // Put back, the match resumes and completes.
    std::fs::write(&checkpoint, &good).unwrap();
    assert_eq!(snapshot(&data), before);
    ok(tacticeye(&data).arg("analyze").arg(&video).args([
        "--match-id",
        "m",
        "--segment-seconds",
        "2",
        "--detector",
        "truth",
    ]));
    let summary = ok(tacticeye(&data).args(["summary", "m", "--json"]));
    assert!(String::from_utf8_lossy(&summary.stdout).contains("\"complete\""));
}

#[test]
fn malformed_match_ids_and_segment_lengths_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let video = synthetic_clip(30, 5, 480, 270);
    let out = tacticeye(dir.path())
        .arg("analyze")
        .arg(&video)
        .args(["--match-id", "../escape", "--detector", "truth"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("invalid match id"), "{}", stderr(&out));
    fails_with(&analyze(dir.path(), &video, "7", &[]), &["2 to 5 seconds"]);
    fails_with(&tacticeye(dir.path()).args(["summary", "ghost"]).output().unwrap(), &["no analysis of match ghost"]);
}
