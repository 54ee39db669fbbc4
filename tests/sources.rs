//! URL sources, end to end against real servers on loopback: HLS (VOD and live) and an mp4 over
//! Python's http.server, RTMP from ffmpeg in listen mode, and a web page through yt-dlp. Each is
//! compared with the analysis of the same clip as a file.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use tacticeye_tests::servers::{HttpServer, Producer, free_port, hls_vod};
use tacticeye_tests::{kill_at_fault, ok, python, snapshot, stderr, summary, synthetic_clip, tacticeye};

fn clip() -> PathBuf {
    synthetic_clip(30, 5, 480, 270)
}

fn analyze(data: &Path, source: &str, extra: &[&str]) -> Command {
    let mut cmd = tacticeye(data);
    cmd.args(["analyze", source, "--match-id", "m", "--segment-seconds", "2", "--detector", "truth", "--truth"])
        .arg(clip().with_extension("truth.json"))
        .args(["--io-timeout", "3"])
        .args(extra)
        .env("TACTICEYE_YTDLP", python().with_file_name("yt-dlp"));
    cmd
}

fn export(data: &Path) -> serde_json::Value {
    let out = data.join("export.json");
    ok(tacticeye(data).args(["export", "m", "--out"]).arg(&out));
    serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap()
}

/// The clip analysed as a file, once per test binary.
fn file_export() -> &'static serde_json::Value {
    static EXPORT: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    EXPORT.get_or_init(|| {
        let data = tempfile::tempdir().unwrap();
        ok(&mut analyze(data.path(), clip().to_str().unwrap(), &[]));
        export(data.path())
    })
}

fn assert_same_results(data: &Path) {
    let (got, want) = (export(data), file_export());
    assert_eq!(got["frames"].as_array().unwrap().len(), 750);
    assert!(got["frames"] == want["frames"], "positions differ from the file analysis");
    assert_eq!(got["events"], want["events"]);
}

fn serve_vod() -> (tempfile::TempDir, HttpServer) {
    let www = tempfile::tempdir().unwrap();
    hls_vod(&clip(), www.path());
    std::fs::copy(clip(), www.path().join("match.mp4")).unwrap();
    let server = HttpServer::start(www.path());
    (www, server)
}

#[test]
fn hls_vod_and_an_mp4_over_http_give_the_results_of_the_file() {
    let (_www, server) = serve_vod();
    for path in ["vod.m3u8", "match.mp4"] {
        let data = tempfile::tempdir().unwrap();
        ok(&mut analyze(data.path(), &server.url(path), &[]));
        assert_same_results(data.path());
        assert_eq!(summary(data.path(), "m")["status"], "complete");
    }
}

#[test]
fn an_interrupted_hls_vod_resumes_at_its_last_segment_with_equal_results() {
    let (_www, server) = serve_vod();
    let url = server.url("vod.m3u8");
    for fault in ["segmented:5", "after-commit:8"] {
        let data = tempfile::tempdir().unwrap();
        kill_at_fault(&mut analyze(data.path(), &url, &[]), fault);
        ok(&mut analyze(data.path(), &url, &[]));
        assert_same_results(data.path());
    }
}

#[test]
fn a_web_page_resolves_through_yt_dlp_generic_extractor() {
    let www = tempfile::tempdir().unwrap();
    std::fs::copy(clip(), www.path().join("match.mp4")).unwrap();
    let page = r#"<!doctype html><html><head><title>Cup final</title></head>
        <body><video controls><source src="match.mp4" type="video/mp4"></video></body></html>"#;
    std::fs::write(www.path().join("final.html"), page).unwrap();
    std::fs::write(www.path().join("empty.html"), "<html><body>no video here</body></html>").unwrap();
    let server = HttpServer::start(www.path());
    let data = tempfile::tempdir().unwrap();
    ok(&mut analyze(data.path(), &server.url("final.html"), &["--source-type", "web"]));
    assert_same_results(data.path());

    let empty = tempfile::tempdir().unwrap();
    let out = analyze(empty.path(), &server.url("empty.html"), &["--source-type", "web"]).output().unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("yt-dlp found no video"), "{}", stderr(&out));
}

fn failing(cmd: &mut Command) -> String {
    let out: Output = cmd.output().unwrap();
    assert!(!out.status.success(), "{cmd:?} succeeded");
    stderr(&out)
}

