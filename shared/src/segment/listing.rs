//! The manifest's segment list, stored in pages of `PAGE` entries beside the manifest: listing a segment
//! rewrites one page, and reading one entry reads one page, at segment 2,700 as at segment 1.
//!
//! Pages are written before the manifest that counts them, and only ever extended, so a reader that goes
//! by the manifest's count always finds its entries; a retried append rewrites the same bytes.

use std::collections::BTreeMap;

use super::{Manifest, ManifestError, SegmentInfo};
use crate::storage::{Condition, ObjectStore};

/// Segment entries per page.
pub const PAGE: u64 = 100;

async fn read_page<S: ObjectStore>(store: &S, m: &Manifest, page: u64) -> Result<Vec<SegmentInfo>, ManifestError> {
    let key = m.match_id.listing_key(page);
    let obj = store.get(&key).await?.ok_or_else(|| ManifestError::MissingPage(key.clone()))?;
    serde_json::from_slice(&obj.bytes).map_err(|e| ManifestError::Unreadable(m.match_id.clone(), e))
}

async fn write_page<S: ObjectStore>(store: &S, m: &Manifest, page: u64, entries: &[SegmentInfo]) -> anyhow::Result<()> {
    store.put(&m.match_id.listing_key(page), serde_json::to_vec(entries)?, Condition::Always).await?;
    Ok(())
}

/// Lists `added` after the manifest's segments: their pages are stored, and the manifest's count and last
/// entry updated (the caller then saves the manifest).
pub(super) async fn append<S: ObjectStore>(store: &S, m: &mut Manifest, added: &[SegmentInfo]) -> anyhow::Result<()> {
    if added.is_empty() {
        return Ok(());
    }
    let mut page = m.listed / PAGE;
    let mut entries = if m.listed.is_multiple_of(PAGE) {
        Vec::new()
    } else {
        // A failed append may have left more entries than the manifest counts: those are redone.
        let mut open = read_page(store, m, page).await?;
        open.truncate((m.listed % PAGE) as usize);
        open
    };
    for info in added {
        entries.push(info.clone());
        if entries.len() as u64 == PAGE {
            write_page(store, m, page, &entries).await?;
            entries.clear();
            page += 1;
        }
    }
    if !entries.is_empty() {
        write_page(store, m, page, &entries).await?;
    }
    m.listed += added.len() as u64;
    m.last = added.last().cloned();
    Ok(())
}

/// A reader of one manifest's entries, a page at a time; pages read once are kept for the next lookups.
pub struct Listing<'a, S> {
    store: &'a S,
    manifest: &'a Manifest,
    pages: BTreeMap<u64, Vec<SegmentInfo>>,
}

impl<'a, S: ObjectStore> Listing<'a, S> {
    pub fn new(store: &'a S, manifest: &'a Manifest) -> Self {
        Listing { store, manifest, pages: BTreeMap::new() }
    }

    /// Segment `index`'s entry, if the manifest lists it.
    pub async fn get(&mut self, index: u64) -> Result<Option<&SegmentInfo>, ManifestError> {
        if index >= self.manifest.listed {
            return Ok(None);
        }
        let page = index / PAGE;
        if !self.pages.contains_key(&page) {
            let entries = read_page(self.store, self.manifest, page).await?;
            self.pages.insert(page, entries);
        }
        let entry = self.pages[&page].get((index % PAGE) as usize);
        entry.map(Some).ok_or_else(|| ManifestError::MissingPage(self.manifest.match_id.listing_key(page)))
    }

    /// Every listed entry, in order, for tools that walk a whole match.
    pub async fn all(&mut self) -> Result<Vec<SegmentInfo>, ManifestError> {
        let mut entries = Vec::with_capacity(self.manifest.listed as usize);
        for index in 0..self.manifest.listed {
            entries.push(self.get(index).await?.expect("listed").clone());
        }
        Ok(entries)
    }

    /// The first of segments `0..within` that ends after `frame` (holds it, or follows a gap it falls in):
    /// a binary search, so a few pages are read however long the match.
    pub async fn first_ending_after(&mut self, frame: u64, within: u64) -> Result<u64, ManifestError> {
        let (mut lo, mut hi) = (0, within.min(self.manifest.listed));
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let s = self.get(mid).await?.expect("within the listed segments");
            if s.first_frame + s.frames <= frame {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::{self, Meter, Metered, Prices};
    use crate::ids::MatchId;
    use crate::storage::LocalStore;

    fn entry(id: &MatchId, index: u64) -> SegmentInfo {
        SegmentInfo {
            index,
            key: id.segment_key(index),
            first_frame: 50 * index,
            frames: 50,
            start_time: 2.0 * index as f64,
            source_end: None,
            received_at: None,
            gap_seconds: None,
        }
    }

    /// The requests and bytes `f` made of the match's objects, through a metered store on the same folder.
    async fn metered<F: AsyncFnOnce(&Metered<LocalStore>)>(dir: &std::path::Path, id: &MatchId, f: F) -> cost::Usage {
        let store = LocalStore::new(dir);
        store.delete(&id.cost_key()).await.unwrap();
        let m = Metered { inner: LocalStore::new(dir), meter: Meter::new() };
        f(&m).await;
        m.meter.flush(&store, id, &Prices::default()).await.unwrap();
        let mut usage = cost::load(&store, id).await.unwrap().unwrap().usage;
        usage.s3_get -= 1; // the flush's own read of cost.json
        usage.s3_put -= 1;
        usage
    }

    #[tokio::test]
    async fn listing_and_reading_a_segment_late_in_a_long_match_cost_what_they_cost_at_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let id = MatchId::new("long").unwrap();
        let mut m = Manifest::new(id.clone(), ("long.mp4".into(), "md5:l".into()), (64, 36, 25.0), 2.0);
        let all: Vec<SegmentInfo> = (0..2_700).map(|i| entry(&id, i)).collect();
        crate::segment::list(&store, &mut m, &all[..2_699]).await.unwrap();
        // Listing one more segment: one page read and rewritten, and the manifest; both small.
        let late =
            metered(dir.path(), &id, async |s| crate::segment::list(s, &mut m, &all[2_699..]).await.unwrap()).await;
        assert_eq!((late.s3_get, late.s3_put, late.s3_list), (1, 2, 0), "{late:?}");
        assert!(late.s3_bytes_in < 25_000, "a page and the manifest: {late:?}");
        assert_eq!(m.listed, 2_700);
        // A worker's lookup of segment 2,650: one page.
        let read = metered(dir.path(), &id, async |s| {
            let got = Listing::new(s, &m).get(2_650).await.unwrap().cloned();
            assert_eq!(got, Some(entry(&id, 2_650)));
        })
        .await;
        assert_eq!((read.s3_get, read.s3_list), (1, 0), "{read:?}");
        assert!(read.s3_bytes_out < 25_000, "{read:?}");
        // Where frame 100,000 is: a binary search reads a few pages of the 27.
        let search = metered(dir.path(), &id, async |s| {
            assert_eq!(Listing::new(s, &m).first_ending_after(100_000, 2_700).await.unwrap(), 2_000);
        })
        .await;
        assert!(search.s3_get <= 6, "{search:?}");
    }
}
