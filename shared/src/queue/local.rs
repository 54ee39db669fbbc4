use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use super::{Delivery, Message, SegmentQueue};
use crate::ids::MatchId;

#[derive(Default)]
struct Inner {
    waiting: VecDeque<Message>,
    in_flight: Vec<(String, Message)>,
    seen: HashSet<String>,
    next_receipt: u64,
}

#[derive(Default)]
pub struct LocalQueue {
    inner: Mutex<Inner>,
}

impl LocalQueue {
    pub fn new() -> LocalQueue {
        LocalQueue::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SegmentQueue for LocalQueue {
    async fn send(&self, message: &Message) -> anyhow::Result<()> {
        let mut q = self.lock();
        if q.seen.insert(message.dedup_id()) {
            q.waiting.push_back(message.clone());
        }
        Ok(())
    }

    async fn receive(&self) -> anyhow::Result<Option<Delivery>> {
        let mut q = self.lock();
        let busy: HashSet<MatchId> = q.in_flight.iter().map(|(_, m)| m.match_id().clone()).collect();
        let mut blocked = HashSet::new();
        let Some(pos) = q.waiting.iter().position(|m| {
            // The head of each group only: a later message never overtakes an earlier one of its match.
            let free = !busy.contains(m.match_id()) && !blocked.contains(m.match_id());
            blocked.insert(m.match_id().clone());
            free
        }) else {
            return Ok(None);
        };
        let message = q.waiting.remove(pos).expect("position is valid");
        q.next_receipt += 1;
        let receipt = format!("r{}", q.next_receipt);
        q.in_flight.push((receipt.clone(), message.clone()));
        Ok(Some(Delivery { message, receipt }))
    }

    async fn ack(&self, receipt: &str) -> anyhow::Result<()> {
        self.lock().in_flight.retain(|(r, _)| r != receipt);
        Ok(())
    }

    /// Nothing else competes for a message in one process.
    async fn extend(&self, _receipt: &str, _seconds: u32) -> anyhow::Result<()> {
        Ok(())
    }

    async fn release(&self, receipt: &str) -> anyhow::Result<()> {
        let mut q = self.lock();
        if let Some(i) = q.in_flight.iter().position(|(r, _)| r == receipt) {
            let (_, message) = q.in_flight.remove(i);
            q.waiting.push_front(message);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(m: &str, index: u64) -> Message {
        Message::Segment { match_id: MatchId::new(m).unwrap(), index }
    }

    #[tokio::test]
    async fn one_match_is_served_in_order_one_at_a_time_and_duplicates_are_dropped() {
        let q = LocalQueue::new();
        for m in [seg("a", 0), seg("a", 1), seg("a", 0), seg("b", 0)] {
            q.send(&m).await.unwrap();
        }
        let first = q.receive().await.unwrap().unwrap();
        assert_eq!(first.message, seg("a", 0));
        // a/1 waits for a/0; b/0 is free.
        let second = q.receive().await.unwrap().unwrap();
        assert_eq!(second.message, seg("b", 0));
        assert!(q.receive().await.unwrap().is_none());
        q.release(&first.receipt).await.unwrap();
        assert_eq!(q.receive().await.unwrap().unwrap().message, seg("a", 0));
    }
}
