//! Live push under load: one synthetic match analysed by `tacticeye analyze` while N WebSocket clients
//! watch it through `tacticeye serve`, for N = 1 and N = 200 in one run. Prints commit-to-message latency
//! (a segment's output file written to the message received; the checkpoint commit follows the output
//! by a few milliseconds, so this slightly overstates it) at p50 and p95, and the analysis rate.
//! `live-push-bench --bin target/release/tacticeye [--seconds 30] [--clients 1,200]`

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

struct Args {
    bin: PathBuf,
    seconds: u32,
    clients: Vec<usize>,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args { bin: "target/release/tacticeye".into(), seconds: 30, clients: vec![1, 200] };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))?;
        match flag.as_str() {
            "--bin" => a.bin = value.into(),
            "--seconds" => a.seconds = value.parse()?,
            "--clients" => a.clients = value.split(',').map(str::parse).collect::<Result<_, _>>()?,
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    Ok(a)
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One client: when each segment message arrived.
async fn client(port: u16, id: String) -> anyhow::Result<Vec<(u64, SystemTime)>> {
    let mut request = format!("ws://127.0.0.1:{port}/matches/{id}/live").into_client_request()?;
    request.headers_mut().insert("authorization", "Bearer bench".parse()?);
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let mut seen = Vec::new();
    while let Some(message) = socket.next().await {
        let Message::Text(text) = message? else { continue };
        let value: serde_json::Value = serde_json::from_str(&text)?;
        match value["type"].as_str() {
            Some("segment") => seen.push((value["index"].as_u64().unwrap_or(0), SystemTime::now())),
            Some("completed") => break,
            _ => {}
        }
    }
    Ok(seen)
}

fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(((values.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied().unwrap_or(f64::NAN)
}

/// Analyses the clip with `n` clients watching: latencies in ms and frames per second.
async fn run(a: &Args, clip: &Path, data: &Path, port: u16, n: usize) -> anyhow::Result<(Vec<f64>, f64)> {
    let id = format!("watched{n}");
    // The match exists (its manifest and checkpoint) before the clients connect: its first segment is
    // analysed, then the rest with everyone watching.
    let started = Instant::now();
    let mut analysis = Command::new(&a.bin)
        .arg("--data-dir")
        .arg(data)
        .arg("analyze")
        .arg(clip)
        .args(["--match-id", &id, "--detector", "truth", "--segment-seconds", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    while !data.join(format!("matches/{id}/checkpoint.json")).exists() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let clients: Vec<_> = (0..n).map(|_| tokio::spawn(client(port, id.clone()))).collect();
    let status = tokio::task::spawn_blocking(move || analysis.wait()).await??;
    let wall = started.elapsed().as_secs_f64();
    anyhow::ensure!(status.success(), "the analysis failed");
    let mut latencies = Vec::new();
    for c in clients {
        for (index, at) in c.await?? {
            let output = data.join(format!("matches/{id}/outputs/{index:06}.json"));
            let committed = std::fs::metadata(&output)?.modified()?;
            latencies.push(at.duration_since(committed).unwrap_or_default().as_secs_f64() * 1000.0);
        }
    }
    Ok((latencies, (a.seconds * 25) as f64 / wall))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let work = tempfile::tempdir()?;
    let clip = work.path().join("match.mp4");
    let mut synth = Command::new(&a.bin);
    synth.arg("synth").arg(&clip).args(["--seconds", &a.seconds.to_string()]).stdout(Stdio::null());
    anyhow::ensure!(synth.status()?.success(), "synth failed");
    let data = work.path().join("data");
    let port = free_port()?;
    let mut server = Command::new(&a.bin)
        .arg("--data-dir")
        .arg(&data)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--token", "bench"])
        .stdout(Stdio::null())
        .spawn()?;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("clients  messages  latency p50    p95      analysis frames/s");
    let mut rates = Vec::new();
    for &n in &a.clients {
        let (latencies, fps) = run(&a, &clip, &data, port, n).await?;
        let ms = |q| match latencies.is_empty() {
            true => "-".to_string(),
            false => format!("{:.0}", quantile(&mut latencies.clone(), q)),
        };
        let (p50, p95) = (ms(0.5), ms(0.95));
        println!("{n:>7}  {:>8}  {p50:>8} ms  {p95:>5} ms  {fps:>8.1}", latencies.len());
        rates.push(fps);
    }
    if let (Some(first), Some(last)) = (rates.first(), rates.last()) {
        println!("analysis rate, most clients / fewest: {:.2}", last / first);
    }
    server.kill()?;
    server.wait()?;
    Ok(())
}
