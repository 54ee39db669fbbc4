//! Object storage: the seam between the pipeline and where its files live (a local folder, or S3). Keys are `/`-separated and validated; writes can be conditional on the current ETag.

mod local;
mod s3;

use std::future::Future;

use md5::{Digest, Md5};

pub use local::LocalStore;
pub use s3::S3Store;

#[derive(Clone, Debug, PartialEq)]
pub struct Object {
    pub bytes: Vec<u8>,
    pub etag: String,
}

/// When a put may happen.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    Always,
    /// Only if the object still has this ETag (S3 `If-Match`).
    IfMatch(String),
    /// Only if the object does not exist (S3 `If-None-Match: *`).
    IfNoneMatch,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("conditional write to {0} refused: the object changed since it was read")]
    PreconditionFailed(String),
    #[error("invalid object key {0:?}")]
    InvalidKey(String),
    #[error("storage I/O on {key}: {source}")]
    Io { key: String, source: std::io::Error },
    #[error("storage request for {key} failed: {message}")]
    Backend { key: String, message: String },
}

pub trait ObjectStore: Send + Sync {
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Object>, StoreError>> + Send;
    /// Returns the new ETag.
    fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        condition: Condition,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
    /// Keys under `prefix`, sorted.
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    /// The names one level under `prefix` (ending in `/`) that hold keys, sorted, without listing what
    /// is below them: the matches under `matches/`, however many objects each has.
    fn folders(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// A URL a client can PUT the object to directly, valid for `seconds`; `None` where the store has no
    /// such thing (a local folder).
    fn presign_put(&self, key: &str, seconds: u64) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    /// A URL a client can GET the object from directly, valid for `seconds`; `None` as for `presign_put`.
    fn presign_get(&self, key: &str, seconds: u64) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
}

/// A borrowed store is a store: one request's work can be metered (`cost::Metered`) over a shared one.
impl<S: ObjectStore> ObjectStore for &S {
    async fn get(&self, key: &str) -> Result<Option<Object>, StoreError> {
        (**self).get(key).await
    }
    async fn put(&self, key: &str, bytes: Vec<u8>, condition: Condition) -> Result<String, StoreError> {
        (**self).put(key, bytes, condition).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        (**self).list(prefix).await
    }
    async fn folders(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        (**self).folders(prefix).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        (**self).delete(key).await
    }
    async fn presign_put(&self, key: &str, seconds: u64) -> Result<Option<String>, StoreError> {
        (**self).presign_put(key, seconds).await
    }
    async fn presign_get(&self, key: &str, seconds: u64) -> Result<Option<String>, StoreError> {
        (**self).presign_get(key, seconds).await
    }
}

/// Keys are plain relative paths: no empty, `.` or `..` parts, no leading `/`, no control characters or
/// backslashes (uploads keep their users' names, spaces included).
pub fn validate_key(key: &str) -> Result<(), StoreError> {
    let ok = !key.is_empty()
        && key.len() <= 1024
        && key.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
        && key.chars().all(|c| !c.is_control() && c != '\\');
    if ok { Ok(()) } else { Err(StoreError::InvalidKey(key.into())) }
}

pub fn etag_of(bytes: &[u8]) -> String {
    format!("\"{:x}\"", Md5::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_climb_out_or_look_odd_are_refused() {
        for bad in ["", "/etc/passwd", "a/../b", "a//b", "./a", "a/", "a\nb", "a\\b"] {
            assert!(validate_key(bad).is_err(), "{bad:?}");
        }
        assert!(validate_key("matches/m1/segments/000001.mp4").is_ok());
        assert!(validate_key("uploads/Cup Final (2026).mp4").is_ok());
    }
}
