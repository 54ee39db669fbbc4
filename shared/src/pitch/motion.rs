//! The camera's turn and zoom from one frame to the next, read off the pictures themselves (`carry` takes
//! the keyframes' fits along them).
//!
//! On its mount a camera only turns and zooms, so all that stands still (the grass and its lines, the
//! boards, the stands) moves from one frame to the next by one map, `K' R K^-1`, whatever its depth; the
//! players and the ball, which move on their own, are left out where the detector boxed them (outvoted
//! only, they pulled the turns toward a zoom the camera does not make). A turn between two frames is about
//! 0.1 px off in the picture's middle and 0.1-0.2 px at its corners.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use nalgebra::{Matrix3, Rotation3, Vector3};

use super::ptz::{Pose, Principal};
use crate::geometry::BBox;
use crate::source::Frame;

/// Pictures are compared this many pixels wide (half of 1280), after a half and a quarter of that.
const WIDTH: u32 = 640;
/// Only pixels on an edge this steep (grey levels a pixel) tell where the picture moved; flat grass does
/// not, and costs as much.
const MIN_GRADIENT: f32 = 3.0;
/// Gauss-Newton steps at most at each scale, finest first (each starts where the coarser one ended); a
/// step this small (radians, log zoom) has converged. The Jacobian is held from the earlier picture, so
/// the steps close in slowly: against the renderer's camera (60 s synthetic match, the players still in
/// the turns) a turn carried the picture's far corners 0.84 px off (rms) with 3 and 4 steps at the two
/// finer scales, 0.59 with 6 and 4, 0.53 with 8 and 4, 0.48 with 12 and 6 (distances and top speeds as
/// with 8 and 4, the turns slower).
const STEPS: [usize; 3] = [8, 4, 8];
const CONVERGED: f64 = 1e-6;
/// Grey levels: a pixel's difference beyond this counts less and less (Huber), as a moving thing's.
const ROBUST_GREY: f32 = 8.0;
/// Two pictures still this far apart once aligned (median grey level) are not one camera turning: a cut.
const CUT_GREY: f32 = 12.0;
/// Faster than this (radians a frame, 30 degrees a second at 25 fps) no broadcast camera turns.
const MAX_TURN: f64 = 0.02;
/// Pixels this close to a detected box may still be the one in it (a box is drawn a pixel or two tight,
/// and a pixel's gradient reaches its neighbours).
const MOVER_MARGIN: f64 = 4.0;
/// What moves on its own is marked on a grid of cells this many frame pixels wide.
const MOVER_CELL: f64 = 4.0;

/// A frame's picture, grey, at three scales (finest first), with its gradients.
pub struct Picture {
    levels: [Level; 3],
}

struct Level {
    width: usize,
    height: usize,
    /// Frame pixels per pixel of this level.
    scale: f64,
    grey: Vec<f32>,
    gx: Vec<f32>,
    gy: Vec<f32>,
}

/// How the camera turned from one frame to the next: `rotation` (an axis times its angle, radians, in the
/// camera's own frame) applied after the earlier frame's, and the focal length scaled by `zoom.exp()`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Turn {
    pub rotation: Vector3<f64>,
    pub zoom: f64,
}

impl Picture {
    pub fn of(resizer: &mut Resizer, frame: &Frame) -> anyhow::Result<Picture> {
        let width = WIDTH.min(frame.width);
        let height = ((frame.height as f64 * width as f64 / frame.width as f64).round() as u32).max(1);
        let src = ImageRef::new(frame.width, frame.height, &frame.rgb, PixelType::U8x3)?;
        let mut small = Image::new(width, height, PixelType::U8x3);
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Box));
        resizer.resize(&src, &mut small, &options)?;
        let grey: Vec<f32> = small
            .buffer()
            .chunks_exact(3)
            .map(|p| 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32)
            .collect();
        let fine = Level::new(width as usize, height as usize, frame.width as f64 / width as f64, grey);
        let middle = fine.halved();
        let coarse = middle.halved();
        Ok(Picture { levels: [fine, middle, coarse] })
    }
}

impl Level {
    fn new(width: usize, height: usize, scale: f64, grey: Vec<f32>) -> Level {
        let (mut gx, mut gy) = (vec![0.0; grey.len()], vec![0.0; grey.len()]);
        for y in 1..height.saturating_sub(1) {
            for x in 1..width.saturating_sub(1) {
                let i = y * width + x;
                gx[i] = (grey[i + 1] - grey[i - 1]) / 2.0;
                gy[i] = (grey[i + width] - grey[i - width]) / 2.0;
            }
        }
        Level { width, height, scale, grey, gx, gy }
    }

