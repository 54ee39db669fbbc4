use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::primitives::ByteStream;

use super::{Condition, Object, ObjectStore, StoreError, validate_key};

/// An S3 bucket as an object store. Conditional puts are S3's own `If-Match` / `If-None-Match`, atomic
/// across any number of writers.
#[derive(Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Store {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> S3Store {
        S3Store { client, bucket: bucket.into() }
    }

    /// Every page of a listing of `prefix` (grouped at `delimiter`, if given), each handed to `take`.
    async fn each_page(
        &self,
        prefix: &str,
        delimiter: Option<&str>,
        mut take: impl FnMut(&ListObjectsV2Output) + Send,
    ) -> Result<(), StoreError> {
        let mut token = None;
        loop {
            let out = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_delimiter(delimiter.map(str::to_string))
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| backend(prefix, e))?;
            take(&out);
            match out.next_continuation_token() {
                Some(t) => token = Some(t.to_string()),
                None => return Ok(()),
            }
        }
    }
}

fn backend<E: std::error::Error + 'static, R: std::fmt::Debug>(key: &str, e: SdkError<E, R>) -> StoreError {
    StoreError::Backend { key: key.into(), message: DisplayErrorContext(&e).to_string() }
}

impl ObjectStore for S3Store {
    async fn get(&self, key: &str) -> Result<Option<Object>, StoreError> {
        validate_key(key)?;
        match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => {
                let etag = out.e_tag().unwrap_or_default().to_string();
                let bytes = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| StoreError::Backend { key: key.into(), message: e.to_string() })?;
                Ok(Some(Object { bytes: bytes.into_bytes().to_vec(), etag }))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(backend(key, e)),
        }
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, condition: Condition) -> Result<String, StoreError> {
        validate_key(key)?;
        let mut request = self.client.put_object().bucket(&self.bucket).key(key).body(ByteStream::from(bytes));
        request = match condition {
            Condition::Always => request,
            Condition::IfMatch(etag) => request.if_match(etag),
            Condition::IfNoneMatch => request.if_none_match("*"),
        };
        match request.send().await {
            Ok(out) => Ok(out.e_tag().unwrap_or_default().to_string()),
            // 412: the condition failed; 409: a concurrent conditional write won the race.
            Err(e) if e.raw_response().is_some_and(|r| matches!(r.status().as_u16(), 409 | 412)) => {
                Err(StoreError::PreconditionFailed(key.into()))
            }
            Err(e) => Err(backend(key, e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        self.each_page(prefix, None, |out| {
            keys.extend(out.contents().iter().filter_map(|o| o.key().map(str::to_string)))
        })
        .await?;
        keys.sort();
        Ok(keys)
    }

    async fn folders(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut names = Vec::new();
        self.each_page(prefix, Some("/"), |out| {
            let under = out.common_prefixes().iter().filter_map(|p| p.prefix());
            names.extend(under.filter_map(|p| p.strip_prefix(prefix)?.strip_suffix('/')).map(str::to_string))
        })
        .await?;
        names.sort();
        Ok(names)
    }

    async fn presign_put(&self, key: &str, seconds: u64) -> Result<Option<String>, StoreError> {
        let request = self.client.put_object().bucket(&self.bucket).key(key);
        Ok(Some(request.presigned(presigning(key, seconds)?).await.map_err(|e| backend(key, e))?.uri().to_string()))
    }

    async fn presign_get(&self, key: &str, seconds: u64) -> Result<Option<String>, StoreError> {
        let request = self.client.get_object().bucket(&self.bucket).key(key);
        Ok(Some(request.presigned(presigning(key, seconds)?).await.map_err(|e| backend(key, e))?.uri().to_string()))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        validate_key(key)?;
        self.client.delete_object().bucket(&self.bucket).key(key).send().await.map_err(|e| backend(key, e))?;
        Ok(())
    }
}

/// A presigned request for `key`, valid for `seconds`.
fn presigning(key: &str, seconds: u64) -> Result<aws_sdk_s3::presigning::PresigningConfig, StoreError> {
    validate_key(key)?;
    aws_sdk_s3::presigning::PresigningConfig::expires_in(std::time::Duration::from_secs(seconds))
        .map_err(|e| StoreError::Backend { key: key.into(), message: e.to_string() })
}
