use aws_sdk_sqs::error::DisplayErrorContext;

use super::{Delivery, Message, SegmentQueue};

/// An SQS FIFO queue: one message group per match (so one segment of a match at a time, in order) and
/// the message's own id as deduplication id (a segment enqueued twice is delivered once).
#[derive(Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
    /// Long-poll wait of a receive.
    pub wait_seconds: i32,
    /// How long a received message stays hidden before another worker may take it.
    pub visibility_seconds: i32,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> SqsQueue {
        SqsQueue { client, url: url.into(), wait_seconds: 20, visibility_seconds: 60 }
    }
}

fn context<E: std::error::Error + 'static, R: std::fmt::Debug>(
    what: &str,
    e: aws_sdk_sqs::error::SdkError<E, R>,
) -> anyhow::Error {
    anyhow::anyhow!("SQS {what} failed: {}", DisplayErrorContext(&e))
}

impl SegmentQueue for SqsQueue {
    async fn send(&self, message: &Message) -> anyhow::Result<()> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(serde_json::to_string(message)?)
            .message_group_id(message.match_id().as_str())
            .message_deduplication_id(message.dedup_id())
            .send()
            .await
            .map_err(|e| context("send", e))?;
        Ok(())
    }

    async fn receive(&self) -> anyhow::Result<Option<Delivery>> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(1)
            .wait_time_seconds(self.wait_seconds)
            .visibility_timeout(self.visibility_seconds)
            .send()
            .await
            .map_err(|e| context("receive", e))?;
        let Some(m) = out.messages().first() else { return Ok(None) };
        let receipt = m.receipt_handle().unwrap_or_default().to_string();
        match serde_json::from_str(m.body().unwrap_or_default()) {
            Ok(message) => Ok(Some(Delivery { message, receipt })),
            // Not ours to drop: it stays hidden, comes back, and the redrive policy parks it in the
            // dead-letter queue after a few attempts.
            Err(e) => {
                tracing::error!(
                    body = m.body().unwrap_or_default(),
                    "malformed queue message left for the dead-letter queue: {e}"
                );
                Ok(None)
            }
        }
    }

    async fn ack(&self, receipt: &str) -> anyhow::Result<()> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| context("delete", e))?;
        Ok(())
    }

    async fn release(&self, receipt: &str) -> anyhow::Result<()> {
        self.extend(receipt, 0).await
    }

    async fn extend(&self, receipt: &str, seconds: u32) -> anyhow::Result<()> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .visibility_timeout(seconds as i32)
            .send()
            .await
            .map_err(|e| context("change visibility", e))?;
        Ok(())
    }
}