    /// The mean of each two by two block.
    fn halved(&self) -> Level {
        let (w, h) = (self.width / 2, self.height / 2);
        let at = |x: usize, y: usize| self.grey[y * self.width + x];
        let grey = (0..h)
            .flat_map(|y| (0..w).map(move |x| (y, x)))
            .map(|(y, x)| {
                (at(2 * x, 2 * y) + at(2 * x + 1, 2 * y) + at(2 * x, 2 * y + 1) + at(2 * x + 1, 2 * y + 1)) / 4.0
            })
            .collect();
        Level::new(w, h, self.scale * self.width as f64 / w as f64, grey)
    }

    fn sample(&self, p: (f64, f64)) -> Option<f32> {
        self.sample_of(&self.grey, p)
    }

    /// The centre of this level's pixel `(x, y)`, in frame pixels.
    fn centre(&self, x: usize, y: usize) -> (f64, f64) {
        ((x as f64 + 0.5) * self.scale, (y as f64 + 0.5) * self.scale)
    }

    /// The grey level at a point in frame pixels (bilinear); `None` off the picture.
    fn sample_of(&self, g: &[f32], (x, y): (f64, f64)) -> Option<f32> {
        let (u, v) = (x / self.scale - 0.5, y / self.scale - 0.5);
        let (right, bottom) = (self.width.saturating_sub(1) as f64, self.height.saturating_sub(1) as f64);
        if !(u >= 0.0 && v >= 0.0 && u < right && v < bottom) {
            return None;
        }
        let (x0, y0) = (u as usize, v as usize);
        let (fx, fy) = ((u - x0 as f64) as f32, (v - y0 as f64) as f32);
        let i = y0 * self.width + x0;
        let top = g[i] + (g[i + 1] - g[i]) * fx;
        let bottom = g[i + self.width] + (g[i + self.width + 1] - g[i + self.width]) * fx;
        Some(top + (bottom - top) * fy)
    }
}

/// Where a picture moves on its own: the cells (`MOVER_CELL` px) that the boxes of what was detected in it
/// (people, the ball), widened by `MOVER_MARGIN`, reach into.
pub struct Movers {
    columns: usize,
    cells: Vec<bool>,
}

impl Movers {
    pub fn new<'a>((width, height): (u32, u32), boxes: impl IntoIterator<Item = &'a BBox>) -> Movers {
        let cell = |v: f64, cells: usize| ((v / MOVER_CELL).max(0.0) as usize).min(cells.saturating_sub(1));
        let (columns, rows) =
            ((width as f64 / MOVER_CELL).ceil() as usize, (height as f64 / MOVER_CELL).ceil() as usize);
        let mut cells = vec![false; columns * rows];
        let (w, h, m) = (width as f64, height as f64, MOVER_MARGIN);
        let seen = |b: &&BBox| b.x2 + m >= 0.0 && b.y2 + m >= 0.0 && b.x1 - m < w && b.y1 - m < h;
        for b in boxes.into_iter().filter(seen) {
            let (x1, x2) = (cell(b.x1 - m, columns), cell(b.x2 + m, columns));
            let (y1, y2) = (cell(b.y1 - m, rows), cell(b.y2 + m, rows));
            for y in y1..=y2.max(y1) {
                cells[y * columns + x1..=y * columns + x2.max(x1)].fill(true);
            }
        }
        Movers { columns, cells }
    }

    /// Whether frame point `p` is clear of them.
    pub fn still(&self, (x, y): (f64, f64)) -> bool {
        let (column, row) = ((x / MOVER_CELL) as usize, (y / MOVER_CELL) as usize);
        !(column < self.columns && self.cells.get(row * self.columns + column).copied().unwrap_or(false))
    }
}

/// Where a point of the earlier frame (frame pixels) is seen in the later one after `turn`, for a camera of
/// `focal` pixels.
pub fn warp(rotation: &Rotation3<f64>, zoom: f64, focal: f64, principal: Principal, (x, y): (f64, f64)) -> (f64, f64) {
    let d = rotation * Vector3::new((x - principal.0) / focal, (y - principal.1) / focal, 1.0);
    let f = focal * zoom.exp();
    (principal.0 + f * d.x / d.z, principal.1 + f * d.y / d.z)
}

