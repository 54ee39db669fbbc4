//! Helpers for the end-to-end tests: they run the real `tacticeye` binary as separate processes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

/// Renders a synthetic clip once per (seconds, seed, size) into a shared cache folder and returns its path.
pub fn synthetic_clip(seconds: u32, seed: u64, width: u32, height: u32) -> PathBuf {
    // Tests of one binary run on threads of one process: one renders, the others wait for it.
    static RENDERING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = RENDERING.lock().unwrap_or_else(|p| p.into_inner());
    let dir = std::env::temp_dir().join("tacticeye-test-clips");
    std::fs::create_dir_all(&dir).unwrap();
    let video = dir.join(format!("s{seconds}-seed{seed}-{width}x{height}.mp4"));
    let truth = video.with_extension("truth.json");
    if !(video.is_file() && truth.is_file()) {
        // Render under a temporary name and rename, so that parallel tests never see half a clip.
        let tmp = dir.join(format!("tmp-{}-{seconds}-{seed}-{width}.mp4", std::process::id()));
        ok(Command::new(bin())
            .arg("synth")
            .arg(&tmp)
            .args(["--seconds", &seconds.to_string(), "--seed", &seed.to_string()])
            .args(["--width", &width.to_string(), "--height", &height.to_string()]));
        std::fs::rename(tmp.with_extension("truth.json"), &truth).unwrap();
        std::fs::rename(&tmp, &video).unwrap();
    }
    video
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

/// The Python of the test tools (`make pytools` sets `TACTICEYE_PYTHON`).
pub fn python() -> PathBuf {
    std::env::var_os("TACTICEYE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"))
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
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let server = python().with_file_name("moto_server");
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} ({e}); `make pytools` installs it", server.display()));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "moto did not start");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Moto { child, endpoint: format!("http://127.0.0.1:{port}") }
    }

    /// Environment for processes that should talk to this server.
    pub fn env(&self) -> [(&'static str, String); 4] {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
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
