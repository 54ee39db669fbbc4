//! `tacticeye render frame`: one analysed frame as a picture.

use std::path::Path;

use anyhow::Context;
use tacticeye::ids::MatchId;
use tacticeye::storage::{LocalStore, ObjectStore};
use tacticeye::{analysis, render, results, segment, source};

/// Decodes frame `n` from the match's stored segment and draws what the analysis found on it.
pub async fn frame(store: &LocalStore, id: &MatchId, n: u64, out: &Path, width: Option<u32>) -> anyhow::Result<()> {
    let (_, outputs) = results::committed(store, id).await?;
    let found = outputs.iter().flat_map(|o| &o.frames).find(|f| f.frame == n);
    let found = found.with_context(|| format!("frame {n} of match {id} is not analysed (yet)"))?;
    let manifest = segment::load_manifest(store, id).await?.with_context(|| format!("match {id} has no manifest"))?;
    let seg = manifest.segments.iter().find(|s| (s.first_frame..s.first_frame + s.frames).contains(&n));
    let seg = seg.with_context(|| format!("no segment of match {id} holds frame {n}"))?;
    let video = store.get(&seg.key).await?.with_context(|| format!("segment {} is no longer stored", seg.key))?;
    let file = tempfile::Builder::new().suffix(".mp4").tempfile()?;
    std::fs::write(file.path(), video.bytes)?;
    let frames = source::decode(file.path(), seg.first_frame)?;
    let frame = frames
        .iter()
        .find(|f| f.index == n)
        .with_context(|| format!("segment {} does not decode to frame {n}", seg.key))?;
    let kits = analysis::load_state(store, id).await?.and_then(|(state, _)| state.teams.kits);
    let mut img = render::analysed(frame, found, kits);
    if let Some(w) = width.filter(|&w| w < img.width()) {
        let h = (img.height() as u64 * w as u64 / img.width() as u64).max(1) as u32;
        img = image::imageops::resize(&img, w, h, image::imageops::FilterType::Triangle);
    }
    img.save(out).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "wrote {} (frame {n} of match {id}: {} people, ball {})",
        out.display(),
        found.objects.len(),
        if found.ball.is_some() { "found" } else { "not found" }
    );
    Ok(())
}
