//! Helpers for the end-to-end tests: they run the real `tacticeye` binary as separate processes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod browser;
pub mod servers;

/// The release binary built beside this test (`make test` builds it first).
pub fn bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let dir = exe.parent().and_then(Path::parent).expect("target/<profile>");
    let bin = dir.join("tacticeye");
    assert!(bin.is_file(), "{} is missing: build it first (`make test` does)", bin.display());
    bin
}

pub fn tacticeye(data_dir: &Path) -> Command {
    let mut cmd = Command::new(bin());
    cmd.arg("--data-dir").arg(data_dir);
    cmd
}

/// Runs a command and returns its output, failing the test with its stderr if it fails.
pub fn ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("spawn tacticeye");
    assert!(out.status.success(), "{cmd:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Bumped when the truth file gains fields (3: the camera's homography and pitch positions).
const TRUTH_FORMAT: u32 = 3;
/// Bumped when the renderer draws other pixels for the same match (2: four rays a pixel).
const RENDERER: u32 = 2;

/// Renders a synthetic clip once per (seconds, seed, size) into a shared cache folder and returns its path.
pub fn synthetic_clip(seconds: u32, seed: u64, width: u32, height: u32) -> PathBuf {
    render_clip(seconds, seed, width, height, false)
}

/// The same match seen by a fixed wide camera on the centre spot (`synth --fixed-camera`).
pub fn fixed_camera_clip(seconds: u32, seed: u64, width: u32, height: u32) -> PathBuf {
    render_clip(seconds, seed, width, height, true)
}

fn render_clip(seconds: u32, seed: u64, width: u32, height: u32, fixed: bool) -> PathBuf {
    // Tests of one binary run on threads of one process: one renders, the others wait for it.
    static RENDERING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = RENDERING.lock().unwrap_or_else(|p| p.into_inner());
    let dir = std::env::temp_dir().join("tacticeye-test-clips");
    std::fs::create_dir_all(&dir).unwrap();
    // The truth format's and the renderer's versions are in the name: a clip cached by an older build
    // lacks newer fields, or looks otherwise.
    let camera = if fixed { "-fixed" } else { "" };
    let video =
        dir.join(format!("s{seconds}-seed{seed}-{width}x{height}{camera}-truth{TRUTH_FORMAT}-render{RENDERER}.mp4"));
    let truth = video.with_extension("truth.json");
    if !(video.is_file() && truth.is_file()) {
        // Render under a temporary name and rename, so that parallel tests never see half a clip.
        let tmp = dir.join(format!("tmp-{}-{seconds}-{seed}-{width}{camera}.mp4", std::process::id()));
        let mut synth = Command::new(bin());
        synth.arg("synth").arg(&tmp).args(["--seconds", &seconds.to_string(), "--seed", &seed.to_string()]);
        synth.args(["--width", &width.to_string(), "--height", &height.to_string()]);
        if fixed {
            synth.arg("--fixed-camera");
        }
        ok(&mut synth);
        std::fs::rename(tmp.with_extension("truth.json"), &truth).unwrap();
        std::fs::rename(&tmp, &video).unwrap();
    }
    video
}

/// A 640x360 synthetic match analysed as `analysed_calibrated` does: (its temporary root, the data
/// folder, the clip).
pub fn calibrated_synthetic_match(seconds: u32, seed: u64) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let clip = synthetic_clip(seconds, seed, 640, 360);
    let (dir, data) = analysed_calibrated(&clip);
    (dir, data, clip)
}

/// A synthetic clip analysed as match `m` with the truth detector and the pitch found
/// (`--calibration auto`), in a fresh data folder: (its temporary root, the data folder).
pub fn analysed_calibrated(clip: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    ok(tacticeye(&data)
        .arg("analyze")
        .arg(clip)
        .args(["--match-id", "m", "--detector", "truth"])
        .args(["--calibration", "auto"]));
    (dir, data)
}

/// The data folder beside the repository, or `None` (the caller skips, saying why).
pub fn shared_data(rel: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    let path = root.join(rel);
    if path.exists() {
        Some(path)
    } else {
        eprintln!("SKIPPED: {} is absent (the ../shared data folder is not beside the repository)", path.display());
        None
    }
}

/// The Python with the CDF validator and pandas (`make pytools` sets `TACTICEYE_CDF_PYTHON`).
pub fn cdf_python() -> PathBuf {
    std::env::var_os("TACTICEYE_CDF_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/cdf-venv/bin/python"))
}

/// The Python of the test tools (`make pytools` sets `TACTICEYE_PYTHON`).
pub fn python() -> PathBuf {
    std::env::var_os("TACTICEYE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"))
}

/// Runs `cmd` with `TACTICEYE_FAULT=fault`, waits until it hangs at that point, and SIGKILLs it there.
pub fn kill_at_fault(cmd: &mut Command, fault: &str) {
    use std::io::{BufRead, BufReader};
    let mut child = cmd.env("TACTICEYE_FAULT", fault).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let lines = BufReader::new(child.stderr.take().unwrap()).lines().map_while(Result::ok);
    assert!(lines.into_iter().any(|l| l.contains("TACTICEYE_FAULT reached")), "{cmd:?} never reached {fault}");
    child.kill().unwrap(); // SIGKILL
    assert!(!child.wait().unwrap().success());
}

/// A match's summary, as `tacticeye summary ID --json` prints it.
pub fn summary(data: &Path, id: &str) -> serde_json::Value {
    serde_json::from_slice(&ok(tacticeye(data).args(["summary", id, "--json"])).stdout).unwrap()
}

