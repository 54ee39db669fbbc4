//! Match ids and the object keys derived from them.
//!
//! Every key the pipeline touches is built here from a validated `MatchId`, so no client-supplied string
//! can name an object outside its match's prefix.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MatchId(String);

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("invalid match id {0:?}: use 1 to 64 characters from A-Z a-z 0-9 '-' '_', not starting with '-'")]
pub struct InvalidMatchId(pub String);

/// Where uploads land; each file directly under it becomes the match of its stem.
pub const UPLOADS: &str = "uploads/";

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum InvalidUpload {
    #[error("{0:?} is not a plain file name (no folders, not hidden)")]
    Name(String),
    #[error("{0:?} is not a file directly under uploads/")]
    Key(String),
    #[error(transparent)]
    Match(#[from] InvalidMatchId),
}

/// The one rule for upload names: non-empty, no folder separators, not hidden.
fn plain_file_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('/') && !name.contains('\\') && !name.starts_with('.')
}

/// The key an uploaded file named `file_name` lands at, and the match it becomes.
pub fn upload_key(file_name: &str) -> Result<(String, MatchId), InvalidUpload> {
    if !plain_file_name(file_name) {
        return Err(InvalidUpload::Name(file_name.into()));
    }
    Ok((format!("{UPLOADS}{file_name}"), MatchId::from_file_name(std::path::Path::new(file_name))?))
}

impl MatchId {
    pub fn new(id: impl Into<String>) -> Result<Self, InvalidMatchId> {
        let id = id.into();
        let ok = (1..=64).contains(&id.len())
            && !id.starts_with('-')
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok { Ok(MatchId(id)) } else { Err(InvalidMatchId(id)) }
    }

    /// A match id made from a file name (its stem, with other characters replaced by `_`).
    pub fn from_file_name(path: &std::path::Path) -> Result<Self, InvalidMatchId> {
        let stem = path.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default();
        let id: String = stem
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
            .take(64)
            .collect();
        MatchId::new(id.trim_start_matches('-'))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn prefix(&self) -> String {
        format!("matches/{}/", self.0)
    }

    pub fn manifest_key(&self) -> String {
        format!("matches/{}/manifest.json", self.0)
    }

    /// Page `page` of the manifest's segment list (`segment::PAGE` entries each).
    pub fn listing_key(&self, page: u64) -> String {
        format!("matches/{}/listing/{page:06}.json", self.0)
    }

    /// Closed page `page` of the match's event log (`events::log`).
    pub fn event_page_key(&self, page: u64) -> String {
        format!("matches/{}/events/{page:06}.json", self.0)
    }

    pub fn checkpoint_key(&self) -> String {
        format!("matches/{}/checkpoint.json", self.0)
    }

    /// A fixed camera's calibration given when the match is started, for the segmenter to copy into the
    /// manifest.
    pub fn calibration_key(&self) -> String {
        format!("matches/{}/calibration.json", self.0)
    }

    /// What the starter asked for beyond the source (`segment::StartOptions`), for the segmenter.
    pub fn options_key(&self) -> String {
        format!("matches/{}/options.json", self.0)
    }

    /// A committed segment annotated (`analysis::annotate`); `index.m3u8` is their playlist.
    pub fn annotated_key(&self, name: &str) -> String {
        format!("matches/{}/annotated/{name}", self.0)
    }

    /// Where the local server says a started match waits, starts or failed (`jobs`).
    pub fn job_key(&self) -> String {
        format!("matches/{}/job.json", self.0)
    }

    pub fn cost_key(&self) -> String {
        format!("matches/{}/cost.json", self.0)
    }

    pub fn segment_key(&self, index: u64) -> String {
        format!("matches/{}/segments/{index:06}.mp4", self.0)
    }

    /// Asks the segmenter to (go on) segmenting this match; its creation starts an invocation.
    pub fn request_key(&self) -> String {
        format!("requests/{}.json", self.0)
    }

    /// Hands a live source to the long-running live segmenter; its creation starts that task.
    pub fn live_key(&self) -> String {
        format!("live/{}.json", self.0)
    }

    /// The match an `uploads/{file}` key becomes.
    pub fn from_upload_key(key: &str) -> Result<Self, InvalidUpload> {
        let name = key.strip_prefix(UPLOADS).filter(|n| plain_file_name(n));
        let name = name.ok_or_else(|| InvalidUpload::Key(key.into()))?;
        Ok(MatchId::from_file_name(std::path::Path::new(name))?)
    }

    /// The match a key belongs to: `matches/{id}/...`, or the match an upload becomes.
    pub fn owning(key: &str) -> Option<Self> {
        match key.strip_prefix("matches/") {
            Some(rest) => MatchId::new(rest.split('/').next()?).ok(),
            None => MatchId::from_upload_key(key).ok(),
        }
    }

    /// The match a `requests/` or `live/` key is about.
    pub fn from_request_key(key: &str) -> Result<Self, InvalidMatchId> {
        let name = key.strip_prefix("requests/").or_else(|| key.strip_prefix("live/")).unwrap_or(key);
        MatchId::new(name.strip_suffix(".json").unwrap_or(name))
    }

    pub fn output_key(&self, index: u64) -> String {
        format!("matches/{}/outputs/{index:06}.json", self.0)
    }
}

impl TryFrom<String> for MatchId {
    type Error = InvalidMatchId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        MatchId::new(s)
    }
}

impl From<MatchId> for String {
    fn from(id: MatchId) -> String {
        id.0
    }
}

impl std::str::FromStr for MatchId {
    type Err = InvalidMatchId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MatchId::new(s)
    }
}

impl fmt::Display for MatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_ids_that_could_leave_their_prefix_are_refused() {
        for bad in ["", "../x", "a/b", "-rf", "a b", "é", &"x".repeat(65), ".."] {
            assert!(MatchId::new(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(MatchId::new("m1_final-2").unwrap().segment_key(3), "matches/m1_final-2/segments/000003.mp4");
    }

    #[test]
    fn file_names_become_match_ids() {
        assert_eq!(
            MatchId::from_file_name(std::path::Path::new("uploads/Cup Final 2026.mp4")).unwrap().as_str(),
            "Cup_Final_2026"
        );
        assert!(MatchId::from_file_name(std::path::Path::new("uploads/---.mp4")).is_err());
    }

    #[test]
    fn upload_names_follow_one_rule_and_keys_name_their_match() {
        assert_eq!(
            upload_key("Cup Final.mp4").unwrap(),
            ("uploads/Cup Final.mp4".into(), MatchId::new("Cup_Final").unwrap())
        );
        for bad in ["", "a/b.mp4", "a\\b.mp4", ".hidden.mp4"] {
            assert!(matches!(upload_key(bad), Err(InvalidUpload::Name(_))), "{bad:?} accepted");
            assert!(MatchId::from_upload_key(&format!("uploads/{bad}")).is_err(), "{bad:?} accepted as a key");
        }
        assert!(MatchId::from_upload_key("elsewhere/a.mp4").is_err());
        assert_eq!(MatchId::owning("matches/m1/outputs/000001.json"), MatchId::new("m1").ok());
        assert_eq!(MatchId::owning("uploads/Cup Final.mp4"), MatchId::new("Cup_Final").ok());
        assert_eq!(MatchId::owning("requests/m1.json"), None);
    }

    #[test]
    fn deserialising_validates_the_id() {
        assert!(serde_json::from_str::<MatchId>("\"../etc\"").is_err());
        assert_eq!(serde_json::from_str::<MatchId>("\"m1\"").unwrap().as_str(), "m1");
    }
}
