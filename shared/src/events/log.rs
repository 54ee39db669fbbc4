//! A match's events as a log of pages, kept at commit, so that a reader of the events reads the pages it
//! returns instead of every segment's output. The open page lives in the checkpoint; a page that fills up
//! is stored once, before the checkpoint that closes it, and only its summary stays behind.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Event, EventKind};

/// Events per stored page.
pub const PAGE_EVENTS: usize = 64;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EventLog {
    /// The stored pages, in order (`MatchId::event_page_key`).
    pub closed: Vec<PageSummary>,
    /// The events after the last stored page, fewer than `PAGE_EVENTS`.
    pub open: Vec<Event>,
}

/// What a stored page holds, so a reader can skip or count it without reading it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PageSummary {
    pub first_frame: u64,
    pub last_frame: u64,
    pub kinds: BTreeMap<EventKind, u64>,
}

impl PageSummary {
    fn of(events: &[Event]) -> PageSummary {
        let mut kinds = BTreeMap::new();
        for e in events {
            *kinds.entry(e.kind).or_insert(0) += 1;
        }
        let frames = events.iter().map(|e| e.frame);
        PageSummary { first_frame: frames.clone().min().unwrap_or(0), last_frame: frames.max().unwrap_or(0), kinds }
    }

    /// Events of `kind` on the page (of any kind for `None`).
    pub fn count(&self, kind: Option<EventKind>) -> u64 {
        match kind {
            Some(k) => self.kinds.get(&k).copied().unwrap_or(0),
            None => self.kinds.values().sum(),
        }
    }
}

impl EventLog {
    pub fn is_empty(&self) -> bool {
        self.closed.is_empty() && self.open.is_empty()
    }

    /// Appends a segment's events; returns the pages this fills (their numbers and events), which must be
    /// stored before the checkpoint that holds this log.
    pub fn append(&mut self, events: &[Event]) -> Vec<(u64, Vec<Event>)> {
        let mut filled = Vec::new();
        for e in events {
            self.open.push(e.clone());
            if self.open.len() == PAGE_EVENTS {
                let page = std::mem::take(&mut self.open);
                self.closed.push(PageSummary::of(&page));
                filled.push((self.closed.len() as u64 - 1, page));
            }
        }
        filled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventKind, frame: u64) -> Event {
        Event::discontinuity(kind, frame, 25.0, 1.0)
    }

    #[test]
    fn a_full_page_is_handed_back_once_and_summarised() {
        let mut log = EventLog::default();
        let first: Vec<Event> = (0..60).map(|i| event(EventKind::Pass, i)).collect();
        assert!(log.append(&first).is_empty());
        let second: Vec<Event> = (60..70).map(|i| event(EventKind::Turnover, i)).collect();
        let filled = log.append(&second);
        assert_eq!(filled.len(), 1);
        assert_eq!(filled[0].0, 0);
        assert_eq!(filled[0].1.len(), PAGE_EVENTS);
        assert_eq!(log.open.len(), 70 - PAGE_EVENTS);
        let page = &log.closed[0];
        assert_eq!((page.first_frame, page.last_frame), (0, 63));
        assert_eq!((page.count(Some(EventKind::Pass)), page.count(Some(EventKind::Turnover))), (60, 4));
        assert_eq!(page.count(None), 64);
    }

    #[test]
    fn the_log_round_trips_through_json() {
        let mut log = EventLog::default();
        log.append(&(0..70).map(|i| event(EventKind::SourceGap, i)).collect::<Vec<_>>());
        let back: EventLog = serde_json::from_str(&serde_json::to_string(&log).unwrap()).unwrap();
        assert_eq!(back, log);
    }
}
