//! A moving camera's calibration through a segment: keypoints are looked for every few frames (and on the
//! segment's last), a homography is fitted on each such keyframe, a fit that jumps away from both its
//! neighbours is dropped, each fit is smoothed with its neighbours', and frames between two calibrated
//! keyframes get the blend of their homographies. Once the camera's mount is learnt (`ptz`; before that, where
//! it provisionally stands), each keyframe is fitted on it, turning and zooming only, and each frame's camera
//! is the keyframes' fits, this segment's and the last ones', carried to it along the turns read off the
//! pictures (`motion`, `carry`). A fixed camera is calibrated once instead (`fixed`).

use std::sync::atomic::{AtomicUsize, Ordering};

use fast_image_resize::Resizer;
use nalgebra::Vector3;
use serde::{Deserialize, Serialize};

use super::carry::{self, Behind};
use super::homography::Pair;
use super::keypoints::{self, Keypoint, KeypointModel, MIN_INLIERS, TOLERANCE_M};
use super::motion::{self, Movers, Picture, Turn};
use super::ptz::{Mount, Pose, Principal};
use super::{Homography, Lens, Pitch, fixed, residual};
use crate::geometry::BBox;
use crate::source::Frame;

/// Keypoints are looked for on every `EVERY`-th frame of the match (0.2 s at 25 fps): the camera pans
/// smoothly in between, and the model costs about as much as the detector.
pub const EVERY: u64 = 5;
/// A calibration is carried this many frames past its keyframe when the next keyframes have none (a cut to
/// a close-up, players hiding the lines).
const HOLD: u64 = 25;
/// A keyframe whose image centre lands farther than this from where both neighbours put it is a bad fit.
const JUMP_M: f64 = 6.0;
/// A keyframe's fit is smoothed with the fits of up to this many frames either side. Each fit is off by
/// a few tenths of a metre on its own, afresh every keyframe, which reads as every player on the pitch
/// stepping together; the camera itself pans smoothly over that long.
const SMOOTH_FRAMES: u64 = EVERY;
/// A keyframe on the mount misses its keypoints by a pixel or two at 1280 pixels wide; one that misses by
/// more than this share of the image's width (13 pixels there) is a wrong fit. (Half of it dropped good
/// keyframes on the far side.)
const MOUNT_MISS: f64 = 0.01;
/// A keyframe on the mount missing its keypoints by over this share of the width (4 pixels at 1280) may
/// hold a misread keypoint (`on_mount`).
const MISREAD_MISS: f64 = 0.003;
/// The fewest keypoints a fit on the mount stands on once a misread one is left out: 8 equations for its 4
/// unknowns.
const MIN_ON_MOUNT: usize = 4;
/// A fixed camera is looked for on this many frames of a segment (each searched whole, and in 13 tiles
/// if need be: 1-2 s of CPU for five 4K frames)...
const FIXED_FRAMES: usize = 5;
/// ...in each of the match's first this many segments; one not found by then stays in pixels.
const FIXED_SEARCHES: u32 = 3;

/// The grass beyond the lines this far still turns with the camera (the boards and stands may not look it).
const PITCH_MARGIN_M: f64 = 3.0;
/// The turns are read in runs of this many frames, each on whichever core is free, each run's first
/// started from no turn (the others from the turn before): the same whatever the number of cores.
const TURN_RUN: usize = 15;

/// What a segment hands the next: the last calibrated keyframe as smoothed, to blend from, and the
/// keyframes' own fits of the last `SMOOTH_FRAMES`, to smooth the next segment's first with.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CameraState {
    pub last: Option<(u64, Homography)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fits: Vec<(u64, Homography)>,
    /// A fixed camera's calibration, once found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<Homography>,
    /// The fixed camera's lens distortion, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lens: Option<Lens>,
    /// How many segments have been searched for a fixed camera.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub searches: u32,
    /// Where a moving camera stands, learnt from its keyframes.
    #[serde(default, skip_serializing_if = "Mount::is_empty")]
    pub mount: Mount,
    /// The keyframes' fits on the mount carried to the segment's last frame, for the next to go on from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behind: Option<Behind>,
}

pub(super) fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl CameraState {
    pub fn is_empty(&self) -> bool {
        *self == CameraState::default()
    }
}

