//! Bad input gets a clear message and a non-zero exit, and never costs committed work.

use std::path::{Path, PathBuf};
use std::process::Output;

use tacticeye_tests::{kill_at_fault, ok, snapshot, stderr, summary, synthetic_clip, tacticeye};

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
fn a_detector_model_that_is_not_there_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let video = synthetic_clip(30, 5, 480, 270);
    let out =
        tacticeye(dir.path()).arg("analyze").arg(&video).args(["--detector", "nowhere/model.onnx"]).output().unwrap();
    fails_with(&out, &["cannot read model", "nowhere/model.onnx"]);
    assert!(!dir.path().join("matches").exists(), "nothing is written");
}

/// Runs half a match (killed after segment 4), then returns the committed files' bytes.
fn half_done(data: &Path, video: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut analyze = tacticeye(data);
    analyze.arg("analyze").arg(video).args(["--match-id", "m", "--segment-seconds", "2", "--detector", "truth"]);
    kill_at_fault(&mut analyze, "after-commit:4");
    snapshot(data)
}

#[test]
fn unreadable_foreign_or_mismatched_checkpoints_are_refused_and_lose_nothing() {
    let video = synthetic_clip(30, 5, 480, 270);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let before = half_done(&data, &video);

    // Other settings or another model than the checkpoint's: refused, pointing at --restart.
    fails_with(&analyze(&data, &video, "3", &[]), &["started with 2 s segments, not 3 s", "--restart"]);
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
    fails_with(
        &tacticeye(dir.path()).args(["summary", "ghost"]).output().unwrap(),
        &["no analysis of match ghost", "hint: analyse it first"],
    );
}

/// One raw HTTP/1.1 request on a fresh connection; returns the status code.
fn status_of(port: u16, request: &str) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).unwrap();
    String::from_utf8_lossy(&head[9..12]).parse().unwrap()
}

#[test]
fn the_local_server_wants_the_token_on_every_route_and_closes_connections_that_never_finish_a_request() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let port = tacticeye_tests::servers::free_port();
    let mut server = tacticeye(&dir.path().join("data"))
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--token", "T0ken", "--header-timeout", "1"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    tacticeye_tests::servers::wait_for_port(port);
    let get = |auth: &str| format!("GET /matches HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}\r\n");
    assert_eq!(status_of(port, &get("")), 401);
    assert_eq!(status_of(port, &get("Authorization: Bearer wrong\r\n")), 401);
    assert_eq!(status_of(port, &get("Authorization: Bearer T0ken\r\n")), 200);
    // The token before the body: a malformed body without it is refused as unauthorised.
    let post = "POST /matches HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\n{x}";
    assert_eq!(status_of(port, post), 401);

    // 800 clients that start a request and never finish its headers.
    let mut idle: Vec<_> = (0..800)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.write_all(b"GET /matches HTTP/1.1\r\nHost: x\r\n").unwrap();
            s
        })
        .collect();
    let start = Instant::now();
    let mut closed = 0;
    for s in &mut idle {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 256];
        // The server either closes at once (EOF) or answers 408 and closes.
        match s.read(&mut buf) {
            Ok(_) => closed += 1,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => closed += 1,
            Err(e) => panic!("a half-open connection was held open: {e}"),
        }
    }
    eprintln!("800 half-open connections closed by the server within {:.1} s", start.elapsed().as_secs_f64());
    assert_eq!(closed, 800);
    // And the server still answers.
    assert_eq!(status_of(port, &get("Authorization: Bearer T0ken\r\n")), 200);
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn two_runs_with_other_settings_at_once_leave_the_match_to_the_first() {
    let video = synthetic_clip(20, 9, 320, 180);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (two, three) = std::thread::scope(|s| {
        let two = s.spawn(|| analyze(&data, &video, "2", &[]));
        let three = s.spawn(|| analyze(&data, &video, "3", &[]));
        (two.join().unwrap(), three.join().unwrap())
    });
    // One run fixed the match's settings; the other was refused before it wrote anything.
    let (won, lost, seconds) = if two.status.success() { (&two, &three, 2.0) } else { (&three, &two, 3.0) };
    assert!(won.status.success(), "one run must win: {}\n{}", stderr(&two), stderr(&three));
    fails_with(lost, &["started with", "--restart"]);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("matches/m/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["segment_seconds"], seconds);
    let s = summary(&data, "m");
    assert_eq!(s["status"], "complete");
    assert_eq!(s["segments_done"], s["segments_total"]);
    // The winner's settings go on from it: nothing to do.
    let again = analyze(&data, &video, if seconds == 2.0 { "2" } else { "3" }, &[]);
    assert!(again.status.success(), "{}", stderr(&again));
}

#[test]
fn json_and_csv_exports_refuse_a_foreign_folder_and_replace_only_their_own_files() {
    let video = synthetic_clip(6, 3, 640, 360);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(analyze(&data, &video, "3", &[]).status.success());
    let export = |format: &str, out: &Path| {
        let mut command = tacticeye(&data);
        command.args(["export", "m", "--format", format, "--out"]).arg(out);
        command
    };

    let foreign = dir.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    let before = snapshot(dir.path());
    fails_with(&export("csv", &foreign).output().unwrap(), &["foreign", "notes.txt", "not one of this export's files"]);
    fails_with(&export("json", &foreign).output().unwrap(), &["foreign", "is a folder"]);
    assert_eq!(snapshot(dir.path()), before, "nothing written, nothing left beside");

    // Our own exports are replaced whole, again and again, with nothing left beside them.
    let (csv, json) = (dir.path().join("csv"), dir.path().join("m.json"));
    for _ in 0..2 {
        ok(&mut export("csv", &csv));
        ok(&mut export("json", &json));
    }
    let mut names: Vec<_> = std::fs::read_dir(&csv).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names, ["events.csv", "positions.csv", "summary.json"]);
    let frames = serde_json::from_slice::<serde_json::Value>(&std::fs::read(&json).unwrap()).unwrap()["frames"]
        .as_array()
        .map(Vec::len);
    assert_eq!(frames, Some(150));
    // Readable as a file written in place is (a temporary file is made for its owner only).
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let probe = tempfile::tempdir().unwrap();
    std::fs::write(probe.path().join("in-place"), "").unwrap();
    let in_place = mode(&probe.path().join("in-place"));
    assert_eq!((mode(&json), mode(&csv.join("positions.csv"))), (in_place, in_place));
    let mut beside: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    beside.sort();
    assert_eq!(beside, ["csv", "data", "foreign", "m.json"]);
}
