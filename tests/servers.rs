//! Real servers on loopback for the URL-source tests: Python's http.server over a folder, and ffmpeg
//! producing HLS or publishing RTMP in listen mode.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::python;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits for a server (moto, http.server) to listen; moto takes seconds to import.
pub fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Python's threading http.server over `dir`; `stop` and `start` again drop every connection and keep
/// the port.
pub struct HttpServer {
    dir: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl HttpServer {
    pub fn start(dir: &Path) -> HttpServer {
        let mut server = HttpServer { dir: dir.into(), port: free_port(), child: None };
        server.restart();
        server
    }

    pub fn restart(&mut self) {
        let child = Command::new(python())
            .args(["-m", "http.server", &self.port.to_string(), "--bind", "127.0.0.1", "--directory"])
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python http.server");
        self.child = Some(child);
        wait_for_port(self.port);
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().ok();
            c.wait().ok();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A background ffmpeg (Debian's), killed on drop.
pub struct Producer(Child);

impl Producer {
    pub fn spawn(args: &[&str]) -> Producer {
        let child = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-nostdin"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ffmpeg");
        Producer(child)
    }

    /// Live HLS from `video` at `rate` x real time into `dir/live.m3u8`: 2 s segments, a sliding
    /// window of `window` segments, old ones deleted, the end-of-stream tag written at the end.
    pub fn live_hls(video: &Path, dir: &Path, rate: f64, window: u32) -> Producer {
        let playlist = dir.join("live.m3u8");
        let p = Producer::spawn(&[
            "-readrate",
            &rate.to_string(),
            "-i",
            video.to_str().unwrap(),
            "-c",
            "copy",
            "-f",
            "hls",
            "-hls_time",
            "2",
            "-hls_list_size",
            &window.to_string(),
            "-hls_flags",
            "delete_segments",
            playlist.to_str().unwrap(),
        ]);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !playlist.is_file() {
            assert!(Instant::now() < deadline, "ffmpeg wrote no playlist");
            std::thread::sleep(Duration::from_millis(50));
        }
        p
    }

    /// Publishes `video` (from `start` s, `seconds` long) in real time as an RTMP server on `port`,
    /// waiting for one player.
    pub fn rtmp(video: &Path, port: u16, start: f64, seconds: f64) -> Producer {
        let url = format!("rtmp://127.0.0.1:{port}/live/match");
        Producer::spawn(&[
            "-re",
            "-ss",
            &start.to_string(),
            "-i",
            video.to_str().unwrap(),
            "-t",
            &seconds.to_string(),
            "-c",
            "copy",
            "-f",
            "flv",
            "-listen",
            "1",
            &url,
        ])
    }

    pub fn wait(&mut self) -> bool {
        self.0.wait().map(|s| s.success()).unwrap_or(false)
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// HLS VOD of `video` (stream copy, 2 s segments) in `dir/vod.m3u8`.
pub fn hls_vod(video: &Path, dir: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i"])
        .arg(video)
        .args(["-c", "copy", "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod"])
        .arg(dir.join("vod.m3u8"))
        .status()
        .unwrap();
    assert!(status.success());
}

/// `tacticeye serve --token T0ken` on a free port over `data`, killed when dropped, so that a failing
/// test leaves no server behind.
pub struct LocalServer {
    child: Child,
    pub port: u16,
}

impl LocalServer {
    pub fn start(data: &Path, args: &[&str]) -> LocalServer {
        let port = free_port();
        let child = crate::tacticeye(data)
            .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--token", "T0ken"])
            .args(args)
            .stdout(Stdio::null())
            .spawn()
            .expect("tacticeye serve");
        wait_for_port(port);
        LocalServer { child, port }
    }

    /// One request with the token; the status and the JSON body (null when it is not JSON).
    pub async fn call(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> (u16, serde_json::Value) {
        use http_body_util::BodyExt;
        let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http::<http_body_util::Full<hyper::body::Bytes>>();
        let request = hyper::Request::builder()
            .method(method)
            .uri(format!("http://127.0.0.1:{}{path}", self.port))
            .header("authorization", "Bearer T0ken")
            .header("content-type", "application/json")
            .body(http_body_util::Full::from(body.map(|b| b.to_string()).unwrap_or_default()))
            .unwrap();
        let response = client.request(request).await.expect("the local server answers");
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
