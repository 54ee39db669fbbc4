//! The keyframes' fits carried along the camera's turns to every frame and averaged. A fit is a pixel or
//! two off, afresh each keyframe, which reads as every player stepping together; a turn between two frames
//! is about a tenth of a pixel off. So each frame's camera is its neighbouring keyframes' fits carried to it
//! along the turns, weighed by how far each is carried. A segment goes on from the fits of the ones before
//! it (`Behind`): standing alone, a segment's first frames were read from its own later fits only, and every
//! player on the far side stepped 0.08-0.15 m at a seam at the median (0.30-0.46 m at the 90th percentile, on
//! six synthetic matches), against 0.01 m a frame within a segment.

use nalgebra::{Rotation3, Vector3, Vector4};
use serde::{Deserialize, Serialize};

use super::motion::Turn;
use super::ptz::Pose;

/// A keyframe's fit counts for a frame by a Gaussian of this many frames of their distance...
const CARRY_FRAMES: f64 = 30.0;
/// ...up to this far (3 s). The fits' error is what is averaged out; the turns chained between them drift
/// little since the players are left out of them (before, at 10 and 25 frames, a far player read up to 7.6 %
/// long on the 2-minute match; at 30 and 75, within 3 %).
const MAX_CARRY_FRAMES: u64 = 75;
/// The line through the fits is held toward no slope as strongly as fits spread this many Gaussians either
/// side of the frame would hold it. Where the fits lie on one side only (a segment's last frames, the next
/// ones not known yet) a free line's slope swings with their error and carries it on: with it and the fits
/// behind, the far side's step at a seam is 0.05-0.07 m at the median and 0.14-0.27 m at the 90th percentile
/// (0.08-0.13 and 0.27-0.39 with it alone); held 3 times as strongly, the same.
const SLOPE_RIDGE: f64 = 1.0;
/// The turn across a seam is the mean of the last this many turns before it. (The synthetic camera's own
/// turns foretell it to 0.5 px at the median this way and 0.2 px from the last alone, but the turns read
/// are 0.1-0.2 px off each; the seams step the same with 1.)
const SEAM_TURNS: usize = 5;
/// The fits before a seam and after it that disagree by more than this many pixels (at a focal length's
/// distance from the picture's middle) are not of one camera followed across it: each side stands alone.
const SEAM_MISS_PX: f64 = 20.0;

/// What a segment hands the next: its fits carried to its last frame, and how the camera was turning there.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Behind {
    /// The frame the fits are carried to.
    pub frame: u64,
    /// Where the camera stands.
    pub centre: [f64; 3],
    /// Each fit's keyframe, and the camera it says `frame` had: rotation (axis times angle) and log focal
    /// length.
    pub fits: Vec<(u64, [f64; 4])>,
    /// The mean turn of the last frames (rotation, log zoom). The seam's own turn cannot be read, as the next
    /// segment does not have this one's last picture, so the camera is taken to go on turning so.
    pub turn: [f64; 4],
}

/// Where a fit says a run's first frame pointed, and its log focal length.
#[derive(Clone, Copy, Debug)]
struct Start {
    frame: u64,
    rotation: Rotation3<f64>,
    log_focal: f64,
}

impl Behind {
    /// Its fits as cameras of the next frame.
    fn starts(&self) -> Vec<Start> {
        let [x, y, z, zoom] = self.turn;
        let turn = Rotation3::new(Vector3::new(x, y, z));
        let starts = self.fits.iter().map(|&(frame, [x, y, z, log_focal])| Start {
            frame,
            rotation: turn * Rotation3::new(Vector3::new(x, y, z)),
            log_focal: log_focal + zoom,
        });
        starts.collect()
    }
}