/// A fixed camera's homography for every frame of the segment. Until one is found, `FIXED_FRAMES` frames
/// spread over the segment are searched (`fixed`) in each of the match's first `FIXED_SEARCHES` segments;
/// the first camera found holds for the rest of the match.
pub fn calibrate_fixed(
    mut state: CameraState,
    model: &mut KeypointModel,
    pitch: &Pitch,
    frames: &[Frame],
) -> anyhow::Result<(CameraState, Vec<Option<Homography>>)> {
    if state.fixed.is_none() && state.searches < FIXED_SEARCHES && !frames.is_empty() {
        state.searches += 1;
        let picked: Vec<&Frame> = frames.iter().step_by(frames.len().div_ceil(FIXED_FRAMES)).collect();
        match fixed::find(model, &picked, *pitch)? {
            Some((c, agree)) => {
                let (keypoints, lens) = (agree.points.len(), c.lens.map(|l| l.k));
                tracing::info!(keypoints, lens = ?lens, "the fixed camera is calibrated");
                (state.fixed, state.lens) = (Some(c.homography), c.lens);
            }
            None if state.searches < FIXED_SEARCHES => tracing::warn!(
                search = state.searches,
                of = FIXED_SEARCHES,
                "the fixed camera is not calibrated yet: the keypoints seen do not fix it (positions stay in pixels)"
            ),
            None => tracing::warn!(
                searches = FIXED_SEARCHES,
                "the fixed camera was not found in the match's first segments: the match stays in pixels"
            ),
        }
    }
    let per_frame = vec![state.fixed; frames.len()];
    Ok((state, per_frame))
}

/// The homography of each frame of the segment (`None` where it cannot be calibrated). `movers` are each
/// frame's boxes of what moves on its own (people, the ball), which the camera's turns leave out.
pub fn calibrate_segment(
    state: CameraState,
    model: &mut KeypointModel,
    pitch: &Pitch,
    (frames, movers): (&[Frame], &[Vec<BBox>]),
) -> anyhow::Result<(CameraState, Vec<Option<Homography>>)> {
    let keys: Vec<&Frame> = frames
        .iter()
        .enumerate()
        .filter(|(i, f)| f.index % EVERY == 0 || i + 1 == frames.len())
        .map(|(_, f)| f)
        .collect();
    let found = model.find(&keys)?;
    let centre = frames.first().map_or((0.0, 0.0), |f| (f.width as f64 / 2.0, f.height as f64 / 2.0));
    let free: Vec<(u64, Homography, Vec<Keypoint>)> = keys
        .iter()
        .zip(found)
        .filter_map(|(f, k)| keypoints::calibrate(&k, pitch).map(|(h, kept)| (f.index, h, kept)))
        .collect();
    let mut mount = state.mount;
    let mut fits = state.fits;
    // While the mount is learnt, the segment's keyframes are fitted on where it provisionally stands, and
    // one that does not fit there keeps its free fit.
    let provisional = mount.centre().is_none();
    let pairs: Vec<Vec<Pair>> = free.iter().map(|(_, _, kept)| keypoints::pairs(kept, pitch)).collect();
    let stand = mount.centre().or_else(|| mount.provisional(&pairs, centre));
    // The keyframes fitted on the mount, as cameras on it.
    let mut mounted = Vec::new();
    for ((frame, h, _), pairs) in free.into_iter().zip(pairs) {
        // Once the mount is known, a keyframe it cannot see is a wrong fit (or a cut away): dropped.
        let fit = match stand {
            None => Some(h),
            Some(stand) => {
                let fit = on_mount(stand, &h, &pairs, centre);
                mounted.extend(fit.map(|(_, pose)| (frame, pose)));
                if provisional {
                    Some(fit.map_or(h, |(h, _)| h))
                } else {
                    mount.seen(fit.is_some());
                    fit.map(|(h, _)| h)
                }
            }
        };
        mount.learn(&pairs, centre);
        fits.extend(fit.map(|h| (frame, h)));
    }
    let fits = drop_jumps(fits, centre);
    let first = frames.first().map_or(0, |f| f.index);
    let mut anchors: Vec<(u64, Homography)> = state.last.into_iter().collect();
    anchors.extend(fits.iter().filter(|a| a.0 >= first).map(|&(frame, _)| (frame, smooth(&fits, frame))));
    // Those still on the mount now (it may have been forgotten), and not dropped as jumps.
    let on = if provisional { stand } else { mount.centre() };
    mounted.retain(|(f, pose)| on == Some(pose.centre) && fits.iter().any(|a| a.0 == *f));
    let behind = state.behind.filter(|b| on.is_some_and(|c| Vector3::from(b.centre) == c));
    let (carried, behind) = carried(pitch, (&mounted, behind.as_ref()), (frames, movers), centre)?;
    let per_frame: Vec<Option<Homography>> =
        frames.iter().zip(&carried).map(|(f, c)| c.or_else(|| at(&anchors, f.index))).collect();
    // The next segment goes on from this one's last frame as it was carried, where it was.
    let last = match (frames.last(), carried.last()) {
        (Some(f), Some(Some(h))) => Some((f.index, *h)),
        _ => anchors.last().copied(),
    };
    let horizon = anchors.last().map_or(0, |a| a.0.saturating_sub(SMOOTH_FRAMES));
    let fits = fits.into_iter().filter(|a| a.0 >= horizon).collect();
    Ok((CameraState { last, fits, mount, behind, ..CameraState::default() }, per_frame))
}

