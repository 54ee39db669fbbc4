//! Watching a match as it is analysed: the local server's WebSocket pushes a snapshot, each committed
//! segment and the end, and a client that comes back with `?after=N` is sent what it missed.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tacticeye_tests::{ok, stdout, synthetic_clip, tacticeye};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error, Message};

/// Every message of the match's live socket until it closes.
async fn watch(port: u16, query: &str, token: &str) -> Result<Vec<serde_json::Value>, Error> {
    let mut request = format!("ws://127.0.0.1:{port}/matches/live_m/live{query}").into_client_request()?;
    request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let mut messages = Vec::new();
    while let Some(message) = tokio::time::timeout(Duration::from_secs(120), socket.next()).await.expect("a message") {
        match message? {
            Message::Text(text) => messages.push(serde_json::from_str(&text).unwrap()),
            Message::Close(_) => break,
            _ => {}
        }
    }
    Ok(messages)
}

fn kinds(messages: &[serde_json::Value]) -> Vec<&str> {
    messages.iter().map(|m| m["type"].as_str().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_client_follows_each_committed_segment_and_ends_with_the_summary() {
    let video = synthetic_clip(20, 3, 640, 360);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = tacticeye_tests::servers::free_port();
    let mut server = tacticeye(&data)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--token", "T0ken"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    tacticeye_tests::servers::wait_for_port(port);
    // Nobody may watch without the token, and there is no match to watch yet.
    assert!(matches!(watch(port, "", "wrong").await, Err(Error::Http(r)) if r.status() == 401));
    assert!(matches!(watch(port, "", "T0ken").await, Err(Error::Http(r)) if r.status() == 404));

    let mut analysis = tacticeye(&data)
        .arg("analyze")
        .arg(&video)
        .args(["--match-id", "live_m", "--detector", "truth", "--segment-seconds", "2"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !data.join("matches/live_m/checkpoint.json").exists() {
        assert!(Instant::now() < deadline, "the analysis never wrote a checkpoint");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let messages = watch(port, "", "T0ken").await.unwrap();
    assert!(analysis.wait().unwrap().success());

    let k = kinds(&messages);
    assert_eq!((k[0], k[k.len() - 1]), ("snapshot", "completed"), "{k:?}");
    assert!(k[1..k.len() - 1].iter().all(|&t| t == "segment"), "{k:?}");
    let first = messages[0]["summary"]["segments_done"].as_u64().unwrap();
    let indices: Vec<u64> = messages[1..k.len() - 1].iter().map(|m| m["index"].as_u64().unwrap()).collect();
    assert_eq!(indices, (first..10).collect::<Vec<u64>>(), "each segment once, in order, from the snapshot on");
    eprintln!("live client joined at segment {first} of 10 and was pushed {} segments", indices.len());
    for m in &messages[1..k.len() - 1] {
        assert_eq!(m["frames_done"].as_u64().unwrap(), (m["index"].as_u64().unwrap() + 1) * 50);
        assert!(!m["positions"]["objects"].as_array().unwrap().is_empty(), "the segment's last frame's positions");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&stdout(&ok(tacticeye(&data).args(["summary", "live_m", "--json"])))).unwrap();
    assert_eq!(messages[k.len() - 1]["summary"], summary, "the last message is the match's summary");
    let pushed: usize = messages.iter().map(|m| m["events"].as_array().map_or(0, |e| e.len())).sum();
    assert!(pushed > 0, "the segments' events are pushed");

    // A client that had segment 6 is sent 7, 8 and 9, then the end: from storage, after the analysis.
    let again = watch(port, "?after=6", "T0ken").await.unwrap();
    assert_eq!(kinds(&again), ["segment", "segment", "segment", "completed"]);
    assert_eq!(again[0]["index"], 7);
    server.kill().unwrap();
    server.wait().unwrap();
}