#[test]
fn bad_urls_fail_clearly_and_lose_nothing_committed() {
    let (_www, mut server) = serve_vod();
    let data = tempfile::tempdir().unwrap();
    let closed = format!("http://127.0.0.1:{}/vod.m3u8", free_port());
    let err = failing(&mut analyze(data.path(), &closed, &["--reconnect-seconds", "2"]));
    assert!(err.contains("cannot read") && err.contains("Connection refused"), "{err}");
    let err = failing(&mut analyze(data.path(), &server.url("missing.m3u8"), &[]));
    assert!(err.contains("404"), "{err}");
    let err = failing(&mut analyze(data.path(), "ftp://127.0.0.1/match.mp4", &[]));
    assert!(err.contains("ftp:// is not a supported protocol"), "{err}");
    let err = failing(&mut analyze(data.path(), "rtmp://127.0.0.1:1/live/x", &["--reconnect-seconds", "2"]));
    assert!(err.contains("cannot read rtmp://127.0.0.1:1/live/x"), "{err}");

    // A match half done, then its host goes away: a clear error, and every committed byte stays.
    let url = server.url("vod.m3u8");
    kill_at_fault(&mut analyze(data.path(), &url, &[]), "segmented:6");
    let before = snapshot(data.path());
    server.stop();
    let err = failing(&mut analyze(data.path(), &url, &["--reconnect-seconds", "2"]));
    assert!(err.contains("Connection refused") && err.contains("run again to resume"), "{err}");
    // The segments already cut were analysed meanwhile: the checkpoint moved on and their videos were
    // deleted once analysed; nothing else changed.
    let after = snapshot(data.path());
    let done = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).unwrap()["next_segment"].as_u64().unwrap();
    // Segments done by a snapshot's checkpoint; none yet where the kill came before the first commit.
    let checkpoint = |s: &[(std::path::PathBuf, Vec<u8>)]| {
        s.iter().find(|(p, _)| p.ends_with("checkpoint.json")).map_or(0, |(_, b)| done(b))
    };
    let analysed = checkpoint(&after);
    assert!(analysed >= checkpoint(&before));
    for (path, bytes) in &before {
        let now = after.iter().find(|(p, _)| p == path).map(|(_, b)| b);
        let segment = path.parent().is_some_and(|d| d.ends_with("segments"));
        let index = || path.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse::<u64>().ok()).unwrap();
        let moved_on = path.ends_with("checkpoint.json") || (segment && now.is_none() && index() < analysed);
        assert!(moved_on || now == Some(bytes), "the failed run changed or removed {}", path.display());
    }
    server.restart();
    ok(&mut analyze(data.path(), &url, &[]));
    assert_same_results(data.path());
}

fn spawn(cmd: &mut Command) -> Child {
    cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap()
}

fn finish(child: Child, within: Duration) -> Output {
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < within, "took {:?}", started.elapsed());
    assert!(out.status.success(), "analysis failed:\n{}", stderr(&out));
    out
}

/// Frames before the first break must be exactly the file analysis's: same content, same numbering.
fn assert_prefix_matches_file(data: &Path, upto_frame: u64) {
    let got = export(data);
    let want = file_export();
    let frames: Vec<_> =
        got["frames"].as_array().unwrap().iter().filter(|f| f["frame"].as_u64().unwrap() < upto_frame).collect();
    assert!(frames.len() as u64 >= upto_frame.min(100), "only {} frames before the break", frames.len());
    for f in frames {
        let i = f["frame"].as_u64().unwrap() as usize;
        assert_eq!(f, &want["frames"][i], "frame {i} differs from the file analysis");
    }
}

fn events_of(data: &Path, kind: &str) -> Vec<serde_json::Value> {
    export(data)["events"].as_array().unwrap().iter().filter(|e| e["kind"] == kind).cloned().collect()
}

#[test]
fn a_live_hls_stream_is_followed_to_its_end_through_a_dropped_connection() {
    let www = tempfile::tempdir().unwrap();
    let mut server = HttpServer::start(www.path());
    // A window of 2 segments (4 s) and 8 s offline: some of the stream is lost for good.
    let _producer = Producer::live_hls(&clip(), www.path(), 1.0, 2);
    let data = tempfile::tempdir().unwrap();
    let child = spawn(&mut analyze(data.path(), &server.url("live.m3u8"), &["--reconnect-seconds", "20"]));
    std::thread::sleep(Duration::from_secs(8));
    server.stop();
    std::thread::sleep(Duration::from_secs(8));
    server.restart();
    finish(child, Duration::from_secs(90));

    let s = summary(data.path(), "m");
    assert_eq!(s["status"], "complete");
    let live = &s["live"];
    let gaps = events_of(data.path(), "source_gap");
    assert_eq!(live["gaps"].as_u64().unwrap(), gaps.len() as u64);
    assert!(!gaps.is_empty(), "the dropped connection left no gap: {s}");
    let first_gap = gaps[0]["frame"].as_u64().unwrap();
    assert_prefix_matches_file(data.path(), first_gap);
    // Analysed on after the break, to the end of the stream.
    let last = export(data.path())["frames"].as_array().unwrap().last().unwrap()["frame"].as_u64().unwrap();
    assert!(last > first_gap + 100, "stopped at frame {last}, gap at {first_gap}");
    eprintln!("live HLS: {}", serde_json::to_string(live).unwrap());
}

