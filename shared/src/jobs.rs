//! Where a started match stands before its checkpoint says: waiting for one of the local server's
//! analysis slots, running, or failed. Kept at `matches/{id}/job.json` while it says something the
//! checkpoint cannot; the analysis's own checkpoint and manifest say the rest.

use serde::{Deserialize, Serialize};

use crate::ids::MatchId;
use crate::storage::{Condition, ObjectStore, StoreError};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Job {
    /// `position` 1 starts next.
    Queued {
        position: usize,
    },
    /// Started, nothing committed yet.
    Starting,
    Failed {
        error: String,
    },
}

pub async fn load<S: ObjectStore>(store: &S, id: &MatchId) -> Result<Option<Job>, StoreError> {
    let Some(object) = store.get(&id.job_key()).await? else { return Ok(None) };
    // Written by us only; an unreadable one says nothing.
    Ok(serde_json::from_slice(&object.bytes).ok())
}

pub async fn save<S: ObjectStore>(store: &S, id: &MatchId, job: &Job) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(job).expect("a job serialises");
    store.put(&id.job_key(), bytes, Condition::Always).await.map(|_| ())
}

pub async fn clear<S: ObjectStore>(store: &S, id: &MatchId) -> Result<(), StoreError> {
    store.delete(&id.job_key()).await
}
