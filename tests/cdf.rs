//! `tacticeye export --format cdf`: every file passes the Common Data Format's own validator (a warning
//! counts as a rejection) and loads with pandas; bad requests are refused with nothing written.

use std::path::Path;
use std::process::Command;

use tacticeye_tests::{calibrated_synthetic_match, cdf_python, ok, shared_data, snapshot, stderr, stdout, tacticeye};

/// The validator's verdict and what pandas read, or the test fails with the validator's words.
fn validated(folder: &Path) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("validate_cdf.py");
    let out = Command::new(cdf_python()).arg(script).arg(folder).output().expect("the CDF venv (`make pytools`)");
    assert!(out.status.success(), "the CDF validator rejected {}:\n{}", folder.display(), stderr(&out));
    eprintln!("{}", stderr(&out).trim());
    // The validator says its own verdict on stdout; ours is the last line.
    serde_json::from_str(stdout(&out).lines().last().unwrap_or_default()).unwrap()
}

fn export(data: &Path, id: &str, out: &Path) -> std::process::Output {
    tacticeye(data).args(["export", id, "--format", "cdf", "--out"]).arg(out).output().unwrap()
}

#[test]
fn a_calibrated_synthetic_match_exports_cdf_that_the_validator_accepts_and_pandas_loads() {
    let (dir, data, clip) = calibrated_synthetic_match(20, 71);
    let out = dir.path().join("cdf");
    let written = export(&data, "m", &out);
    assert!(written.status.success(), "{}", stderr(&written));
    let read = validated(&out);
    eprintln!("pandas read {read}");
    assert_eq!(read["frames"], 500, "a tracking line per frame");
    assert!(read["home_players_per_frame"].as_f64().unwrap() > 1.0, "players in view: {read}");
    assert!(read["max_abs_x"].as_f64().unwrap() <= 52.5 + 5.0, "centre-origin metres: {read}");
    let summary: serde_json::Value =
        serde_json::from_str(&stdout(&ok(tacticeye(&data).args(["summary", "m", "--json"])))).unwrap();
    let passes = summary["passes"]["team_0"].as_u64().unwrap() + summary["passes"]["team_1"].as_u64().unwrap();
    assert!(read["events"]["pass"].as_u64().unwrap_or(0) <= passes && passes > 0, "{read} vs {passes} passes");
    // Again over its own export: replaced whole.
    assert!(export(&data, "m", &out).status.success());

    // Refused, with nothing written: a folder of someone else's, a match without a calibration.
    let foreign = dir.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    let before = snapshot(&foreign);
    let refused = export(&data, "m", &foreign);
    assert!(
        !refused.status.success() && stderr(&refused).contains("not one of this export's files"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(snapshot(&foreign), before);
    ok(tacticeye(&data).arg("analyze").arg(&clip).args(["--match-id", "flat", "--detector", "truth"]));
    let refused = export(&data, "flat", &dir.path().join("flat"));
    assert!(!refused.status.success() && stderr(&refused).contains("calibrat"), "{}", stderr(&refused));
    assert!(!dir.path().join("flat").exists());
    let unknown = tacticeye(&data).args(["export", "m", "--format", "xml", "--out", "x"]).output().unwrap();
    assert!(!unknown.status.success() && stderr(&unknown).contains("invalid value 'xml'"), "{}", stderr(&unknown));
}

#[test]
fn the_dfl_broadcast_clip_exports_cdf_that_the_validator_accepts() {
    let Some(clip) = shared_data("clips/dfl-bundesliga-08fd33_4-848x478.mp4") else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ok(tacticeye(&data).arg("analyze").arg(&clip).args(["--match-id", "dfl", "--calibration", "auto"]));
    let out = dir.path().join("cdf");
    ok(tacticeye(&data).args(["export", "dfl", "--format", "cdf", "--out"]).arg(&out));
    let read = validated(&out);
    eprintln!("DFL clip as CDF: {read}");
    assert_eq!(read["frames"], 169);
}
