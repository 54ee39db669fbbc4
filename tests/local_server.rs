//! Matches started through the local server: several at once, the rest waiting in line and saying so,
//! each ending as it would have alone; a bad one fails with its reason and harms no other.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use tacticeye_tests::servers::LocalServer;
use tacticeye_tests::{ok, synthetic_clip, tacticeye};

fn export(data: &Path, id: &str) -> Vec<u8> {
    let out = data.join(format!("{id}.json"));
    ok(tacticeye(data).args(["export", id, "--format", "json", "--out"]).arg(&out));
    std::fs::read(out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_matches_started_at_once_wait_for_two_slots_and_end_as_each_would_alone() {
    let clips: Vec<_> = (31..34).map(|seed| synthetic_clip(12, seed, 320, 180)).collect();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = LocalServer::start(&data, &["--max-concurrent", "2", "--detector", "truth"]);

    // Nothing to start from, a file that is not there, a file path on the cloud's terms.
    assert_eq!(server.call("POST", "/matches", Some(json!({}))).await.0, 400);
    let (status, body) = server.call("POST", "/matches", Some(json!({ "path": "/nowhere/x.mp4" }))).await;
    assert_eq!(status, 404, "{body}");

    let ids = ["first", "second", "third"];
    for (id, clip) in ids.iter().zip(&clips) {
        let (status, body) = server.call("POST", "/matches", Some(json!({ "path": clip, "match_id": id }))).await;
        assert_eq!(status, 202, "{body}");
    }
    // A corrupt video fails on its own, with its reason.
    let corrupt = dir.path().join("corrupt.mp4");
    std::fs::write(&corrupt, b"this is not a video").unwrap();
    assert_eq!(server.call("POST", "/matches", Some(json!({ "path": corrupt }))).await.0, 202);

    // The third waits for a slot and says where it stands.
    let (_, third) = server.call("GET", "/matches/third/summary", None).await;
    assert_eq!(third["status"], "queued", "{third}");
    // That first answer's place counts too: the first two matches may end before the next poll.
    let mut places: Vec<u64> = third["position"].as_u64().into_iter().collect();
    while let (_, third) = server.call("GET", "/matches/third/summary", None).await
        && third["status"] == "queued"
    {
        if let Some(place) = third["position"].as_u64().filter(|p| places.last() != Some(p)) {
            places.push(place);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    eprintln!("the third match said it was at places {places:?} in the line");
    assert!(!places.is_empty(), "the waiting match said its place in the line");
    assert!(places.windows(2).all(|w| w[1] < w[0]), "it only moved up: {places:?}");
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let mut states = Vec::new();
        for id in ids {
            let (status, s) = server.call("GET", &format!("/matches/{id}/summary"), None).await;
            assert_eq!(status, 200, "{id}: {s}");
            states.push(s["status"].as_str().unwrap().to_string());
        }
        if states.iter().all(|s| s == "complete") {
            break;
        }
        assert!(!states.iter().any(|s| s == "failed"), "{states:?}");
        assert!(Instant::now() < deadline, "the matches never ended: {states:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, listed) = server.call("GET", "/matches", None).await;
    for id in ids.iter().chain(&["corrupt"]) {
        assert!(listed["matches"].as_array().unwrap().contains(&json!(id)), "{id} in {listed}");
    }
    let (_, failed) = server.call("GET", "/matches/corrupt/summary", None).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(failed["error"].as_str().unwrap().contains("corrupt.mp4"), "the error names the file: {failed}");
    // Exports come as links only from a store that has them; locally `tacticeye export` writes them.
    assert_eq!(server.call("GET", "/matches/first/export?format=parquet", None).await.0, 501);
    drop(server);

    // Each match alone, in a data folder of its own: the same exports, byte for byte.
    for (id, clip) in ids.iter().zip(&clips) {
        let alone = dir.path().join(format!("alone-{id}"));
        ok(tacticeye(&alone).arg("analyze").arg(clip).args(["--match-id", id, "--detector", "truth"]));
        assert!(export(&data, id) == export(&alone, id), "{id}: exports differ from the match analysed alone");
    }
}