/// How the camera turned from `before` to `after`, starting from `guess` (the turn before: cameras pan
/// smoothly), from the pixels of `before` that are `on_pitch` (what is painted on a picture, a score or a
/// logo, stays put as the camera turns). `camera` is roughly `before`'s (the nearest fit): its focal length
/// scales the turn, and which way is up on the pitch is what it pans about. A broadcast camera sits on a
/// head that pans about the vertical and tilts about its own horizontal axis, never rolling: a roll
/// would move the picture much as a pan does, and is left out. `None` when the pictures are not one
/// camera turning (a cut, a replay) or the turn cannot be found.
pub fn turn(
    before: &Picture,
    after: &Picture,
    (camera, principal): (&Pose, Principal),
    on_pitch: impl Fn((f64, f64)) -> bool,
    guess: Turn,
) -> Option<Turn> {
    let focal = camera.focal;
    let up = (camera.rotation * Vector3::z()).normalize();
    let side = Vector3::x();
    let turned = |p: &Vector3<f64>| Turn { rotation: p[0] * up + p[1] * side, zoom: p[2] };
    let mut p = Vector3::new(guess.rotation.dot(&up), guess.rotation.dot(&side), guess.zoom);
    for (level, ((b, a), steps)) in before.levels.iter().zip(&after.levels).zip(STEPS).enumerate().rev() {
        // Pixels of the earlier picture, their grey level and the Jacobian of that level's grey with the
        // turn at no turn (held for the steps: the turns between frames are small).
        let mut points = Vec::new();
        // At the finest scale every other pixel each way: about as precise, at a quarter of the cost.
        let stride = if level == 0 { 2 } else { 1 };
        for y in (2..b.height.saturating_sub(2)).step_by(stride) {
            for x in (2..b.width.saturating_sub(2)).step_by(stride) {
                let i = y * b.width + x;
                if b.gx[i].hypot(b.gy[i]) < MIN_GRADIENT {
                    continue;
                }
                let (gx, gy) = (b.gx[i] as f64 / b.scale, b.gy[i] as f64 / b.scale);
                let at = b.centre(x, y);
                if !on_pitch(at) {
                    continue;
                }
                let (u, v) = ((at.0 - principal.0) / focal, (at.1 - principal.1) / focal);
                // Image motion per radian about the camera's axes, and per unit of log zoom.
                let about =
                    Vector3::new(-gx * u * v - gy * (1.0 + v * v), gx * (1.0 + u * u) + gy * u * v, -gx * v + gy * u)
                        * focal;
                let j = Vector3::new(about.dot(&up), about.dot(&side), focal * (gx * u + gy * v));
                points.push((at, b.grey[i], j));
            }
        }
        for _ in 0..steps {
            let t = turned(&p);
            let rotation = Rotation3::new(t.rotation);
            let (mut normal, mut gradient) = (Matrix3::zeros(), Vector3::zeros());
            for &(at, grey, j) in &points {
                let Some(seen) = a.sample(warp(&rotation, t.zoom, focal, principal, at)) else { continue };
                let r = seen - grey;
                let w = (ROBUST_GREY / r.abs()).min(1.0) as f64;
                normal += w * j * j.transpose();
                gradient += w * r as f64 * j;
            }
            let step = normal.try_inverse()? * -gradient;
            p += step;
            if step.norm() < CONVERGED {
                break;
            }
        }
    }
    let found = turned(&p);
    if !p.iter().all(|v| v.is_finite()) || found.rotation.norm() > MAX_TURN {
        return None;
    }
    (misfit(before, after, (focal, principal), on_pitch, found)? <= CUT_GREY).then_some(found)
}

/// The median grey-level difference of the pictures once `turn` aligns them.
fn misfit(
    before: &Picture,
    after: &Picture,
    (focal, principal): (f64, Principal),
    on_pitch: impl Fn((f64, f64)) -> bool,
    turn: Turn,
) -> Option<f32> {
    // At the middle scale: a cut is no subtle thing.
    let (b, a) = (&before.levels[1], &after.levels[1]);
    let rotation = Rotation3::new(turn.rotation);
    // Every other pixel each way: a median needs no more.
    let mut differences: Vec<f32> = (0..b.height)
        .step_by(2)
        .flat_map(|y| (0..b.width).step_by(2).map(move |x| (x, y)))
        .filter_map(|(x, y)| {
            let at = b.centre(x, y);
            if !on_pitch(at) {
                return None;
            }
            Some((a.sample(warp(&rotation, turn.zoom, focal, principal, at))? - b.grey[y * b.width + x]).abs())
        })
        .collect();
    if differences.is_empty() {
        return None;
    }
    let middle = differences.len() / 2;
    Some(*differences.select_nth_unstable_by(middle, f32::total_cmp).1)
}

#[cfg(test)]
pub(in crate::pitch) mod tests {
    use super::*;
    use crate::pitch::ptz::tests::camera;

