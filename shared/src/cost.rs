//! Cost metering: what a match run used (S3 and SQS requests and bytes, Lambda GB-seconds, worker
//! compute seconds by instance type, WebSocket messages), priced with a configurable table and kept in
//! `matches/{id}/cost.json`.
//!
//! `Metered` wraps a store and `MeteredQueue` a queue; both count into a shared `Meter`, per match.
//! `Meter::flush` folds what was counted into each match's `cost.json` with a conditional put, counting
//! its own requests too, so concurrent workers add up instead of overwriting each other.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::ids::MatchId;
use crate::queue::{Delivery, Message, SegmentQueue};
use crate::storage::{Condition, Object, ObjectStore, StoreError};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub s3_get: u64,
    pub s3_put: u64,
    pub s3_list: u64,
    pub s3_delete: u64,
    pub s3_bytes_in: u64,
    pub s3_bytes_out: u64,
    pub sqs_requests: u64,
    pub lambda_invocations: u64,
    pub lambda_gb_seconds: f64,
    /// Compute seconds of worker tasks, by instance type.
    pub worker_seconds: BTreeMap<String, f64>,
    /// WebSocket messages sent to the match's watchers or received from them, in API Gateway's billing
    /// units of 32 KiB.
    #[serde(default)]
    pub websocket_messages: u64,
}

impl Usage {
    pub fn add(&mut self, o: &Usage) {
        self.s3_get += o.s3_get;
        self.s3_put += o.s3_put;
        self.s3_list += o.s3_list;
        self.s3_delete += o.s3_delete;
        self.s3_bytes_in += o.s3_bytes_in;
        self.s3_bytes_out += o.s3_bytes_out;
        self.sqs_requests += o.sqs_requests;
        self.lambda_invocations += o.lambda_invocations;
        self.lambda_gb_seconds += o.lambda_gb_seconds;
        for (k, v) in &o.worker_seconds {
            *self.worker_seconds.entry(k.clone()).or_default() += v;
        }
        self.websocket_messages += o.websocket_messages;
    }

    /// One Lambda invocation of `seconds` by a function of `memory_mb`, billed by the started millisecond.
    pub fn lambda_invocation(&mut self, memory_mb: f64, seconds: f64) {
        self.lambda_invocations += 1;
        self.lambda_gb_seconds += memory_mb / 1024.0 * (seconds * 1000.0).ceil() / 1000.0;
    }
}

/// The memory Lambda gives this function (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`), 0 elsewhere.
pub fn lambda_memory_mb() -> f64 {
    std::env::var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").ok().and_then(|m| m.parse().ok()).unwrap_or(0.0)
}

/// Public on-demand list prices in US dollars for one region, with the date they were read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prices {
    pub region: String,
    pub dated: String,
    pub s3_put_per_1000: f64,
    pub s3_get_per_1000: f64,
    pub sqs_fifo_per_million: f64,
    pub lambda_gb_second: f64,
    pub lambda_per_million: f64,
    pub instance_hour: BTreeMap<String, f64>,
    /// API Gateway WebSocket messages (a price table older than this field reads the list price).
    #[serde(default = "websocket_per_million")]
    pub websocket_per_million: f64,
}

fn websocket_per_million() -> f64 {
    1.00
}

