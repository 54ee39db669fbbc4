//! Time and the crash tests' stop points: used by the segmenter and the analysis alike.

pub fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// Crash tests stop a real process at an exact point: `TACTICEYE_FAULT=after-commit:K` (or
/// `before-checkpoint:K`, or `segmented:K` in the segmenter; `K+` for the first segment at or after K)
/// makes it announce itself on stderr and hang at that point of that segment, for the test to SIGKILL it.
pub(crate) fn fault_point(point: &str, index: u64) {
    let Ok(spec) = std::env::var("TACTICEYE_FAULT") else { return };
    let Some((at, k)) = spec.split_once(':') else { return };
    let hit = match k.strip_suffix('+') {
        Some(k) => k.parse::<u64>().is_ok_and(|k| index >= k),
        None => k.parse::<u64>() == Ok(index),
    };
    if at == point && hit {
        eprintln!("TACTICEYE_FAULT reached {point}:{index}");
        loop {
            std::thread::park();
        }
    }
}
