//! The dashboard in a real browser: a match started from the page is followed live over the WebSocket,
//! and the page's figures end equal to the match's summary.

use std::time::{Duration, Instant};

use tacticeye_tests::browser::Browser;
use tacticeye_tests::servers::LocalServer;
use tacticeye_tests::synthetic_clip;

/// What the match view shows, read off the page.
const SHOWN: &str = r##"(() => {
  const t = (id) => document.getElementById(id).textContent;
  return { status: t("status"), done: Number(t("segments-done")), total: Number(t("segments-total")),
    possession: [t("possession-0"), t("possession-1")], passes: [t("passes-0"), t("passes-1")],
    turnovers: [t("turnovers-0"), t("turnovers-1")], connection: t("connection"),
    error: document.body.dataset.error || null, events: document.querySelectorAll("#events li").length, players: document.querySelectorAll("#players tbody tr").length };
})()"##;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_match_started_from_the_dashboard_is_followed_live_and_ends_equal_to_its_summary() {
    let clip = synthetic_clip(30, 41, 640, 360);
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(&dir.path().join("data"), &["--detector", "truth", "--calibration", "auto"]);
    let Some(mut page) = Browser::open(&format!("http://127.0.0.1:{}/#token=T0ken", server.port)).await else {
        return;
    };
    page.until(
        "document.readyState === 'complete' && !!document.getElementById('start-form')",
        Duration::from_secs(30),
    )
    .await;
    // The token left the address bar once kept.
    assert_eq!(page.eval("location.hash").await, "");

    // Started from the page's form, as a person would.
    let start = format!(
        "document.getElementById('start-source').value = {}; document.getElementById('start-id').value = 'watched';
         document.getElementById('start-form').requestSubmit(); true",
        serde_json::json!(clip)
    );
    page.eval(&start).await;
    page.until("location.hash === '#match=watched'", Duration::from_secs(10)).await;

    let mut seen = Vec::new();
    let mut live_shot = false;
    let deadline = Instant::now() + Duration::from_secs(120);
    let last = loop {
        let shown = page.eval(SHOWN).await;
        let done = shown["done"].as_u64().unwrap();
        if seen.last() != Some(&done) {
            seen.push(done);
        }
        if !live_shot && done >= 3 && shown["status"] == "running" {
            page.screenshot("dashboard-live.png").await;
            live_shot = true;
        }
        if shown["connection"] == "ended" && shown["players"].as_u64() > Some(0) {
            break shown;
        }
        assert!(Instant::now() < deadline, "the page never showed the end: {shown}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    };
    page.screenshot("dashboard-complete.png").await;
    assert!(last["error"].is_null(), "the page failed to show a message: {}", last["error"]);
    eprintln!("the page showed segments {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "segments only go forward: {seen:?}");
    let total = last["total"].as_u64().unwrap();
    assert!(seen.iter().filter(|&&d| d > 0 && d < total).count() >= 2, "the page followed the analysis: {seen:?}");

    let (_, summary) = server.call("GET", "/matches/watched/summary", None).await;
    assert_eq!(last["status"], "complete");
    assert_eq!(last["done"], summary["segments_done"]);
    for (i, team) in ["team_0", "team_1"].iter().enumerate() {
        assert_eq!(last["possession"][i], format!("{:.1}", summary["possession"][team].as_f64().unwrap()));
        assert_eq!(last["passes"][i], summary["passes"][team].to_string());
        assert_eq!(last["turnovers"][i], summary["turnovers_won"][team].to_string());
    }
    let (_, events) = server.call("GET", "/matches/watched/events?per_page=1000", None).await;
    let shown_kinds = events["items"].as_array().unwrap().iter().filter(|e| e["kind"] != "possession_change");
    assert_eq!(last["events"].as_u64().unwrap(), shown_kinds.count().min(60) as u64, "every event, once");

    // The list of matches, with the one just analysed.
    page.eval("location.hash = ''; true").await;
    page.until(
        "[...document.querySelectorAll('#matches tbody tr')].some(r => r.dataset.match === 'watched' && r.children[1].textContent === 'complete')",
        Duration::from_secs(10),
    )
    .await;
    page.screenshot("dashboard-matches.png").await;
}

/// The page signs the cloud's IAM-authorised calls itself (AWS Signature Version 4, WebCrypto): its
/// signatures are botocore's, for reads with a query, a POST with a body, and temporary credentials.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_signs_cloud_requests_as_botocore_does() {
    let dir = tempfile::tempdir().unwrap();
    let server = LocalServer::start(&dir.path().join("data"), &[]);
    let Some(mut page) = Browser::open(&format!("http://127.0.0.1:{}/", server.port)).await else { return };
    page.until("typeof sigv4 === 'object'", Duration::from_secs(30)).await;
    let date = "20261203T091500Z";
    let cases = [
        (
            "GET",
            "https://abc123.execute-api.eu-west-1.amazonaws.com/matches/m_1/events?per_page=1000&page=0&type=pass",
            "",
            None,
        ),
        (
            "POST",
            "https://abc123.execute-api.eu-west-1.amazonaws.com/matches",
            r#"{"url":"https://x.test/a b.m3u8"}"#,
            None,
        ),
        (
            "GET",
            "https://abc123.execute-api.eu-west-1.amazonaws.com/matches",
            "",
            Some("FQoGZXIvYXdzE//session+token="),
        ),
    ];
    for (method, url, body, token) in cases {
        let mut credentials = serde_json::json!({ "accessKeyId": "AKIDEXAMPLE", "secretAccessKey": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" });
        if let Some(token) = token {
            credentials["sessionToken"] = token.into();
        }
        let call = serde_json::json!({ "method": method, "url": url, "body": body, "region": "eu-west-1", "credentials": credentials });
        let ours = page
            .eval(&format!(
                "sigv4.headers({{ ...{call}, now: new Date('2026-12-03T09:15:00Z') }}).then(h => h.authorization)"
            ))
            .await;
        let args = serde_json::json!({ "method": method, "url": url, "body": body, "date": date, "region": "eu-west-1",
            "key": "AKIDEXAMPLE", "secret": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "token": token });
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sigv4_reference.py");
        let out =
            std::process::Command::new(tacticeye_tests::python()).arg(script).arg(args.to_string()).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let reference: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let ours = ours.as_str().unwrap();
        assert!(
            ours.ends_with(&format!("Signature={}", reference["signature"].as_str().unwrap())),
            "{method} {url}: {ours} vs {reference}"
        );
        assert!(
            ours.contains(&format!("SignedHeaders={},", reference["signed_headers"].as_str().unwrap())),
            "{ours} vs {reference}"
        );
        eprintln!("{method} {url}: {ours}");
    }
    // The WebSocket's presigned $connect, with a session token.
    let url = "wss://abc123.execute-api.eu-west-1.amazonaws.com/live?match=m_1";
    let presign = format!(
        "sigv4.presign({{ url: '{url}', region: 'eu-west-1', now: new Date('2026-12-03T09:15:00Z'), credentials: \
         {{ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'tok/en+=' }} }})"
    );
    let ours = page.eval(&presign).await;
    let args = serde_json::json!({ "presign": true, "method": "GET", "url": url.replace("wss:", "https:"), "body": "",
        "date": date, "region": "eu-west-1", "key": "AKIDEXAMPLE", "secret": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "token": "tok/en+=" });
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sigv4_reference.py");
    let out = std::process::Command::new(tacticeye_tests::python()).arg(script).arg(args.to_string()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reference: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ours = ours.as_str().unwrap();
    eprintln!("presigned: {ours}");
    assert!(ours.starts_with("wss://abc123.execute-api.eu-west-1.amazonaws.com/live?"), "{ours}");
    assert!(
        ours.ends_with(&format!("X-Amz-Signature={}", reference["signature"].as_str().unwrap())),
        "{ours} vs {reference}"
    );

    // And the page learns how to call its server: the bearer token here.
    assert_eq!(page.eval("fetch('/dashboard.json').then(r => r.json()).then(c => c.auth)").await, "token");
}
