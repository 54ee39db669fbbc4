//! Headless Chromium driven over the DevTools protocol (a WebSocket of JSON commands): enough to load a
//! page, read what it shows and take screenshots.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

const CHROMIUM: &str = "/usr/bin/chromium";

pub struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    socket: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    next_id: u64,
}

impl Browser {
    /// Chromium showing `url`, or `None` (saying why) where it is not installed.
    pub async fn open(url: &str) -> Option<Browser> {
        if !Path::new(CHROMIUM).is_file() {
            eprintln!("SKIPPED: {CHROMIUM} is absent (`make test` installs Debian's chromium)");
            return None;
        }
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new(CHROMIUM)
            // As root, in a sandbox of its own already, offline: no sandbox, GPU or calls home.
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
            .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
            .args(["--window-size=1400,1000", "--remote-debugging-port=0"])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium");
        // Chromium writes the port it chose into the profile.
        let port_file = profile.path().join("DevToolsActivePort");
        let deadline = Instant::now() + Duration::from_secs(30);
        let port = loop {
            if let Some(port) = std::fs::read_to_string(&port_file).ok().and_then(|t| t.lines().next()?.parse().ok()) {
                break port;
            }
            assert!(Instant::now() < deadline, "chromium never opened its DevTools port");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let page = loop {
            let (_, targets) = get_json(port, "/json/list").await;
            if let Some(page) = targets.as_array().unwrap().iter().find(|t| t["type"] == "page") {
                break page["webSocketDebuggerUrl"].as_str().unwrap().to_string();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let (socket, _) = tokio_tungstenite::connect_async(page).await.expect("the page's DevTools socket");
        let mut browser = Browser { child, _profile: profile, socket, next_id: 0 };
        browser.command("Page.navigate", serde_json::json!({ "url": url })).await;
        Some(browser)
    }

    async fn command(&mut self, method: &str, params: serde_json::Value) -> serde_json::Value {
        self.next_id += 1;
        let id = self.next_id;
        let message = serde_json::json!({ "id": id, "method": method, "params": params });
        self.socket.send(Message::Text(message.to_string().into())).await.unwrap();
        loop {
            let Message::Text(text) = self.socket.next().await.expect("DevTools answers").unwrap() else { continue };
            let reply: serde_json::Value = serde_json::from_str(&text).unwrap();
            if reply["id"] == id {
                assert!(reply["error"].is_null(), "{method}: {reply}");
                return reply["result"].clone();
            }
        }
    }

    /// The value of a JavaScript expression in the page (awaited if it is a promise).
    pub async fn eval(&mut self, expression: &str) -> serde_json::Value {
        let params = serde_json::json!({ "expression": expression, "returnByValue": true, "awaitPromise": true });
        let result = self.command("Runtime.evaluate", params).await;
        assert!(result["exceptionDetails"].is_null(), "{expression}: {result}");
        result["result"]["value"].clone()
    }

    /// Waits until `expression` is true.
    pub async fn until(&mut self, expression: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while self.eval(expression).await != true {
            assert!(Instant::now() < deadline, "the page never showed {expression}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A PNG of the page as it shows now, into `TACTICEYE_SCREENSHOTS` (or the temporary folder).
    pub async fn screenshot(&mut self, name: &str) -> PathBuf {
        let dir = std::env::var_os("TACTICEYE_SCREENSHOTS").map_or_else(std::env::temp_dir, PathBuf::from);
        let shot = self.command("Page.captureScreenshot", serde_json::json!({ "format": "png" })).await;
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().unwrap()).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, png).unwrap();
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

async fn get_json(port: u16, path: &str) -> (u16, serde_json::Value) {
    use http_body_util::BodyExt;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<hyper::body::Bytes>>();
    let response = client.get(format!("http://127.0.0.1:{port}{path}").parse().unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or_default())
}
