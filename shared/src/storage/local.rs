use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{Condition, Object, ObjectStore, StoreError, etag_of, validate_key};

/// A folder as an object store. Puts write a temporary file and rename it over the key, so a reader sees
/// the old object or the new one, never half of one. Conditional puts hold a lock on `.lock` in the folder,
/// so they are atomic across processes too (two runs of one match on one machine).
const LOCK: &str = ".lock";

pub struct LocalStore {
    root: PathBuf,
    write_lock: Mutex<()>,
}

impl LocalStore {
    pub fn new(root: impl Into<PathBuf>) -> LocalStore {
        LocalStore { root: root.into(), write_lock: Mutex::new(()) }
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }

    fn read(path: &Path, key: &str) -> Result<Option<Object>, StoreError> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(Some(Object { etag: etag_of(&bytes), bytes })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Io { key: key.into(), source }),
        }
    }

    /// The names of the folders in `dir`, sorted; none where `dir` does not exist.
    fn subfolders(dir: &Path, prefix: &str) -> Result<Vec<String>, StoreError> {
        let io = |source| StoreError::Io { key: prefix.into(), source };
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io)?;
            if entry.file_type().map_err(io)?.is_dir() {
                names.extend(entry.file_name().to_str().map(str::to_string));
            }
        }
        names.sort();
        Ok(names)
    }

    /// The folder's lock file, locked; unlocked when dropped.
    fn lock(&self) -> std::io::Result<std::fs::File> {
        std::fs::create_dir_all(&self.root)?;
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(self.root.join(LOCK))?;
        file.lock()?;
        Ok(file)
    }

    /// Keys under `prefix`, walking only the folder the prefix names (not the whole store).
    fn walk(root: &Path, prefix: &str) -> Result<Vec<String>, StoreError> {
        let start = match prefix.rfind('/') {
            Some(i) if validate_key(&prefix[..i]).is_ok() => root.join(&prefix[..i]),
            _ => root.to_path_buf(),
        };
        let mut keys = Vec::new();
        let mut dirs = vec![start];
        while let Some(dir) = dirs.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory) => {
                    continue;
                }
                Err(source) => return Err(StoreError::Io { key: prefix.into(), source }),
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if entry.file_name().to_string_lossy().starts_with('.') {
                    // The lock file, and temporary files a put has not renamed yet.
                } else if let Ok(rel) = path.strip_prefix(root) {
                    let key = rel.to_string_lossy().replace('\\', "/");
                    if key.starts_with(prefix) && validate_key(&key).is_ok() {
                        keys.push(key);
                    }
                }
            }
        }
        keys.sort();
        Ok(keys)
    }
}

impl ObjectStore for LocalStore {
    async fn get(&self, key: &str) -> Result<Option<Object>, StoreError> {
        // Off the async threads: a server's other requests go on while a large object is read.
        let (path, owned) = (self.path(key)?, key.to_string());
        tokio::task::spawn_blocking(move || LocalStore::read(&path, &owned))
            .await
            .map_err(|e| StoreError::Io { key: key.into(), source: std::io::Error::other(e) })?
    }

    async fn put(&self, key: &str, bytes: Vec<u8>, condition: Condition) -> Result<String, StoreError> {
        let path = self.path(key)?;
        let io = |source| StoreError::Io { key: key.into(), source };
        let _guard = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let _lock = if condition == Condition::Always { None } else { Some(self.lock().map_err(io)?) };
        let current = LocalStore::read(&path, key)?;
        let allowed = match (&condition, &current) {
            (Condition::Always, _) => true,
            (Condition::IfMatch(etag), Some(obj)) => &obj.etag == etag,
            (Condition::IfMatch(_), None) => false,
            (Condition::IfNoneMatch, current) => current.is_none(),
        };
        if !allowed {
            return Err(StoreError::PreconditionFailed(key.into()));
        }
        let dir = path.parent().expect("keys have a parent");
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        std::io::Write::write_all(&mut tmp, &bytes).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(&path).map_err(|e| io(e.error))?;
        Ok(etag_of(&bytes))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let (root, owned) = (self.root.clone(), prefix.to_string());
        tokio::task::spawn_blocking(move || LocalStore::walk(&root, &owned))
            .await
            .map_err(|e| StoreError::Io { key: prefix.into(), source: std::io::Error::other(e) })?
    }

    async fn folders(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let (dir, owned) = (self.path(prefix.trim_end_matches('/'))?, prefix.to_string());
        tokio::task::spawn_blocking(move || LocalStore::subfolders(&dir, &owned))
            .await
            .map_err(|e| StoreError::Io { key: prefix.into(), source: std::io::Error::other(e) })?
    }

    async fn presign_put(&self, _key: &str, _seconds: u64) -> Result<Option<String>, StoreError> {
        Ok(None)
    }

    async fn presign_get(&self, _key: &str, _seconds: u64) -> Result<Option<String>, StoreError> {
        Ok(None)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match std::fs::remove_file(self.path(key)?) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(StoreError::Io { key: key.into(), source: e }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn conditional_puts_follow_if_match_and_if_none_match() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let e1 = store.put("m/c.json", b"one".to_vec(), Condition::IfNoneMatch).await.unwrap();
        assert!(matches!(
            store.put("m/c.json", b"x".to_vec(), Condition::IfNoneMatch).await,
            Err(StoreError::PreconditionFailed(_))
        ));
        let e2 = store.put("m/c.json", b"two".to_vec(), Condition::IfMatch(e1.clone())).await.unwrap();
        assert!(matches!(
            store.put("m/c.json", b"x".to_vec(), Condition::IfMatch(e1)).await,
            Err(StoreError::PreconditionFailed(_))
        ));
        let got = store.get("m/c.json").await.unwrap().unwrap();
        assert_eq!((got.bytes.as_slice(), got.etag), (&b"two"[..], e2));
        assert_eq!(store.list("m/").await.unwrap(), vec!["m/c.json".to_string()]);
        store.delete("m/c.json").await.unwrap();
        assert!(store.get("m/c.json").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_listing_is_by_key_prefix_not_by_folder() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        for key in ["m/a.json", "m/ab/c.json", "m/b.json", "n/a.json"] {
            store.put(key, Vec::new(), Condition::Always).await.unwrap();
        }
        assert_eq!(store.list("m/a").await.unwrap(), ["m/a.json", "m/ab/c.json"]);
        assert_eq!(store.list("m/a.json").await.unwrap(), ["m/a.json"]);
        assert_eq!(store.list("").await.unwrap().len(), 4);
        assert!(store.list("m/a.json/x").await.unwrap().is_empty());
        assert!(store.list("z/").await.unwrap().is_empty());
    }
}