/// Each frame's camera from this segment's keyframe fits on the mount (`poses`) and those `behind` it,
/// carried along the camera's turns between frames (`motion`); `None` for a frame none reaches. Also what
/// the segment hands the next.
fn carried(
    pitch: &Pitch,
    (poses, behind): (&[(u64, Pose)], Option<&Behind>),
    (frames, movers): (&[Frame], &[Vec<BBox>]),
    principal: Principal,
) -> anyhow::Result<(Vec<Option<Homography>>, Option<Behind>)> {
    let first = frames.first().map_or(0, |f| f.index);
    // The turns join frame to frame: a segment with frames missing is blended between keyframes instead.
    let whole = frames.windows(2).all(|w| w[0].index + 1 == w[1].index);
    if poses.is_empty() || !whole {
        return Ok((vec![None; frames.len()], None));
    }
    let runs = frames.len().div_ceil(TURN_RUN);
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(runs);
    // Each worker takes the next run until none is left; a run reads from the frame before it, if any.
    let work = || -> anyhow::Result<Vec<(usize, Vec<Option<Turn>>)>> {
        let mut done = Vec::new();
        loop {
            let run = next.fetch_add(1, Ordering::Relaxed);
            if run >= runs {
                return Ok(done);
            }
            let (start, end) = (run * TURN_RUN, ((run + 1) * TURN_RUN).min(frames.len()));
            let lead = start.saturating_sub(1);
            done.push((run, turns(pitch, poses, (&frames[lead..end], &movers[lead..end]), start > lead, principal)?));
        }
    };
    let mut done: Vec<(usize, Vec<Option<Turn>>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..workers).map(|_| s.spawn(work)).collect();
        workers.into_iter().map(|w| w.join().expect("a turn worker panicked")).collect::<anyhow::Result<Vec<_>>>()
    })?
    .concat();
    done.sort_by_key(|d| d.0);
    let turns: Vec<Option<Turn>> = done.into_iter().flat_map(|d| d.1).collect();
    let (carried, ahead) = carry::carry(poses, &turns, first, behind);
    Ok((carried.into_iter().map(|p| p.and_then(|p| p.homography(principal))).collect(), ahead))
}

/// The camera's turn into each of `frames` from the frame before (`None` for the first, or for the first
/// after `lead`, which is only the earlier picture of the first turn), read off the grass clear of both
/// frames' `movers`.
fn turns(
    pitch: &Pitch,
    poses: &[(u64, Pose)],
    (frames, movers): (&[Frame], &[Vec<BBox>]),
    lead: bool,
    principal: Principal,
) -> anyhow::Result<Vec<Option<Turn>>> {
    let mut resizer = Resizer::new();
    let (mut turns, mut before, mut guess) = (Vec::with_capacity(frames.len()), None, Turn::default());
    for (i, f) in frames.iter().enumerate() {
        let picture = Picture::of(&mut resizer, f)?;
        // The turn needs the camera only roughly: the nearest fit's focal length and pitch.
        let near = poses.iter().min_by_key(|p| p.0.abs_diff(f.index)).map(|p| p.1).expect("a fit");
        let seen = near.homography(principal);
        let moving = Movers::new((f.width, f.height), movers[i.saturating_sub(1)..=i].iter().flatten());
        let on_grass = |p: (f64, f64)| {
            moving.still(p) && seen.as_ref().and_then(|h| h.apply(p)).is_some_and(|at| pitch.holds(at, PITCH_MARGIN_M))
        };
        let t = before.as_ref().and_then(|b| motion::turn(b, &picture, (&near, principal), on_grass, guess));
        guess = t.unwrap_or_default();
        turns.push(t);
        before = Some(picture);
    }
    if lead {
        turns.remove(0);
    }
    Ok(turns)
}