#[test]
fn an_rtmp_stream_is_followed_and_a_restarted_publisher_is_picked_up_after_a_gap() {
    let port = free_port();
    let url = format!("rtmp://127.0.0.1:{port}/live/match");
    let mut first = Producer::rtmp(&clip(), port, 0.0, 10.0);
    std::thread::sleep(Duration::from_millis(500));
    let data = tempfile::tempdir().unwrap();
    let child = spawn(&mut analyze(data.path(), &url, &["--reconnect-seconds", "8"]));
    first.wait();
    std::thread::sleep(Duration::from_secs(2));
    let _second = Producer::rtmp(&clip(), port, 14.0, 10.0);
    finish(child, Duration::from_secs(90));

    let s = summary(data.path(), "m");
    assert_eq!(s["status"], "complete");
    let gaps = events_of(data.path(), "source_gap");
    assert_eq!(gaps.len(), 1, "{s}");
    let seconds = gaps[0]["seconds"].as_f64().unwrap();
    // The publisher was away 2 s; the reconnection after it is at most one backoff step (2 s) later.
    assert!((1.5..8.0).contains(&seconds), "gap of {seconds} s");
    assert!(gaps[0]["frame"].as_u64().unwrap() >= 250, "{gaps:?}");
    // The first publisher sent 10 s, but its `-t 10` cut leaves out a B-frame near the end, so the
    // stream's last frames are not the file's: compare its first 9 s.
    assert_prefix_matches_file(data.path(), 9 * 25);
    let analysed = s["frames_done"].as_u64().unwrap() as f64 / 25.0;
    assert!(analysed > 18.0, "{analysed} s analysed of 20 s published: {s}");
    eprintln!("rtmp: {}", serde_json::to_string(&s["live"]).unwrap());
}

/// Frames arrive 16 times faster than real time, faster than this machine analyses them: with a bound,
/// segments are dropped and the lag at commit stays near it; without, it grows. (At 32 times the whole
/// stream could end before a loaded machine had started the analysis, which then read it as a VOD.)
#[test]
fn a_live_stream_that_outruns_the_analysis_keeps_a_bounded_lag_by_dropping_segments() {
    let video = synthetic_clip(40, 3, 960, 540);
    let truth = video.with_extension("truth.json");
    let run = |max_lag: &str| {
        let www = tempfile::tempdir().unwrap();
        let server = HttpServer::start(www.path());
        let _producer = Producer::live_hls(&video, www.path(), 16.0, 30);
        let data = tempfile::tempdir().unwrap();
        let mut cmd = tacticeye(data.path());
        cmd.args([
            "analyze",
            &server.url("live.m3u8"),
            "--match-id",
            "m",
            "--segment-seconds",
            "2",
            "--detector",
            "truth",
            "--truth",
        ])
        .arg(&truth)
        .args(["--max-lag", max_lag, "--io-timeout", "3", "--reconnect-seconds", "5"]);
        finish(spawn(&mut cmd), Duration::from_secs(120));
        let s = summary(data.path(), "m");
        (s, events_of(data.path(), "segment_dropped").len() as u64)
    };
    let (bounded, dropped) = run("2");
    let (unbounded, none) = run("0");
    let (b, u) = (&bounded["live"], &unbounded["live"]);
    eprintln!("bounded: {}\nunbounded: {}", serde_json::to_string(b).unwrap(), serde_json::to_string(u).unwrap());
    assert_eq!(none, 0);
    assert!(dropped > 0 && b["dropped_segments"].as_u64() == Some(dropped), "{bounded}");
    let (b_max, u_max) = (b["max_lag_seconds"].as_f64().unwrap(), u["max_lag_seconds"].as_f64().unwrap());
    // A segment is dropped when its turn comes more than 2 s after it arrived: committed ones are at
    // most 2 s plus the time to analyse one segment behind.
    assert!(b_max < 2.0 + 3.0, "bounded lag reached {b_max} s");
    assert!(u_max > b_max, "unbounded {u_max} s vs bounded {b_max} s");
}
