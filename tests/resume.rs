//! The headline promise: an analysis killed at any point and rerun gives exactly the results of an
//! uninterrupted run. Real processes, real SIGKILL.

use std::path::{Path, PathBuf};
use std::process::Command;

use tacticeye_tests::{kill_at_fault, ok, summary, synthetic_clip, tacticeye};

const SEGMENTS: u64 = 15; // 30 s in 2 s segments

fn analyze(data: &Path, video: &Path) -> Command {
    let mut cmd = tacticeye(data);
    cmd.arg("analyze").arg(video).args(["--match-id", "m", "--segment-seconds", "2", "--detector", "truth"]);
    cmd
}

fn export(data: &Path) -> Vec<u8> {
    let out = data.join("export.json");
    ok(tacticeye(data).args(["export", "m", "--format", "json", "--out"]).arg(&out));
    std::fs::read(out).unwrap()
}

fn kill_at(data: &Path, video: &Path, fault: &str) {
    kill_at_fault(&mut analyze(data, video), fault);
}

/// The clip and the export of its uninterrupted analysis.
fn uninterrupted() -> (PathBuf, Vec<u8>) {
    let video = synthetic_clip(30, 5, 480, 270);
    let base = tempfile::tempdir().unwrap();
    ok(&mut analyze(base.path(), &video));
    let s = summary(base.path(), "m");
    assert_eq!((s["segments_done"].as_u64(), s["status"].as_str()), (Some(SEGMENTS), Some("complete")));
    (video, export(base.path()))
}

#[test]
fn a_killed_analysis_resumes_to_exactly_the_uninterrupted_result() {
    let (video, expected) = uninterrupted();

    // After the first, a middle and the last segment's commit, and between a segment's output and its
    // checkpoint (the window where a crash could double or lose a segment if the commit were wrong).
    for fault in ["after-commit:0", "after-commit:7", &format!("after-commit:{}", SEGMENTS - 1), "before-checkpoint:3"]
    {
        let dir = tempfile::tempdir().unwrap();
        kill_at(dir.path(), &video, fault);
        assert_eq!(summary(dir.path(), "m")["status"], "running", "{fault}");
        ok(&mut analyze(dir.path(), &video));
        assert!(export(dir.path()) == expected, "export after a kill at {fault} differs from the uninterrupted run");
    }
}

#[test]
fn a_second_kill_after_a_resume_still_gives_the_same_result() {
    let (video, expected) = uninterrupted();
    let dir = tempfile::tempdir().unwrap();
    kill_at(dir.path(), &video, "after-commit:2");
    kill_at(dir.path(), &video, "before-checkpoint:9");
    ok(&mut analyze(dir.path(), &video));
    assert!(export(dir.path()) == expected);
}
