//! `tacticeye evaluate --events`: our passes scored against labelled events in Metrica Sports' CSV and in
//! CDF, the way a real match's human-labelled data would judge them.

use std::fmt::Write;
use std::path::Path;

use tacticeye_tests::{calibrated_synthetic_match, ok, stderr, stdout, tacticeye};

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

/// The truth's events as Metrica would publish them: completed passes are PASS, the rest BALL LOST, home
/// and away named, on a clock that read `offset` seconds at the video's first frame.
fn metrica_csv(truth: &serde_json::Value, offset: f64) -> String {
    let fps = truth["fps"].as_f64().unwrap();
    let mut csv = String::from(
        "Team,Type,Subtype,Period,Start Frame,Start Time [s],End Frame,End Time [s],From,To,Start X,Start Y,End X,End Y\n",
    );
    for e in truth["events"].as_array().unwrap() {
        let kind = if e["kind"] == "pass" { "PASS" } else { "BALL LOST" };
        let team = if e["team"] == 0 { "Home" } else { "Away" };
        let (start, end) = (e["start_frame"].as_f64().unwrap(), e["end_frame"].as_f64().unwrap());
        let shift = (offset * fps).round();
        writeln!(
            csv,
            "{team},{kind},,1,{},{:.2},{},{:.2},Player1,Player2,NaN,NaN,NaN,NaN",
            start + shift,
            start / fps + offset,
            end + shift,
            end / fps + offset
        )
        .unwrap();
    }
    csv
}

#[test]
fn labelled_passes_in_metrica_or_cdf_judge_our_passes_as_the_truth_does() {
    let (dir, data, clip) = calibrated_synthetic_match(20, 71);
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(clip.with_extension("truth.json")).unwrap()).unwrap();
    let by_truth =
        json(&ok(tacticeye(&data).args(["evaluate", "m", "--json", "--truth"]).arg(clip.with_extension("truth.json"))));
    assert!(by_truth["passes"]["truth"].as_u64().unwrap() > 0, "the clip has passes: {by_truth}");

    // Metrica's clock started 37.2 s before our video: only the offset aligns them.
    let csv = dir.path().join("Sample_Game_RawEventsData.csv");
    std::fs::write(&csv, metrica_csv(&truth, 37.2)).unwrap();
    let evaluate = |events: &Path, format: &str, offset: &str| {
        let mut cmd = tacticeye(&data);
        // The truth's tolerance is half a second in frames: 13 at 25 fps.
        cmd.args(["evaluate", "m", "--json", "--format", format, "--offset", offset, "--tolerance", "0.53"]);
        cmd.arg("--events").arg(events);
        json(&ok(&mut cmd))
    };
    // The truth's score, less how its misses arose (which only the truth can tell).
    let mut truth_passes = by_truth["passes"].clone();
    truth_passes.as_object_mut().unwrap().remove("missed");
    let by_metrica = evaluate(&csv, "metrica", "37.2");
    assert_eq!(by_metrica["passes"], truth_passes, "Metrica's passes score as the truth's");
    let teams = by_metrica["teams"].to_string();
    assert!(teams.contains("Home") && teams.contains("Away"), "{teams}");
    assert!(by_metrica["median_time_error_s"].as_f64().unwrap() <= 0.5);
    // Not told the offset, it finds it from the passes alone.
    let found = evaluate(&csv, "metrica", "auto");
    assert!((found["offset_s"].as_f64().unwrap() - 37.2).abs() <= 0.12, "offset found: {found}");
    // Scored at the offset found, ours match as at the true one. The offset is found to a frame or two: a
    // pass received on the video's last frame (this clip has one) may fall just outside the span then.
    let count = |v: &serde_json::Value, key: &str| v["passes"][key].as_u64().unwrap();
    for key in ["found", "matched"] {
        assert_eq!(count(&found, key), truth_passes[key].as_u64().unwrap(), "{key} at the offset found: {found}");
    }
    assert!(truth_passes["truth"].as_u64().unwrap().abs_diff(count(&found, "truth")) <= 1, "{found}");
    let misaligned = evaluate(&csv, "metrica", "30");
    assert!(
        misaligned["passes"]["matched"].as_u64() < by_truth["passes"]["matched"].as_u64(),
        "a wrong offset must cost matches: {misaligned}"
    );

    // Labels of the first half only: our passes in the second half are neither right nor wrong.
    let mut first_half = truth.clone();
    let half = truth["frames"].as_array().unwrap().len() as u64 / 2;
    first_half["events"].as_array_mut().unwrap().retain(|e| e["end_frame"].as_u64().unwrap() < half);
    let half_csv = dir.path().join("first-half.csv");
    std::fs::write(&half_csv, metrica_csv(&first_half, 37.2)).unwrap();
    let by_half = evaluate(&half_csv, "metrica", "37.2");
    let found_in = |v: &serde_json::Value| v["passes"]["found"].as_u64().unwrap();
    assert!(found_in(&by_half) < found_in(&by_metrica), "{by_half}");
    let precision = |v: &serde_json::Value| v["passes"]["precision"].as_f64().unwrap();
    assert!(precision(&by_half) >= precision(&by_metrica), "{by_half}");

    // Our own CDF export, read back as a reference: every pass it holds is one of ours.
    let cdf = dir.path().join("cdf");
    ok(tacticeye(&data).args(["export", "m", "--format", "cdf", "--out"]).arg(&cdf));
    let by_cdf = evaluate(&cdf, "cdf", "0");
    assert_eq!(by_cdf["passes"]["recall"], 1.0, "{by_cdf}");
    assert_eq!(by_cdf["passes"]["matched"], by_cdf["passes"]["truth"]);
    assert!(by_cdf["passes"]["truth"].as_u64().unwrap() > 0);

    // Bad input: a format not named, a file that is not Metrica's.
    let unnamed = tacticeye(&data).args(["evaluate", "m", "--events"]).arg(&csv).output().unwrap();
    assert!(!unnamed.status.success() && stderr(&unnamed).contains("--format"), "{}", stderr(&unnamed));
    let wrong = dir.path().join("wrong.csv");
    std::fs::write(&wrong, "Team,Type,Start Time [s],End Time [s]\nHome,PASS,soon,later\n").unwrap();
    let refused =
        tacticeye(&data).args(["evaluate", "m", "--format", "metrica", "--events"]).arg(&wrong).output().unwrap();
    assert!(!refused.status.success() && stderr(&refused).contains("row 2"), "{}", stderr(&refused));
}