/// Each frame's camera from the keyframes' `fits` (frame, camera on the mount) carried along `turns`
/// (`turns[i]`: from frame `first + i - 1` to `first + i`; `None` where the pictures do not join), and
/// from the fits `behind` the segment when it goes on from the frame they were carried to; `None` for a
/// frame no fit reaches. Also what the segment hands the next, if its last frame is reached.
pub fn carry(
    fits: &[(u64, Pose)],
    turns: &[Option<Turn>],
    first: u64,
    behind: Option<&Behind>,
) -> (Vec<Option<Pose>>, Option<Behind>) {
    let n = turns.len();
    let mut out = vec![None; n];
    let (mut start, mut ahead) = (0, None);
    let behind = behind.filter(|b| b.frame + 1 == first);
    while start < n {
        let end = (start + 1..n).find(|&i| turns[i].is_none()).unwrap_or(n);
        let joined = behind.filter(|_| start == 0);
        ahead = carry_along(fits, &turns[start..end], first + start as u64, joined, &mut out[start..end]);
        start = end;
    }
    (out, ahead)
}

/// `carry` over one run of frames joined by their turns; what it hands on from its last frame.
fn carry_along(
    fits: &[(u64, Pose)],
    turns: &[Option<Turn>],
    first: u64,
    behind: Option<&Behind>,
    out: &mut [Option<Pose>],
) -> Option<Behind> {
    let last = first + turns.len() as u64 - 1;
    let fits: Vec<&(u64, Pose)> = fits.iter().filter(|(f, _)| (first..=last).contains(f)).collect();
    // The camera turned from the run's first frame (rotation, log zoom), frame by frame.
    let mut chained = Vec::with_capacity(turns.len());
    let (mut rotation, mut zoom) = (Rotation3::identity(), 0.0);
    for (i, t) in turns.iter().enumerate() {
        if let (true, Some(t)) = (i > 0, t) {
            rotation = Rotation3::new(t.rotation) * rotation;
            zoom += t.zoom;
        }
        chained.push((rotation, zoom));
    }
    let own: Vec<Start> = fits
        .iter()
        .map(|&&(frame, pose)| {
            let (turned, zoomed) = chained[(frame - first) as usize];
            let rotation = turned.inverse() * Rotation3::from_matrix_unchecked(pose.rotation);
            Start { frame, rotation, log_focal: pose.focal.ln() - zoomed }
        })
        .collect();
    let centre = fits.first().map(|f| f.1.centre).or(behind.map(|b| Vector3::from(b.centre)))?;
    let mut starts = behind.map(Behind::starts).filter(|before| agree(before, &own)).unwrap_or_default();
    starts.extend(own);
    let reference = starts.first()?.rotation;
    let relative: Vec<(u64, Vector4<f64>)> = starts
        .iter()
        .map(|s| {
            let a = (s.rotation * reference.inverse()).scaled_axis();
            (s.frame, Vector4::new(a.x, a.y, a.z, s.log_focal))
        })
        .collect();
    for (i, slot) in out.iter_mut().enumerate() {
        let frame = first + i as u64;
        // A straight line through the fits' (start, focal) over time, weighed by nearness, read at `frame`:
        // what the turns between frames get a little wrong grows steadily, and the line takes it out. Its
        // slope is held toward none (`SLOPE_RIDGE`).
        let (mut sums, mut first_moment, mut second_moment) = ([0.0; 3], Vector4::zeros(), Vector4::zeros());
        for (f, v) in relative.iter().filter(|s| s.0.abs_diff(frame) <= MAX_CARRY_FRAMES) {
            let d = *f as f64 - frame as f64;
            let w = (-0.5 * (d / CARRY_FRAMES).powi(2)).exp();
            sums = [sums[0] + w, sums[1] + w * d, sums[2] + w * d * d];
            (first_moment, second_moment) = (first_moment + w * v, second_moment + w * d * v);
        }
        let [s0, s1, s2] = sums;
        if s0 == 0.0 {
            continue;
        }
        let s2 = s2 + SLOPE_RIDGE * s0 * CARRY_FRAMES * CARRY_FRAMES;
        let det = s0 * s2 - s1 * s1;
        let at = if det > 1e-9 * s0 * s0 { (s2 * first_moment - s1 * second_moment) / det } else { first_moment / s0 };
        let (turned, zoomed) = chained[i];
        *slot = Some(Pose {
            centre,
            rotation: (turned * Rotation3::new(at.xyz()) * reference).into_inner(),
            focal: (at[3] + zoomed).exp(),
        });
    }
    hand_on(&starts, turns, chained.last().copied()?, (last, centre))
}

