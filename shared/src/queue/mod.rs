//! The segment queue: FIFO within a match (one message group per match), deduplicated by message id.
//! In-process for the local mode; SQS FIFO in the cloud.

mod local;
mod sqs;

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::ids::MatchId;

pub use local::LocalQueue;
pub use sqs::SqsQueue;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    Segment {
        match_id: MatchId,
        index: u64,
    },
    /// All `segments` have been enqueued; the match is complete once they are applied.
    End {
        match_id: MatchId,
        segments: u64,
    },
}

impl Message {
    pub fn match_id(&self) -> &MatchId {
        match self {
            Message::Segment { match_id, .. } | Message::End { match_id, .. } => match_id,
        }
    }

    /// The same message sent twice has the same id, and is delivered once.
    pub fn dedup_id(&self) -> String {
        match self {
            Message::Segment { match_id, index } => format!("{match_id}-{index}"),
            Message::End { match_id, .. } => format!("{match_id}-end"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub message: Message,
    pub receipt: String,
}

pub trait SegmentQueue: Send + Sync {
    fn send(&self, message: &Message) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// The next message whose match has none in flight, if any.
    fn receive(&self) -> impl Future<Output = anyhow::Result<Option<Delivery>>> + Send;
    /// Done with a message: it is not delivered again.
    fn ack(&self, receipt: &str) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Not done: it goes back to the head of its group.
    fn release(&self, receipt: &str) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Still working on it: keep it hidden from other workers for `seconds` more.
    fn extend(&self, receipt: &str, seconds: u32) -> impl Future<Output = anyhow::Result<()>> + Send;
}