impl Default for Prices {
    fn default() -> Self {
        let instance_hour = [
            ("g4dn.xlarge", 0.526),
            ("g5.xlarge", 1.006),
            ("g6.xlarge", 0.8048),
            ("c7i.large", 0.08925),
            ("fargate-1vcpu-2gb", 0.04937),
            ("local", 0.0),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Prices {
            region: "us-east-1".into(),
            dated: "2026-11-01".into(),
            s3_put_per_1000: 0.005,
            s3_get_per_1000: 0.0004,
            sqs_fifo_per_million: 0.50,
            lambda_gb_second: 0.000_016_666_7,
            lambda_per_million: 0.20,
            instance_hour,
            websocket_per_million: websocket_per_million(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Dollars {
    pub s3: f64,
    pub sqs: f64,
    pub lambda: f64,
    pub worker: f64,
    #[serde(default)]
    pub websocket: f64,
    pub total: f64,
}

impl Prices {
    /// The table in the JSON file `TACTICEYE_PRICES_FILE`, or the defaults.
    pub fn from_env() -> anyhow::Result<Prices> {
        match std::env::var_os("TACTICEYE_PRICES_FILE") {
            Some(path) => {
                let bytes =
                    std::fs::read(&path).map_err(|e| anyhow::anyhow!("cannot read price table {path:?}: {e}"))?;
                serde_json::from_slice(&bytes).map_err(|e| anyhow::anyhow!("price table {path:?} is malformed: {e}"))
            }
            None => Ok(Prices::default()),
        }
    }
}

/// What `cost.json` holds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    pub usage: Usage,
    pub dollars: Dollars,
    pub prices: Option<Prices>,
}

/// A match's `cost.json`, or `None` when nothing has been metered yet.
pub async fn load<S: ObjectStore>(store: &S, id: &MatchId) -> anyhow::Result<Option<Cost>> {
    let Some(obj) = store.get(&id.cost_key()).await? else { return Ok(None) };
    Ok(Some(serde_json::from_slice(&obj.bytes).with_context(|| format!("the cost of match {id} is unreadable"))?))
}

pub fn price(u: &Usage, p: &Prices) -> Dollars {
    // LIST is billed like PUT; DELETE is free; transfer within the region is free.
    let s3 = (u.s3_put + u.s3_list) as f64 / 1000.0 * p.s3_put_per_1000 + u.s3_get as f64 / 1000.0 * p.s3_get_per_1000;
    let sqs = u.sqs_requests as f64 / 1e6 * p.sqs_fifo_per_million;
    let lambda = u.lambda_gb_seconds * p.lambda_gb_second + u.lambda_invocations as f64 / 1e6 * p.lambda_per_million;
    let worker =
        u.worker_seconds.iter().map(|(t, s)| s / 3600.0 * p.instance_hour.get(t).copied().unwrap_or(0.0)).sum();
    let websocket = u.websocket_messages as f64 / 1e6 * p.websocket_per_million;
    Dollars { s3, sqs, lambda, worker, websocket, total: s3 + sqs + lambda + worker + websocket }
}

/// Usage counted per match since the last flush.
#[derive(Default)]
pub struct Meter {
    pending: Mutex<BTreeMap<MatchId, Usage>>,
    receipts: Mutex<BTreeMap<String, MatchId>>,
}

impl Meter {
    pub fn new() -> Arc<Meter> {
        Arc::new(Meter::default())
    }

    pub fn record(&self, id: &MatchId, f: impl FnOnce(&mut Usage)) {
        f(self.pending.lock().unwrap_or_else(|p| p.into_inner()).entry(id.clone()).or_default());
    }

    fn record_key(&self, key: &str, f: impl FnOnce(&mut Usage)) {
        if let Some(id) = MatchId::owning(key) {
            self.record(&id, f);
        }
    }

    /// Adds what was counted for `id` to its `cost.json` (through the unmetered `store`), priced with
    /// `prices`. The flush's own requests are part of what it adds.
    pub async fn flush<S: ObjectStore>(&self, store: &S, id: &MatchId, prices: &Prices) -> Result<(), StoreError> {
        let Some(mut delta) = self.pending.lock().unwrap_or_else(|p| p.into_inner()).remove(id) else { return Ok(()) };
        let key = id.cost_key();
        loop {
            let current = store.get(&key).await?;
            delta.s3_get += 1;
            let (mut cost, condition) = match &current {
                Some(Object { bytes, etag }) => {
                    delta.s3_bytes_out += bytes.len() as u64;
                    (serde_json::from_slice::<Cost>(bytes).unwrap_or_default(), Condition::IfMatch(etag.clone()))
                }
                None => (Cost::default(), Condition::IfNoneMatch),
            };
            delta.s3_put += 1;
            let mut usage = cost.usage.clone();
            usage.add(&delta);
            // The put's own bytes are known only once serialised, and counting them can lengthen the file
            // (a digit more): serialise until the length counted is the length written.
            let mut bytes = Vec::new();
            for _ in 0..8 {
                let counted = bytes.len() as u64;
                let mut with_bytes = usage.clone();
                with_bytes.s3_bytes_in += counted;
                cost = Cost { dollars: price(&with_bytes, prices), usage: with_bytes, prices: Some(prices.clone()) };
                bytes = serde_json::to_vec_pretty(&cost).expect("cost serialises");
                if bytes.len() as u64 == counted {
                    break;
                }
            }
            let size = bytes.len() as u64;
            match store.put(&key, bytes, condition).await {
                Ok(_) => return Ok(()),
                // Another process flushed meanwhile: its figures stand; ours are added on top.
                Err(StoreError::PreconditionFailed(_)) => delta.s3_bytes_in += size,
                Err(e) => {
                    self.record(id, |u| u.add(&delta));
                    return Err(e);
                }
            }
        }
    }
}

/// A store that counts every request and byte into a `Meter`.
#[derive(Clone)]
pub struct Metered<S> {
    pub inner: S,
    pub meter: Arc<Meter>,
}

impl<S: ObjectStore> ObjectStore for Metered<S> {
    async fn get(&self, key: &str) -> Result<Option<Object>, StoreError> {
        let got = self.inner.get(key).await;
        let bytes = got.as_ref().ok().and_then(|o| o.as_ref()).map_or(0, |o| o.bytes.len() as u64);
        self.meter.record_key(key, |u| {
            u.s3_get += 1;
            u.s3_bytes_out += bytes;
        });
        got
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, condition: Condition) -> Result<String, StoreError> {
        let size = bytes.len() as u64;
        self.meter.record_key(key, |u| {
            u.s3_put += 1;
            u.s3_bytes_in += size;
        });
        self.inner.put(key, bytes, condition).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.meter.record_key(prefix, |u| u.s3_list += 1);
        self.inner.list(prefix).await
    }

    async fn folders(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.meter.record_key(prefix, |u| u.s3_list += 1);
        self.inner.folders(prefix).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.meter.record_key(key, |u| u.s3_delete += 1);
        self.inner.delete(key).await
    }

    async fn presign_put(&self, key: &str, seconds: u64) -> Result<Option<String>, StoreError> {
        self.inner.presign_put(key, seconds).await
    }

    async fn presign_get(&self, key: &str, seconds: u64) -> Result<Option<String>, StoreError> {
        self.inner.presign_get(key, seconds).await
    }
}

/// A queue that counts its requests into a `Meter`. Empty receives belong to no match and are not counted.
#[derive(Clone)]
pub struct MeteredQueue<Q> {
    pub inner: Q,
    pub meter: Arc<Meter>,
}

impl<Q: SegmentQueue> MeteredQueue<Q> {
    fn by_receipt(&self, receipt: &str, forget: bool) {
        let mut receipts = self.meter.receipts.lock().unwrap_or_else(|p| p.into_inner());
        let id = if forget { receipts.remove(receipt) } else { receipts.get(receipt).cloned() };
        drop(receipts);
        if let Some(id) = id {
            self.meter.record(&id, |u| u.sqs_requests += 1);
        }
    }
}

impl<Q: SegmentQueue> SegmentQueue for MeteredQueue<Q> {
    async fn send(&self, message: &Message) -> anyhow::Result<()> {
        self.meter.record(message.match_id(), |u| u.sqs_requests += 1);
        self.inner.send(message).await
    }

    async fn receive(&self) -> anyhow::Result<Option<Delivery>> {
        let got = self.inner.receive().await?;
        if let Some(d) = &got {
            self.meter.record(d.message.match_id(), |u| u.sqs_requests += 1);
            self.meter
                .receipts
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(d.receipt.clone(), d.message.match_id().clone());
        }
        Ok(got)
    }

    async fn ack(&self, receipt: &str) -> anyhow::Result<()> {
        self.by_receipt(receipt, true);
        self.inner.ack(receipt).await
    }

    async fn release(&self, receipt: &str) -> anyhow::Result<()> {
        self.by_receipt(receipt, true);
        self.inner.release(receipt).await
    }

    async fn extend(&self, receipt: &str, seconds: u32) -> anyhow::Result<()> {
        self.by_receipt(receipt, false);
        self.inner.extend(receipt, seconds).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::LocalQueue;
    use crate::storage::LocalStore;

    #[tokio::test]
    async fn cost_json_counts_exactly_the_requests_made_and_adds_up_across_flushes() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let meter = Meter::new();
        let metered = Metered { inner: LocalStore::new(dir.path()), meter: meter.clone() };
        let queue = MeteredQueue { inner: LocalQueue::new(), meter: meter.clone() };
        let id = MatchId::new("m1").unwrap();
        metered.put("uploads/m1.mp4", vec![0; 100], Condition::Always).await.unwrap();
        metered.put(&id.segment_key(0), vec![0; 40], Condition::Always).await.unwrap();
        metered.get(&id.segment_key(0)).await.unwrap();
        metered.get(&id.checkpoint_key()).await.unwrap(); // a miss is a request too
        metered.list(&id.prefix()).await.unwrap();
        queue.send(&Message::Segment { match_id: id.clone(), index: 0 }).await.unwrap();
        let d = queue.receive().await.unwrap().unwrap();
        queue.extend(&d.receipt, 30).await.unwrap();
        queue.ack(&d.receipt).await.unwrap();
        assert!(queue.receive().await.unwrap().is_none());
        meter.record(&id, |u| *u.worker_seconds.entry("g4dn.xlarge".into()).or_default() += 3600.0);
        let prices = Prices::default();
        meter.flush(&store, &id, &prices).await.unwrap();

        let cost: Cost =
            serde_json::from_slice(&store.get("matches/m1/cost.json").await.unwrap().unwrap().bytes).unwrap();
        let u = &cost.usage;
        // 2 gets + the flush's own get; 2 puts + the flush's own put.
        assert_eq!((u.s3_get, u.s3_put, u.s3_list, u.sqs_requests), (3, 3, 1, 4));
        assert_eq!(u.s3_bytes_out, 40);
        let file_size = store.get("matches/m1/cost.json").await.unwrap().unwrap().bytes.len() as u64;
        assert_eq!(u.s3_bytes_in, 140 + file_size, "the flush counts the bytes of cost.json itself");
        assert!((cost.dollars.worker - 0.526).abs() < 1e-9);

        // A second flush adds to the first.
        metered.get(&id.segment_key(0)).await.unwrap();
        meter.flush(&store, &id, &prices).await.unwrap();
        let again: Cost =
            serde_json::from_slice(&store.get("matches/m1/cost.json").await.unwrap().unwrap().bytes).unwrap();
        assert_eq!((again.usage.s3_get, again.usage.s3_put), (3 + 2, 3 + 1));
    }
}