/// A keyframe's fit redone with the camera on its mount, turning and zooming only (and that camera); `None` when the
/// keypoints disagree with that (a wrong fit, or another camera: a cut to the reverse angle). A keyframe
/// that misses its keypoints by more than `MISREAD_MISS` is refitted without each in turn: the one whose
/// absence leaves the rest fitting within it, and at under half the miss, was misread (a keypoint taken
/// for a look-alike elsewhere on the pitch, which a free homography of 8 degrees of freedom bends to fit
/// from 5 points, but a camera that only turns and zooms cannot).
fn on_mount(
    stand: Vector3<f64>,
    free: &Homography,
    pairs: &[Pair],
    principal: Principal,
) -> Option<(Homography, Pose)> {
    let guess = Pose { centre: stand, ..Pose::from_homography(free, principal)? };
    let width = 2.0 * principal.0;
    let fit = |pairs: Vec<Pair>| {
        let pose = guess.refit(&pairs, principal)?;
        Some((pose.miss(&pairs, principal), pose, pairs))
    };
    let all = fit(pairs.to_vec())?;
    let without_misread = || {
        let without = |i: usize| pairs.iter().enumerate().filter(|&(j, _)| j != i).map(|(_, p)| *p).collect();
        let best = (0..pairs.len()).filter_map(|i| fit(without(i))).min_by(|a, b| a.0.total_cmp(&b.0))?;
        (best.0 <= MISREAD_MISS * width && best.0 < all.0 / 2.0).then_some(best)
    };
    let misread = all.0 > MISREAD_MISS * width && pairs.len() > MIN_ON_MOUNT;
    let (miss, pose, used) = misread.then(without_misread).flatten().unwrap_or(all);
    let h = pose.homography(principal)?;
    let agree = used.iter().filter(|&&(p, m)| residual(&h, p, m) <= TOLERANCE_M).count();
    let needed = MIN_INLIERS.min(used.len());
    (miss <= MOUNT_MISS * width && agree >= needed && 5 * agree >= 4 * used.len()).then_some((h, pose))
}

/// The keyframe fit at `frame` smoothed with its neighbours' within `SMOOTH_FRAMES`: a straight line
/// through each entry over time, read at `frame` (the plain mean when the neighbours lie evenly either
/// side; at a segment's end, where the next fits are not known yet, it leans on the earlier ones).
fn smooth(fits: &[(u64, Homography)], frame: u64) -> Homography {
    let near: Vec<(f64, &Homography)> = fits
        .iter()
        .filter(|a| a.0.abs_diff(frame) <= SMOOTH_FRAMES)
        .map(|(f, h)| (*f as f64 - frame as f64, h))
        .collect();
    let n = near.len() as f64;
    let mean_t = near.iter().map(|(t, _)| t).sum::<f64>() / n;
    let spread: f64 = near.iter().map(|(t, _)| (t - mean_t).powi(2)).sum();
    let weight = |t: f64| 1.0 / n + if spread > 0.0 { -mean_t * (t - mean_t) / spread } else { 0.0 };
    Homography(std::array::from_fn(|r| std::array::from_fn(|c| near.iter().map(|(t, h)| weight(*t) * h.0[r][c]).sum())))
}

/// Drops a keyframe that puts the image centre far from where both its neighbours, agreeing with each
/// other, put it.
fn drop_jumps(anchors: Vec<(u64, Homography)>, centre: (f64, f64)) -> Vec<(u64, Homography)> {
    let spot = |h: &Homography| h.apply(centre);
    let far = |a: Option<(f64, f64)>, b: Option<(f64, f64)>| match (a, b) {
        (Some(a), Some(b)) => (a.0 - b.0).hypot(a.1 - b.1) > JUMP_M,
        _ => true,
    };
    (0..anchors.len())
        .filter(|&i| {
            if i == 0 || i + 1 == anchors.len() {
                return true;
            }
            let (before, here, after) = (spot(&anchors[i - 1].1), spot(&anchors[i].1), spot(&anchors[i + 1].1));
            far(before, after) || !(far(here, before) && far(here, after))
        })
        .map(|i| anchors[i])
        .collect()
}

/// A frame's homography from the keyframes around it.
fn at(anchors: &[(u64, Homography)], frame: u64) -> Option<Homography> {
    let next = anchors.iter().position(|a| a.0 >= frame);
    let before = next.map_or(anchors.last(), |j| j.checked_sub(1).map(|i| &anchors[i]));
    match (before, next.map(|j| &anchors[j])) {
        (_, Some(after)) if after.0 == frame => Some(after.1),
        (Some(a), Some(b)) if b.0 - a.0 <= 2 * HOLD => {
            Some(blend(&a.1, &b.1, (frame - a.0) as f64 / (b.0 - a.0) as f64))
        }
        (Some(a), _) if frame - a.0 <= HOLD => Some(a.1),
        (_, Some(b)) if b.0 - frame <= HOLD => Some(b.1),
        _ => None,
    }
}

