//! `tacticeye serve`'s analyses: each match started through `POST /matches` runs as a `tacticeye analyze`
//! child process, at most `max` at once; the others wait in the order they came and say where they stand
//! in their job (`tacticeye::jobs`). A child of its own keeps one bad video from taking the server down,
//! and a request stays in `requests/` until its analysis ends, so a restarted server takes it up again.

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use tacticeye::ids::MatchId;
use tacticeye::jobs::{self, Job};
use tacticeye::segment::SegmentRequest;
use tacticeye::storage::{LocalStore, ObjectStore};
use tacticeye_api::Admission;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::sync::{Mutex, Semaphore};

pub struct Slots {
    data_dir: PathBuf,
    /// `tacticeye analyze`'s options for every match (`--detector`, `--calibration`).
    options: Vec<String>,
    store: LocalStore,
    free: Semaphore,
    /// Matches waiting for a slot, in order, and every match waiting or running; held while their jobs
    /// are written, so that a place in the line is never written over a later `Starting`.
    waiting: Mutex<(VecDeque<MatchId>, HashSet<MatchId>)>,
}

/// Starts the slots; each id sent names a match whose request is in `requests/`, and is told back once
/// the match has its place in the line. Requests a stopped server left behind are taken up first.
pub async fn start(data_dir: &Path, options: Vec<String>, max: usize) -> anyhow::Result<UnboundedSender<Admission>> {
    let store = LocalStore::new(data_dir);
    let left: Vec<MatchId> =
        store.list("requests/").await?.iter().filter_map(|key| MatchId::from_request_key(key).ok()).collect();
    let slots = Arc::new(Slots {
        data_dir: data_dir.to_path_buf(),
        options,
        store,
        free: Semaphore::new(max.max(1)),
        waiting: Mutex::default(),
    });
    let (tx, mut rx) = unbounded_channel::<Admission>();
    for id in left {
        tx.send((id, None))?;
    }
    tokio::spawn(async move {
        while let Some((id, told)) = rx.recv().await {
            let slots = slots.clone();
            if slots.admit(&id).await {
                tokio::spawn(async move { slots.run(id).await });
            }
            // The one who asked may have gone: nothing to tell then.
            if let Some(told) = told {
                let _ = told.send(());
            }
        }
    });
    Ok(tx)
}

impl Slots {
    /// Puts the match at the end of the line, unless it is in it or running already.
    async fn admit(&self, id: &MatchId) -> bool {
        let mut waiting = self.waiting.lock().await;
        if !waiting.1.insert(id.clone()) {
            return false;
        }
        waiting.0.push_back(id.clone());
        self.note(id, &Job::Queued { position: waiting.0.len() }).await;
        true
    }

    async fn run(&self, id: MatchId) {
        // The semaphore is fair: slots go in the order the matches were admitted.
        let Ok(_slot) = self.free.acquire().await else { return };
        {
            let mut waiting = self.waiting.lock().await;
            waiting.0.retain(|w| *w != id);
            for (i, other) in waiting.0.iter().enumerate() {
                self.note(other, &Job::Queued { position: i + 1 }).await;
            }
            self.note(&id, &Job::Starting).await;
        }
        tracing::info!(match_id = %id, "analysis started");
        match self.analyse(&id).await {
            Ok(()) => {
                tracing::info!(match_id = %id, "analysis ended");
                if let Err(e) = jobs::clear(&self.store, &id).await {
                    tracing::warn!(match_id = %id, "cannot clear its job: {e}");
                }
            }
            Err(e) => {
                tracing::warn!(match_id = %id, "analysis failed: {e:#}");
                self.note(&id, &Job::Failed { error: format!("{e:#}") }).await;
            }
        }
        // Ended either way: a failed request is not retried by the next server.
        if let Err(e) = self.store.delete(&id.request_key()).await {
            tracing::warn!(match_id = %id, "cannot remove its request: {e}");
        }
        self.waiting.lock().await.1.remove(&id);
    }

    /// `tacticeye analyze` on the request's source; its log goes to `matches/{id}/analysis.log`, and the
    /// error it ends with, if any, is this one.
    async fn analyse(&self, id: &MatchId) -> anyhow::Result<()> {
        let request =
            self.store.get(&id.request_key()).await?.ok_or_else(|| anyhow::anyhow!("its request vanished"))?;
        let mut command = tokio::process::Command::new(std::env::current_exe()?);
        command.arg("--data-dir").arg(&self.data_dir).arg("analyze");
        match serde_json::from_slice(&request.bytes)? {
            SegmentRequest::Upload { upload } => command.arg(self.data_dir.join(upload)),
            SegmentRequest::File { path } => command.arg(path),
            SegmentRequest::Url { url, source_type } => {
                command.arg(url);
                match source_type {
                    Some(kind) => command.arg("--source-type").arg(kind.to_string()),
                    None => &mut command,
                }
            }
        };
        let log_path = self.data_dir.join("matches").join(id.as_str()).join("analysis.log");
        std::fs::create_dir_all(log_path.parent().expect("a match folder"))?;
        let log = std::fs::File::create(&log_path)?;
        let status = command
            .args(["--match-id", id.as_str()])
            .args(&self.options)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .status()
            .await?;
        if status.success() {
            return Ok(());
        }
        // The CLI ends a failure with a line `error: ` and the reason (which may run over lines).
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let at = if text.starts_with("error: ") { Some(0) } else { text.find("\nerror: ").map(|at| at + 1) };
        let error = at.map_or(text.trim(), |at| text[at + 7..].trim());
        anyhow::bail!("{}", if error.is_empty() { format!("tacticeye analyze {status}") } else { error.to_string() })
    }

    async fn note(&self, id: &MatchId, job: &Job) {
        if let Err(e) = jobs::save(&self.store, id, job).await {
            tracing::warn!(match_id = %id, "cannot record its job: {e}");
        }
    }
}
