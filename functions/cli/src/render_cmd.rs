//! `tacticeye render`: an analysed frame, or the match on the pitch; and `tacticeye stats` as a table.

use std::path::Path;

use anyhow::Context;
use tacticeye::ids::MatchId;
use tacticeye::results::ResultsError;
use tacticeye::stats::StatsReport;
use tacticeye::storage::{LocalStore, ObjectStore};
use tacticeye::{analysis, render, results, segment, source};

/// Decodes frame `n` from the match's stored segment and draws what the analysis found on it.
pub async fn frame(store: &LocalStore, id: &MatchId, n: u64, out: &Path, width: Option<u32>) -> anyhow::Result<()> {
    let (_, outputs) = results::committed(store, id).await?;
    let found = outputs.iter().flat_map(|o| &o.frames).find(|f| f.frame == n);
    let found = found.with_context(|| format!("frame {n} of match {id} is not analysed (yet)"))?;
    let manifest = segment::load_manifest(store, id).await?.with_context(|| format!("match {id} has no manifest"))?;
    let mut listing = segment::Listing::new(store, &manifest);
    let index = listing.first_ending_after(n, manifest.listed).await?;
    let seg = listing.get(index).await?.filter(|s| s.first_frame <= n).cloned();
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

/// Frame `n` from above.
pub async fn radar(store: &LocalStore, id: &MatchId, n: u64, out: &Path) -> anyhow::Result<()> {
    let (state, outputs) = results::committed_state(store, id).await?;
    let pitch = state.config.calibration.as_ref().map(|c| c.pitch()).ok_or(ResultsError::NotCalibrated(id.clone()))?;
    let found = outputs.iter().flat_map(|o| &o.frames).find(|f| f.frame == n);
    let found = found.with_context(|| format!("frame {n} of match {id} is not analysed (yet)"))?;
    save(&render::radar(found, pitch, state.teams.kits), out)?;
    let placed = found.objects.iter().filter(|o| o.pitch.is_some()).count();
    println!("wrote {} (frame {n} of match {id}: {placed} people on the pitch)", out.display());
    Ok(())
}

/// The analysed part of the match as a video: each committed segment's frames with what was found drawn
/// on them, and a radar inset on a calibrated match. Frames come from the kept segments, or else from the
/// source video (`source`, by default the file the match was analysed from), checked to be the same video.
pub async fn video(store: &LocalStore, id: &MatchId, out: &Path, source: Option<&Path>) -> anyhow::Result<()> {
    let (state, _) = analysis::load_state(store, id).await?.ok_or(ResultsError::NotFound(id.clone()))?;
    let manifest = segment::load_manifest(store, id).await?.with_context(|| format!("match {id} has no manifest"))?;
    let (pitch, kits) = (state.config.calibration.as_ref().map(|c| c.pitch()), state.teams.kits);
    let mut original = None;
    let mut listing = segment::Listing::new(store, &manifest);
    let mut writer: Option<render::VideoWriter> = None;
    let progress = crate::bar(state.next_segment.max(1), &format!("rendering {id}"));
    for index in 0..state.next_segment {
        let output = results::output(store, id, index).await?;
        let seg = listing.get(index).await?.cloned().with_context(|| format!("segment {index} is not listed"))?;
        let frames = match store.get(&seg.key).await? {
            Some(video) => {
                let file = tempfile::Builder::new().suffix(".mp4").tempfile()?;
                std::fs::write(file.path(), video.bytes)?;
                source::decode(file.path(), seg.first_frame)?
            }
            None => {
                if original.is_none() {
                    original = Some(source_video(&manifest, source)?);
                }
                let path = original.as_deref().expect("opened above");
                source::decode_range(path, seg.start_time, seg.frames, seg.first_frame)?
            }
        };
        for frame in &frames {
            let found = output.frames.iter().find(|f| f.frame == frame.index);
            let img = match found {
                Some(found) => render::annotated(frame, found, kits, pitch),
                None => render::canvas(frame),
            };
            if writer.is_none() {
                writer = Some(render::VideoWriter::create(out, img.width(), img.height(), manifest.fps)?);
            }
            writer.as_mut().expect("created above").write(&img)?;
        }
        progress.set_position(index + 1);
    }
    progress.finish_and_clear();
    let writer = writer.with_context(|| format!("match {id} has no analysed frame yet"))?;
    let frames = writer.finish()?;
    println!(
        "wrote {} ({frames} frames of match {id}{})",
        out.display(),
        if pitch.is_some() { ", radar inset" } else { "" }
    );
    Ok(())
}

/// The video the match was analysed from, when its segments were not kept.
fn source_video(manifest: &segment::Manifest, given: Option<&Path>) -> anyhow::Result<std::path::PathBuf> {
    let path = match given {
        Some(path) => path.to_path_buf(),
        None if Path::new(&manifest.source).is_file() => manifest.source.clone().into(),
        None => anyhow::bail!(
            "the segments of match {} were not kept (analyze --keep-segments) and its source {} is not a file here: \
             give the video with --video",
            manifest.match_id,
            manifest.source
        ),
    };
    let video = segment::Video::open(&path)?;
    anyhow::ensure!(
        video.fingerprint == manifest.fingerprint,
        "{} is not the video match {} was analysed from",
        path.display(),
        manifest.match_id
    );
    Ok(path)
}

pub enum TeamPicture {
    Heatmap,
    Passes,
}

/// A team's heatmap or pass network, from the checkpoint.
pub async fn team(store: &LocalStore, id: &MatchId, team: u8, out: &Path, what: TeamPicture) -> anyhow::Result<()> {
    let (state, _) = analysis::load_state(store, id).await?.ok_or(ResultsError::NotFound(id.clone()))?;
    let (report, kits) = (results::stats_of(&state)?, state.teams.kits);
    let t = &report.teams[team as usize];
    let img = match what {
        TeamPicture::Heatmap => render::heatmap(t, report.pitch),
        TeamPicture::Passes => render::passes(t, &report.players, report.pitch, kits),
    };
    save(&img, out)?;
    println!("wrote {} (team {team} of match {id}: {} passes)", out.display(), t.passes);
    Ok(())
}

fn save(img: &image::RgbImage, out: &Path) -> anyhow::Result<()> {
    img.save(out).with_context(|| format!("cannot write {}", out.display()))
}

pub fn print_stats(report: &StatsReport) {
    println!(
        "{:>6} {:>4} {:>10} {:>8} {:>9} {:>7} {:>7} {:>7} {:>7} {:>7}",
        "track", "team", "role", "seconds", "distance", "top", "walk", "jog", "run", "sprint"
    );
    for p in &report.players {
        let role = p.role.map_or("-".to_string(), |r| format!("{r:?}").to_lowercase());
        let team = p.team.map_or("-".into(), |t| t.to_string());
        println!(
            "{:>6} {:>4} {:>10} {:>8.1} {:>7.1} m {:>4.1} km/h {:>5.1} s {:>5.1} s {:>5.1} s {:>5.1} s ({} sprints)",
            p.track_id,
            team,
            role,
            p.seconds,
            p.distance_m,
            p.top_speed_kmh,
            p.walking_s,
            p.jogging_s,
            p.running_s,
            p.sprinting_s,
            p.sprints
        );
    }
    for t in &report.teams {
        let or = |v: Option<f64>, unit: &str| v.map_or("-".into(), |v| format!("{v:.1}{unit}"));
        let thirds = t
            .possession_by_third
            .map_or("-".into(), |[d, m, a]| format!("defensive {d}%, middle {m}%, attacking {a}%"));
        println!(
            "team {}: length {}, width {} ({} frames); ball by third: {thirds}; {} passes, mean {}",
            t.team,
            or(t.length_m, " m"),
            or(t.width_m, " m"),
            t.shape_frames,
            t.passes,
            or(t.mean_pass_length_m, " m")
        );
    }
}