/// Whether the fits from before a seam and a run's own (as cameras of its first frame) are of one camera:
/// on average within `SEAM_MISS_PX` of each other.
fn agree(before: &[Start], own: &[Start]) -> bool {
    let (Some((a, a_focal)), Some((b, b_focal))) = (mean(before), mean(own)) else { return true };
    ((a * b.inverse()).angle() + (a_focal - b_focal).abs()) * a_focal.exp() <= SEAM_MISS_PX
}

/// Cameras' mean rotation (as a turn from the first: they differ by a few thousandths of a radian) and log
/// focal length.
fn mean(starts: &[Start]) -> Option<(Rotation3<f64>, f64)> {
    let reference = starts.first()?.rotation;
    let n = starts.len() as f64;
    let (sum, log_focal) = starts.iter().fold((Vector3::zeros(), 0.0), |(sum, focal), s| {
        (sum + (s.rotation * reference.inverse()).scaled_axis(), focal + s.log_focal)
    });
    Some((Rotation3::new(sum / n) * reference, log_focal / n))
}

/// The run's fits (as cameras of its first frame) carried to its `last` frame, those near enough to count
/// for the frames after it, with the mean of its last turns.
fn hand_on(
    starts: &[Start],
    turns: &[Option<Turn>],
    (turned, zoomed): (Rotation3<f64>, f64),
    (last, centre): (u64, Vector3<f64>),
) -> Option<Behind> {
    // The run's first entry is no turn within it.
    let recent: Vec<&Turn> = turns.iter().skip(1).flatten().rev().take(SEAM_TURNS).collect();
    if recent.is_empty() {
        return None;
    }
    let n = recent.len() as f64;
    let rotation = recent.iter().map(|t| t.rotation).sum::<Vector3<f64>>() / n;
    let zoom = recent.iter().map(|t| t.zoom).sum::<f64>() / n;
    let fits = starts
        .iter()
        .filter(|s| last + 1 - s.frame <= MAX_CARRY_FRAMES)
        .map(|s| {
            let a = (turned * s.rotation).scaled_axis();
            (s.frame, [a.x, a.y, a.z, s.log_focal + zoomed])
        })
        .collect();
    Some(Behind { frame: last, centre: centre.into(), fits, turn: [rotation.x, rotation.y, rotation.z, zoom] })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pitch::motion::tests::turned;
    use crate::pitch::ptz::tests::camera;

    const PAN: Turn = Turn { rotation: Vector3::new(0.0, 0.002, 0.0), zoom: 0.0 };

    /// A camera panning 0.002 rad a frame for `n` frames from frame 100.
    fn panning(n: usize) -> Vec<Pose> {
        let start = camera(40.0, 34.0, 1500.0);
        (0..n)
            .scan(start, |p, i| {
                if i > 0 {
                    *p = turned(p, PAN);
                }
                Some(*p)
            })
            .collect()
    }

    /// Keyframe fits every 5th frame of `truth` from `from` to `to`, each off by its own small turn (about
    /// 1.5 px at this focal length).
    fn fits(truth: &[Pose], (from, to): (u64, u64)) -> Vec<(u64, Pose)> {
        let wobble = |i: u64| Turn {
            rotation: Vector3::new(0.001 * ((i * 7) as f64).sin(), 0.001 * ((i * 3) as f64).cos(), 0.0),
            zoom: 0.0,
        };
        (from..to).step_by(5).map(|i| (100 + i, turned(&truth[i as usize], wobble(i)))).collect()
    }

    /// The pan's turns into each of `n` frames, none into the first.
    fn turns(n: usize) -> Vec<Option<Turn>> {
        (0..n).map(|i| (i > 0).then_some(PAN)).collect()
    }

    /// Radians between two cameras' rotations.
    fn off(a: &Pose, b: &Pose) -> f64 {
        Rotation3::from_matrix_unchecked(a.rotation * b.rotation.transpose()).angle()
    }

    #[test]
    fn fits_carried_along_the_turns_average_out_their_own_error() {
        // Carried and averaged, each frame's camera is nearer the truth than the fits are.
        let truth = panning(50);
        let fits = fits(&truth, (0, 50));
        let (carried, _) = carry(&fits, &turns(50), 100, None);
        let fit_error: f64 =
            fits.iter().map(|(f, p)| off(p, &truth[(f - 100) as usize])).sum::<f64>() / fits.len() as f64;
        let carried_error: f64 =
            carried.iter().zip(&truth).map(|(c, t)| off(c.as_ref().unwrap(), t)).sum::<f64>() / truth.len() as f64;
        assert!(carried_error < fit_error / 2.0, "{carried_error} against the fits' {fit_error}");
        // A break in the turns: each side is carried from its own fits only.
        let mut broken = turns(50);
        broken[23] = None;
        let (split, _) = carry(&fits, &broken, 100, None);
        assert!(split.iter().all(Option::is_some));
    }

    #[test]
    fn a_segment_goes_on_from_the_fits_behind_it_and_the_camera_does_not_step_at_the_seam() {
        // Two 50-frame segments of one pan: the second's first frame, carried from its own fits alone, is
        // read from the fits ahead of it only; with those behind it too, it is where the first segment's
        // last frame left the camera, a turn on.
        let truth = panning(100);
        let (before, behind) = carry(&fits(&truth, (0, 50)), &turns(50), 100, None);
        let behind = behind.expect("the first segment hands its fits on");
        assert_eq!(behind.frame, 149);
        let later = fits(&truth, (50, 100));
        let (alone, _) = carry(&later, &turns(50), 150, None);
        let (joined, _) = carry(&later, &turns(50), 150, Some(&behind));
        // The camera's step across the seam less the true one, in pixels at the focal length.
        let miss =
            |c: &Pose, t: &Pose| Rotation3::from_matrix_unchecked(c.rotation * t.rotation.transpose()).scaled_axis();
        let step = |after: &[Option<Pose>]| {
            let (a, b) = (before[49].unwrap(), after[0].unwrap());
            (miss(&b, &truth[50]) - miss(&a, &truth[49])).norm() * a.focal
        };
        // 0.21 px against 0.39: what is left is the first segment's end, read from one side.
        assert!(step(&joined) < 0.75 * step(&alone), "{} px against {} px alone", step(&joined), step(&alone));
        let error =
            |c: &[Option<Pose>]| c[..10].iter().zip(&truth[50..]).map(|(c, t)| off(&c.unwrap(), t)).sum::<f64>();
        assert!(error(&joined) < error(&alone), "{} against {} alone", error(&joined), error(&alone));
        // Not after a gap, nor from another camera (a cut at the seam): then the segment stands alone.
        let gap = Behind { frame: 148, ..behind.clone() };
        assert_eq!(carry(&later, &turns(50), 150, Some(&gap)).0, alone);
        let elsewhere = Behind { turn: [0.0, 0.05, 0.0, 0.0], ..behind };
        assert_eq!(carry(&later, &turns(50), 150, Some(&elsewhere)).0, alone);
    }

    #[test]
    fn at_a_segment_s_end_the_camera_does_not_swing_with_the_fits_before_it() {
        // The last frames have fits on one side only: a free line through them would carry their error
        // onward along its slope.
        let truth = panning(50);
        let fits = fits(&truth, (0, 50));
        let (carried, _) = carry(&fits, &turns(50), 100, None);
        let fit_error = fits.iter().map(|(f, p)| off(p, &truth[(f - 100) as usize])).sum::<f64>() / fits.len() as f64;
        let end: Vec<f64> = (45..50).map(|i| off(&carried[i].unwrap(), &truth[i]) / fit_error).collect();
        // A free line: 0.34-0.41 of the fits' error; held toward no slope, 0.12-0.14.
        assert!(end.iter().all(|&e| e < 0.25), "{end:?} of the fits' error");
    }
}