/// Every file under `dir`, with its bytes, in path order: what a failed command must leave unchanged.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() { walk(&p, out) } else { out.push((p.clone(), std::fs::read(&p).unwrap())) }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A moto server (S3 and SQS) on a free loopback port, stopped on drop.
pub struct Moto {
    child: std::process::Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Moto {
        let port = servers::free_port();
        let server = python().with_file_name("moto_server");
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} ({e}); `make pytools` installs it", server.display()));
        servers::wait_for_port(port);
        Moto { child, endpoint: format!("http://127.0.0.1:{port}") }
    }

    /// Environment for processes that should talk to this server (through `via`, a proxy, if given).
    pub fn env(&self, via: Option<&str>) -> [(&'static str, String); 4] {
        [
            ("AWS_ENDPOINT_URL", via.unwrap_or(&self.endpoint).to_string()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new("test", "test", None, None, "tests"))
            .load()
            .await
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Requests counted the way `cost.json` counts them, per match.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Seen {
    pub s3_get: u64,
    pub s3_put: u64,
    pub s3_list: u64,
    pub s3_delete: u64,
    pub sqs_requests: u64,
}

/// The HTTP client the recording proxies pass requests on with.
pub type Forwarder =
    hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, axum::body::Body>;

pub fn forwarder() -> Forwarder {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http()
}

/// Passes a request on to `upstream` as it came (method, path, query, headers, body); the answer, read whole.
pub async fn forward(
    client: &Forwarder,
    upstream: &str,
    parts: &axum::http::request::Parts,
    body: axum::body::Bytes,
) -> (axum::http::response::Parts, axum::body::Bytes) {
    let uri = format!("{upstream}{}", parts.uri.path_and_query().map_or("/", |p| p.as_str()));
    let mut request = axum::http::Request::builder().method(parts.method.clone()).uri(uri);
    for (k, v) in &parts.headers {
        request = request.header(k, v);
    }
    let response = client.request(request.body(axum::body::Body::from(body)).unwrap()).await.unwrap();
    let (rparts, rbody) = response.into_parts();
    (rparts, http_body_util::BodyExt::collect(rbody).await.unwrap().to_bytes())
}

/// An HTTP proxy in front of moto that counts, per match, the S3 and SQS requests that pass through it:
/// the test's own view of what the processes asked for.
pub struct CountingProxy {
    pub endpoint: String,
    seen: std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, Seen>>>,
    server: tokio::task::JoinHandle<()>,
}

type Counts = std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, Seen>>>;

impl CountingProxy {
    pub async fn start(upstream: &str, bucket: &str) -> CountingProxy {
        let seen: Counts = Default::default();
        let receipts: std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, String>>> = Default::default();
        let client = forwarder();
        let (upstream, bucket) = (upstream.to_string(), format!("/{bucket}"));
        let counts = seen.clone();
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let (client, upstream, bucket, seen, receipts) =
                (client.clone(), upstream.clone(), bucket.clone(), counts.clone(), receipts.clone());
            async move {
                let (parts, body) = req.into_parts();
                let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
                let target = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                let (rparts, rbody) = forward(&client, &upstream, &parts, body.clone()).await;
                let count = |id: Option<String>, f: &dyn Fn(&mut Seen)| {
                    if let Some(id) = id {
                        f(seen.lock().unwrap().entry(id).or_default());
                    }
                };
                let path = percent_encoding::percent_decode_str(parts.uri.path()).decode_utf8_lossy().to_string();
                if let Some(action) = target.strip_prefix("AmazonSQS.") {
                    let req: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                    let res: serde_json::Value = serde_json::from_slice(&rbody).unwrap_or_default();
                    let id = match action {
                        "SendMessage" => req["MessageGroupId"].as_str().map(str::to_string),
                        "ReceiveMessage" => res["Messages"].get(0).and_then(|m| {
                            let id = serde_json::from_str::<serde_json::Value>(m["Body"].as_str()?).ok()?["match_id"]
                                .as_str()?
                                .to_string();
                            receipts.lock().unwrap().insert(m["ReceiptHandle"].as_str()?.to_string(), id.clone());
                            Some(id)
                        }),
                        _ => req["ReceiptHandle"].as_str().and_then(|r| receipts.lock().unwrap().get(r).cloned()),
                    };
                    count(id, &|s| s.sqs_requests += 1);
                } else if let Some(rest) = path.strip_prefix(&bucket) {
                    let key = rest.trim_start_matches('/');
                    if key.is_empty() {
                        let prefix = parts
                            .uri
                            .query()
                            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("prefix=")))
                            .unwrap_or("");
                        let prefix = percent_encoding::percent_decode_str(prefix).decode_utf8_lossy().to_string();
                        if parts.method == axum::http::Method::GET {
                            count(tacticeye::ids::MatchId::owning(&prefix).map(|m| m.to_string()), &|s| s.s3_list += 1);
                        }
                    } else {
                        let id = tacticeye::ids::MatchId::owning(key).map(|m| m.to_string());
                        match parts.method.as_str() {
                            "GET" => count(id, &|s| s.s3_get += 1),
                            "PUT" => count(id, &|s| s.s3_put += 1),
                            "DELETE" => count(id, &|s| s.s3_delete += 1),
                            _ => {}
                        }
                    }
                }
                axum::http::Response::from_parts(rparts, axum::body::Body::from(rbody))
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        CountingProxy { endpoint, seen, server }
    }

    pub fn seen(&self, match_id: &str) -> Seen {
        self.seen.lock().unwrap().get(match_id).cloned().unwrap_or_default()
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}