/// The entry-wise blend of two homographies scaled alike (bottom-right 1): close to the camera in between
/// for the small pans and zooms of a fifth of a second.
fn blend(a: &Homography, b: &Homography, t: f64) -> Homography {
    Homography(std::array::from_fn(|r| std::array::from_fn(|c| a.0[r][c] * (1.0 - t) + b.0[r][c] * t)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pitch::ptz::tests::camera;

    fn shift(dx: f64) -> Homography {
        Homography([[0.1, 0.0, dx], [0.0, 0.1, 0.0], [0.0, 0.0, 1.0]])
    }

    #[test]
    fn a_keypoint_misread_for_a_look_alike_is_left_out_of_a_fit_on_the_mount() {
        // The camera, turned to the centre spot, sees three points of the halfway line and the centre
        // circle's ends, and the right end (61.65, 34) is read as the right penalty area's corner
        // (88.5, 13.84), as on a synthetic match's keyframes, where three of the five on one line let the
        // free homography pass through the wrong one (here: a free fit a few degrees off). On the mount the
        // corner is left out and the camera found.
        let principal = (640.0, 360.0);
        let truth = camera(52.5, 34.0, 1500.0);
        let seen = |p: (f64, f64)| truth.project(p, principal).unwrap();
        let mut pairs: Vec<Pair> =
            [(52.5, 0.0), (52.5, 24.85), (52.5, 43.15), (43.35, 34.0)].map(|p| (seen(p), p)).to_vec();
        pairs.push((seen((61.65, 34.0)), (88.5, 13.84)));
        let free = camera(56.0, 31.0, 1400.0).homography(principal).unwrap();
        let (mounted, _) =
            on_mount(truth.centre, &free, &pairs, principal).expect("fitted without the misread keypoint");
        let truly = truth.homography(principal).unwrap();
        for corner in [(0.0, 0.0), (1280.0, 720.0), (640.0, 360.0)] {
            let (a, b) = (mounted.apply(corner).unwrap(), truly.apply(corner).unwrap());
            assert!((a.0 - b.0).hypot(a.1 - b.1) < 0.05, "{corner:?}: {a:?} vs {b:?}");
        }
    }

    #[test]
    fn frames_between_keyframes_blend_and_a_gap_is_held_only_so_long() {
        let anchors = [(0, shift(0.0)), (5, shift(10.0)), (100, shift(20.0))];
        assert_eq!(at(&anchors, 5), Some(shift(10.0)));
        assert_eq!(at(&anchors, 2).unwrap().0[0][2], 4.0);
        // 95 frames to the next keyframe: held 25 frames each way, nothing in the middle.
        assert_eq!(at(&anchors, 30), Some(shift(10.0)));
        assert_eq!(at(&anchors, 50), None);
        assert_eq!(at(&anchors, 80), Some(shift(20.0)));
        assert_eq!(at(&anchors, 125), Some(shift(20.0)));
        assert_eq!(at(&anchors, 126), None);
        assert_eq!(at(&[], 3), None);
    }

    #[test]
    fn a_wobbling_fit_is_pulled_toward_its_neighbours_and_a_steady_pan_is_kept() {
        let wobble = [(0, shift(0.0)), (5, shift(13.0)), (10, shift(20.0))];
        assert!((smooth(&wobble, 5).0[0][2] - 11.0).abs() < 1e-9);
        let pan = [(0, shift(0.0)), (5, shift(10.0)), (10, shift(20.0)), (15, shift(30.0))];
        for (frame, h) in pan {
            assert!((smooth(&pan, frame).0[0][2] - h.0[0][2]).abs() < 1e-9, "frame {frame}");
        }
        // Too far from any other fit to be smoothed.
        assert_eq!(smooth(&[(0, shift(0.0)), (30, shift(7.0))], 30), shift(7.0));
    }

    #[test]
    fn a_keyframe_that_jumps_away_from_both_neighbours_is_dropped() {
        let centre = (0.0, 0.0);
        let kept = drop_jumps(vec![(0, shift(0.0)), (5, shift(30.0)), (10, shift(1.0)), (15, shift(2.0))], centre);
        assert_eq!(kept.iter().map(|a| a.0).collect::<Vec<_>>(), [0, 10, 15]);
        // A real pan: each step agrees with a neighbour.
        let pan = vec![(0, shift(0.0)), (5, shift(5.0)), (10, shift(10.0))];
        assert_eq!(drop_jumps(pan.clone(), centre), pan);
    }
}
