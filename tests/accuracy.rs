//! Analysis quality on synthetic matches with the noisy ground-truth detector: teams, passes, identities.

use std::path::Path;
use std::process::Command;

use tacticeye_tests::{ok, python, stdout, synthetic_clip, tacticeye};

/// py-motmetrics' identity switches for an analysed match, the field's judge of ours.
fn motmetrics_switches(truth: &Path, data: &Path) -> u64 {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("mot_switches.py");
    let out = ok(Command::new(python()).arg(script).arg(truth).arg(data.join("matches/m")));
    let judged: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    judged["num_switches"].as_f64().unwrap() as u64
}

#[test]
fn teams_passes_and_identity_switches_match_the_truth_of_synthetic_matches() {
    let (mut team_right, mut team_total) = (0.0, 0.0);
    let (mut matched, mut found, mut truth) = (0usize, 0usize, 0usize);
    for seed in [3, 11] {
        let video = synthetic_clip(40, seed, 960, 540);
        let data = tempfile::tempdir().unwrap();
        ok(tacticeye(data.path()).arg("analyze").arg(&video).args(["--match-id", "m", "--detector", "truth"]));
        let truth_file = video.with_extension("truth.json");
        let out = ok(tacticeye(data.path()).args(["evaluate", "m", "--json", "--truth"]).arg(&truth_file));
        let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        eprintln!("seed {seed}: {report}");
        let frames = report["frames"].as_f64().unwrap();
        assert_eq!(frames, 1000.0);
        team_right += report["team_accuracy"].as_f64().unwrap() * frames;
        team_total += frames;
        matched += report["passes"]["matched"].as_u64().unwrap() as usize;
        found += report["passes"]["found"].as_u64().unwrap() as usize;
        truth += report["passes"]["truth"].as_u64().unwrap() as usize;
        assert!(report["people_recall"].as_f64().unwrap() >= 0.85, "people recall: {report}");
        let switches = report["id_switches"].as_u64().unwrap();
        assert!(switches > 0, "uncalibrated, some identities switch: the comparison below must mean something");
        assert_eq!(
            switches,
            motmetrics_switches(&truth_file, data.path()),
            "identity switches as py-motmetrics counts them"
        );
    }
    let team_accuracy = team_right / team_total;
    let (precision, recall) = (matched as f64 / found as f64, matched as f64 / truth as f64);
    eprintln!(
        "team accuracy {team_accuracy:.3}; passes precision {precision:.3} recall {recall:.3} ({matched}/{found}/{truth})"
    );
    assert!(truth >= 15, "the synthetic matches should hold enough passes to measure ({truth})");
    assert!(team_accuracy >= 0.97, "team accuracy {team_accuracy}");
    assert!(precision >= 0.9 && recall >= 0.9, "pass precision {precision}, recall {recall}");
}