    const PRINCIPAL: Principal = (640.0, 360.0);

    /// A frame of textured grass seen by `pose`: stripes and a pattern fixed on the pitch, a player-sized
    /// block moving on its own, and the sky above the horizon.
    fn frame(pose: &Pose, index: u64) -> Frame {
        let (w, h) = (1280u32, 720u32);
        let h_img = pose.homography(PRINCIPAL).unwrap();
        let mut rgb = Vec::with_capacity((w * h * 3) as usize);
        for y in 0..h {
            for x in 0..w {
                let grey = match h_img.apply((x as f64 + 0.5, y as f64 + 0.5)) {
                    Some((px, py)) if (-20.0..130.0).contains(&px) && (-20.0..90.0).contains(&py) => {
                        let runner = (px - 40.0 - index as f64 * 0.3).abs() < 0.4 && (py - 30.0).abs() < 0.4;
                        if runner {
                            250.0
                        } else {
                            100.0 + 30.0 * ((px * 1.3).sin() * (py * 0.9).cos()) + 20.0 * ((px / 5.0).floor() % 2.0)
                        }
                    }
                    _ => 200.0,
                };
                rgb.extend([grey as u8; 3]);
            }
        }
        Frame { index, width: w, height: h, rgb }
    }

    pub(in crate::pitch) fn turned(pose: &Pose, t: Turn) -> Pose {
        Pose {
            rotation: Rotation3::new(t.rotation).matrix() * pose.rotation,
            focal: pose.focal * t.zoom.exp(),
            ..*pose
        }
    }

    #[test]
    fn a_pan_tilt_and_zoom_between_two_frames_is_read_off_the_pictures() {
        // Panned about the vertical, tilted about the camera's own horizontal axis, zoomed 1 %.
        let before = camera(52.5, 34.0, 1500.0);
        let up = before.rotation * Vector3::z();
        let truth = Turn { rotation: -0.004 * up + 0.0012 * Vector3::x(), zoom: 0.01 };
        let after = turned(&before, truth);
        let mut resizer = Resizer::new();
        let a = Picture::of(&mut resizer, &frame(&before, 0)).unwrap();
        let b = Picture::of(&mut resizer, &frame(&after, 1)).unwrap();
        let found = turn(&a, &b, (&before, PRINCIPAL), |_| true, Turn::default()).unwrap();
        // In pixels at the picture's edge: well under a pixel.
        let off = (found.rotation - truth.rotation).norm() * before.focal + (found.zoom - truth.zoom).abs() * 640.0;
        assert!(off < 0.5, "{found:?} for {truth:?}: {off} px");
    }

    #[test]
    fn a_point_in_or_just_beside_a_detected_box_moves_on_its_own_and_one_farther_off_stands_still() {
        let player = BBox { x1: 100.0, y1: 50.0, x2: 120.0, y2: 110.0 };
        let off_picture = BBox { x1: -30.0, y1: -30.0, x2: -10.0, y2: -10.0 };
        let movers = Movers::new((1280, 720), [&player, &off_picture]);
        assert!(!movers.still((110.0, 80.0)) && !movers.still((98.0, 112.0)));
        assert!(movers.still((90.0, 80.0)) && movers.still((110.0, 120.0)) && movers.still((640.0, 360.0)));
        assert!(movers.still((1.0, 1.0)));
        assert!(Movers::new((0, 0), [&player]).still((1.0, 1.0)));
    }

    #[test]
    fn frames_too_small_to_align_give_no_turn_rather_than_a_crash() {
        let mut resizer = Resizer::new();
        let tiny = Frame { index: 0, width: 3, height: 2, rgb: vec![90; 18] };
        let (a, b) = (Picture::of(&mut resizer, &tiny).unwrap(), Picture::of(&mut resizer, &tiny).unwrap());
        assert_eq!(turn(&a, &b, (&camera(52.5, 34.0, 3.0), (1.5, 1.0)), |_| true, Turn::default()), None);
    }

    #[test]
    fn a_cut_to_another_picture_is_no_turn() {
        let mut resizer = Resizer::new();
        let a = Picture::of(&mut resizer, &frame(&camera(52.5, 34.0, 1500.0), 0)).unwrap();
        let sky =
            Frame { index: 1, width: 1280, height: 720, rgb: (0..1280 * 720 * 3).map(|i| (i % 251) as u8).collect() };
        let b = Picture::of(&mut resizer, &sky).unwrap();
        assert_eq!(turn(&a, &b, (&camera(52.5, 34.0, 1500.0), PRINCIPAL), |_| true, Turn::default()), None);
    }
}
