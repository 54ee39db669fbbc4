//! `tacticeye render video`: the analysed match as an annotated MP4, from kept segments or from the
//! source video, frame for frame.

use std::path::Path;
use std::process::Command;

use tacticeye_tests::{ok, stderr, synthetic_clip, tacticeye};

/// Frame `n` of a video, as RGB.
fn frame_of(video: &Path, n: u64) -> image::RgbImage {
    let png = video.with_extension(format!("{n}.png"));
    let select = format!("select=eq(n\\,{n})");
    ok(Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(video)
        .args(["-vf", &select, "-frames:v", "1"])
        .arg(&png));
    image::open(&png).unwrap().to_rgb8()
}

/// Of the pixels the annotations change (where `drawn` and `raw` differ clearly), the share that `shown`
/// has closer to `drawn` than to `raw`. The radar inset's corner is left out: `render frame` has none.
fn annotated_share(shown: &image::RgbImage, drawn: &image::RgbImage, raw: &image::RgbImage) -> f64 {
    let (w, h) = shown.dimensions();
    let distance = |a: &image::Rgb<u8>, b: &image::Rgb<u8>| (0..3).map(|c| a[c].abs_diff(b[c]) as u32).sum::<u32>();
    let (mut changed, mut closer) = (0, 0);
    for (x, y, s) in shown.enumerate_pixels() {
        let (d, r) = (drawn.get_pixel(x, y), raw.get_pixel(x, y));
        if (x > w * 6 / 10 && y > h * 6 / 10) || distance(d, r) < 120 {
            continue;
        }
        changed += 1;
        closer += u32::from(distance(s, d) < distance(s, r));
    }
    assert!(changed > 100, "render frame drew almost nothing: {changed} pixels");
    closer as f64 / changed as f64
}

fn frames(video: &Path) -> u64 {
    let out = ok(Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v", "-show_entries", "stream=nb_read_frames"])
        .args(["-of", "csv=p=0"])
        .arg(video));
    // An HLS playlist adds a line for its program.
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().find_map(|l| l.trim().trim_end_matches(',').parse().ok()).unwrap_or_else(|| panic!("{text}"))
}

#[test]
fn the_annotated_video_has_every_frame_drawn_as_render_frame_draws_it_from_segments_or_source() {
    let clip = synthetic_clip(8, 51, 320, 180);
    let dir = tempfile::tempdir().unwrap();
    let (kept, deleted) = (dir.path().join("kept"), dir.path().join("deleted"));
    for (data, keep) in [(&kept, true), (&deleted, false)] {
        let mut analyze = tacticeye(data);
        analyze.arg("analyze").arg(&clip).args(["--match-id", "m", "--detector", "truth", "--calibration", "auto"]);
        if keep {
            analyze.arg("--keep-segments");
        }
        ok(&mut analyze);
    }
    let from_segments = dir.path().join("segments.mp4");
    ok(tacticeye(&kept).args(["render", "video", "m", "--out"]).arg(&from_segments));
    // Segments deleted: the match's source file stands in for them.
    let from_source = dir.path().join("source.mp4");
    ok(tacticeye(&deleted).args(["render", "video", "m", "--out"]).arg(&from_source));
    assert_eq!(frames(&from_segments), 200);
    assert_eq!(frames(&from_source), 200);

    // Frame 130 is the one `render frame` draws (boxes, ids, ball), up to the encoder's loss...
    let png = dir.path().join("frame130.png");
    ok(tacticeye(&kept).args(["render", "frame", "m", "--frame", "130", "--out"]).arg(&png));
    let drawn = image::open(&png).unwrap().to_rgb8();
    let raw = frame_of(&clip, 130);
    let share = annotated_share(&frame_of(&from_segments, 130), &drawn, &raw);
    eprintln!("frame 130: {:.0}% of the annotated pixels as render frame draws them", 100.0 * share);
    assert!(share > 0.9, "the annotations are drawn on the right frame");
    // ...and the same whichever the frames came from; a second later they are elsewhere.
    assert!(annotated_share(&frame_of(&from_source, 130), &drawn, &raw) > 0.9);
    assert!(annotated_share(&frame_of(&from_segments, 160), &drawn, &raw) < 0.8);

    // Another video than the match's is refused.
    let other = synthetic_clip(8, 52, 320, 180);
    let out = tacticeye(&deleted)
        .args(["render", "video", "m", "--video"])
        .arg(&other)
        .args(["--out", "x.mp4"])
        .output()
        .unwrap();
    assert!(
        !out.status.success() && stderr(&out).contains("is not the video match m was analysed from"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_match_analysed_with_annotate_is_an_hls_stream_of_annotated_segments_killed_or_not() {
    let clip = synthetic_clip(8, 51, 320, 180);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let analyze = || {
        let mut cmd = tacticeye(&data);
        cmd.arg("analyze").arg(&clip).args(["--match-id", "m", "--detector", "truth", "--calibration", "auto"]);
        cmd.arg("--annotate");
        cmd
    };
    // Killed after segment 1's piece and playlist entry, before its checkpoint: the rerun lists it once.
    tacticeye_tests::kill_at_fault(&mut analyze(), "before-checkpoint:1");
    let playlist = data.join("matches/m/annotated/index.m3u8");
    let partial = std::fs::read_to_string(&playlist).unwrap();
    assert!(partial.contains("000001.ts") && !partial.contains("ENDLIST"), "{partial}");
    ok(&mut analyze());
    let text = std::fs::read_to_string(&playlist).unwrap();
    for piece in ["000000.ts", "000001.ts", "000002.ts"] {
        assert_eq!(text.matches(piece).count(), 1, "{piece} once in\n{text}");
    }
    assert!(text.trim_end().ends_with("#EXT-X-ENDLIST"), "{text}");
    // A player reads it as one stream of the match's 200 frames.
    assert_eq!(frames(&playlist), 200);

    // The local server serves it to a player, with the token.
    let server = tacticeye_tests::servers::LocalServer::start(&data, &[]);
    let (status, _) = server.call("GET", "/matches/m/annotated/index.m3u8", None).await;
    assert_eq!(status, 200);
    assert_eq!(server.call("GET", "/matches/m/annotated/..%2Fcheckpoint.json", None).await.0, 404);
    // A match started without it cannot take it up midway.
    let plain = dir.path().join("plain");
    ok(tacticeye(&plain).arg("analyze").arg(&clip).args(["--match-id", "p", "--detector", "truth"]));
    let out = tacticeye(&plain)
        .arg("analyze")
        .arg(&clip)
        .args(["--match-id", "p", "--detector", "truth", "--annotate"])
        .output()
        .unwrap();
    assert!(!out.status.success() && stderr(&out).contains("started without --annotate"), "{}", stderr(&out));
}
