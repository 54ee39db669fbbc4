//! A fixed camera's fit sharpened on the pitch's painted lines. The keypoint model places a far keypoint
//! a few pixels off, and there a pixel is half a metre; the lines cross the whole picture, and hundreds of
//! points along them, each found to a fraction of a pixel, pin the camera down far closer. A fixed camera
//! is found once, so there is time for it; its frames' median also takes the players off the lines.
//! Not for a broadcast camera, frame by frame: tried on the 34 labelled valid frames (a prototype of the
//! same search), the labelled keypoints' tail landed further off (median / 90th percentile 0.29 / 0.70 ->
//! 0.29 / 1.44 m; within 4 then 3 px only, 0.25 / 0.81 m): a broadcast lens bends a little, which the
//! keypoints near each other do not show and lines across the picture do.

use nalgebra::{Matrix3, SVector};

use super::homography::Point;
use super::lsq::damped_step;
use super::{CENTRE_CIRCLE, Calibration, Homography, PENALTY_AREA_DEPTH, PENALTY_SPOT, Pitch};
use crate::source::Frame;

/// A point along the lines every this many metres.
const STEP_M: f64 = 0.5;
/// The Laws paint lines at most 12 cm wide.
const LINE_WIDTH_M: f64 = 0.12;
/// How far either side of where the camera puts a line it is looked for, in pixels of a 1280-wide
/// picture: wide first, then closer as the fit closes in.
const REACH_PX: [f64; 3] = [12.0, 6.0, 4.0];
/// A line is at least this much whiter (0-255) than the grass on both its sides.
const CONTRAST: f32 = 15.0;
/// A point is not believed where another stripe in its reach is nearly as white (a board, a shadow's edge).
const RIVAL: f32 = 0.7;
/// Fewer points found than this do not outweigh the keypoints.
const MIN_POINTS: usize = 40;
/// A miss (pixels at 1280 wide) beyond which a point counts less and less: a player's sock, a misread.
const HUBER_PX: f64 = 1.5;
/// A keypoint weighs this much against one point of line: the model places them a few pixels off.
const KEYPOINT_WEIGHT: f64 = 0.5;
/// The most a keypoint may be off the sharpened camera (pixels at 1280 wide); the model's far keypoints
/// are 3-6 off on a synthetic fixed camera.
const KEYPOINT_MISS_PX: f64 = 10.0;
const STEPS: usize = 10;

/// A painted mark: a straight line, or an arc of a circle.
#[derive(Clone, Copy, Debug)]
enum Mark {
    Line(Point, Point),
    Arc { centre: Point, radius: f64 },
}

impl Mark {
    /// How far (m) a pitch point is off the mark, signed.
    fn miss(&self, p: Point) -> f64 {
        let (n, at) = (self.normal(p), self.foot(p));
        (p.0 - at.0) * n.0 + (p.1 - at.1) * n.1
    }

    /// The unit normal of the mark nearest `p`.
    fn normal(&self, p: Point) -> Point {
        match *self {
            Mark::Line(a, b) => {
                let l = (b.0 - a.0).hypot(b.1 - a.1);
                (-(b.1 - a.1) / l, (b.0 - a.0) / l)
            }
            Mark::Arc { centre: c, .. } => {
                let l = (p.0 - c.0).hypot(p.1 - c.1).max(1e-9);
                ((p.0 - c.0) / l, (p.1 - c.1) / l)
            }
        }
    }

    /// A point of the mark (its line or circle) the normal passes through.
    fn foot(&self, p: Point) -> Point {
        match *self {
            Mark::Line(a, _) => a,
            Mark::Arc { centre: c, radius } => {
                let n = self.normal(p);
                (c.0 + radius * n.0, c.1 + radius * n.1)
            }
        }
    }
}

/// A point along a mark, on the pitch.
struct Sample {
    at: Point,
    mark: Mark,
}

/// The painted straight lines, as the keypoints at their ends: touchlines, halfway line, goal lines, then
/// each penalty area's and goal area's three sides.
const LINES: [(usize, usize); 17] = [
    (0, 24),
    (5, 29),
    (13, 16),
    (0, 5),
    (24, 29),
    (1, 9),
    (9, 12),
    (12, 4),
    (2, 6),
    (6, 7),
    (7, 3),
    (25, 17),
    (17, 20),
    (20, 28),
    (26, 22),
    (22, 23),
    (23, 27),
];

/// Points every `STEP_M` along the pitch's lines, circle and penalty arcs (corner arcs are too small).
fn samples(pitch: Pitch) -> Vec<Sample> {
    let k = pitch.keypoints();
    let lines = LINES.map(|(a, b)| (k[a], k[b]));
    let mut samples = Vec::new();
    for (a, b) in lines {
        let n = ((b.0 - a.0).hypot(b.1 - a.1) / STEP_M).round() as usize;
        // Not the ends: there lines meet and a point could sit on either.
        samples.extend((1..n).map(|i| {
            let t = i as f64 / n as f64;
            Sample { at: (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t), mark: Mark::Line(a, b) }
        }));
    }
    let centre = ((k[30].0 + k[31].0) / 2.0, k[30].1);
    let arcs = [(centre, None), (k[8], Some(1.0)), (k[21], Some(-1.0))];
    let n = (std::f64::consts::TAU * CENTRE_CIRCLE / STEP_M).round() as usize;
    for (centre, outward) in arcs {
        let mark = Mark::Arc { centre, radius: CENTRE_CIRCLE };
        for i in 0..n {
            let a = std::f64::consts::TAU * i as f64 / n as f64;
            let at = (centre.0 + CENTRE_CIRCLE * a.cos(), centre.1 + CENTRE_CIRCLE * a.sin());
            // A penalty arc is only the part outside its area.
            let outside = |s: f64| s * (at.0 - centre.0) > PENALTY_AREA_DEPTH - PENALTY_SPOT;
            if outward.is_none_or(outside) {
                samples.push(Sample { at, mark });
            }
        }
    }
    samples
}

/// How white each pixel is (its darkest channel: grass is dark in red and blue, paint in none), the
/// median over the frames so that players who move uncover the lines.
struct Whiteness {
    width: u32,
    height: u32,
    value: Vec<f32>,
}

impl Whiteness {
    fn of(frames: &[&Frame]) -> Whiteness {
        let (width, height) = (frames[0].width, frames[0].height);
        let mut seen = Vec::with_capacity(frames.len());
        let value = (0..(width * height) as usize)
            .map(|i| {
                seen.clear();
                seen.extend(frames.iter().map(|f| f.rgb[3 * i].min(f.rgb[3 * i + 1]).min(f.rgb[3 * i + 2])));
                seen.sort_unstable();
                seen[seen.len() / 2] as f32
            })
            .collect();
        Whiteness { width, height, value }
    }

    /// Bilinear, at a point inside the picture (pixel `i` spans `i..i + 1`, so its value is at `i + 0.5`).
    fn at(&self, (x, y): Point) -> f32 {
        let (x, y) = (x - 0.5, y - 0.5);
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = ((x - x0) as f32, (y - y0) as f32);
        let (i, j) = (x0 as usize, y0 as usize);
        let v = |i: usize, j: usize| self.value[j * self.width as usize + i];
        let top = v(i, j) * (1.0 - fx) + v(i + 1, j) * fx;
        let bottom = v(i, j + 1) * (1.0 - fx) + v(i + 1, j + 1) * fx;
        top * (1.0 - fy) + bottom * fy
    }

    fn holds(&self, (x, y): Point, margin: f64) -> bool {
        x >= margin && y >= margin && x < self.width as f64 - 1.0 - margin && y < self.height as f64 - 1.0 - margin
    }
}

/// A point of a line found in the picture: its pixel, its mark, and how many pixels a metre across the
/// mark spans there (what turns a miss on the pitch into pixels).
struct Found {
    pixel: Point,
    mark: Mark,
    scale: f64,
}

/// Each sample looked for across its mark, within `reach` pixels of where the camera puts it: the middle
/// of the whitest stripe as wide as the paint there, if it stands out clearly.
fn look(picture: &Whiteness, camera: &Homography, samples: &[Sample], reach: f64) -> Vec<Found> {
    let Some(g) = camera.inverse() else { return Vec::new() };
    let steps = (2.0 * reach / 0.5).round() as usize;
    let mut found = Vec::new();
    for s in samples {
        let n = s.mark.normal(s.at);
        let nudged = (s.at.0 + 0.1 * n.0, s.at.1 + 0.1 * n.1);
        let (Some(q), Some(q2)) = (g.apply(s.at), g.apply(nudged)) else {
            continue;
        };
        let across = ((q2.0 - q.0) / 0.1, (q2.1 - q.1) / 0.1);
        let scale = across.0.hypot(across.1);
        // Under a pixel a metre the paint is a tenth of a pixel: nothing to see.
        if scale < 1.0 {
            continue;
        }
        let u = (across.0 / scale, across.1 / scale);
        let side = (LINE_WIDTH_M / 2.0 * scale).max(1.0) + 2.0;
        if !picture.holds(q, reach + side + 1.0) {
            continue;
        }
        let along = |t: f64| picture.at((q.0 + t * u.0, q.1 + t * u.1));
        let stands: Vec<f32> = (0..=steps)
            .map(|i| {
                let t = -reach + 0.5 * i as f64;
                let c = along(t);
                (c - along(t - side)).min(c - along(t + side))
            })
            .collect();
        let (best, &peak) = stands.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).expect("steps >= 1");
        let rival =
            stands.iter().enumerate().any(|(i, &v)| (i.abs_diff(best) as f64) * 0.5 > 2.0 * side && v > RIVAL * peak);
        if peak < CONTRAST || rival {
            continue;
        }
        // The peak's parabola through its neighbours, for the fraction of a step.
        let mut t = -reach + 0.5 * best as f64;
        if best > 0 && best < steps {
            let (a, c) = (stands[best - 1] as f64, stands[best + 1] as f64);
            let curve = a - 2.0 * peak as f64 + c;
            if curve < 0.0 {
                t += 0.25 * (a - c) / curve;
            }
        }
        found.push(Found { pixel: (q.0 + t * u.0, q.1 + t * u.1), mark: s.mark, scale });
    }
    found
}

/// The homography (image to pitch) the lines and keypoints (image pixel, pitch point) agree on best, from
/// `camera`'s, and how many line points it rests on; `None` when too few line points are seen or the
/// keypoints would no longer agree.
///
/// A camera without a lens only: on the university clip, with its lens fitted (k = -0.3) and held or
/// refitted too, the lines moved its clicked keypoints off (the farthest 2.3 -> 4.3 m, the next 1.0 ->
/// 1.7 m): the one-parameter lens does not bend the picture exactly as the lens does, and lines across the
/// whole picture find that out.
pub fn refine(frames: &[&Frame], camera: &Calibration, keypoints: &[(Point, Point)]) -> Option<(Homography, usize)> {
    let first = frames.first()?;
    if camera.lens.is_some() {
        return None;
    }
    let picture = Whiteness::of(frames);
    let samples = samples(camera.pitch);
    let px = first.width as f64 / 1280.0;
    // Image pixels about the centre in half-widths: the 8 nudges to the homography then weigh alike.
    let f = first.width as f64 / 2.0;
    let norm = Matrix3::new(1.0 / f, 0.0, -1.0, 0.0, 1.0 / f, -(first.height as f64) / (2.0 * f), 0.0, 0.0, 1.0);
    let unnorm = norm.try_inverse()?;
    let mut current = camera.homography;
    let mut found = Vec::new();
    for reach in REACH_PX.map(|r| r * px) {
        found = look(&picture, &current, &samples, reach);
        if found.len() < MIN_POINTS {
            return None;
        }
        let start = current.matrix();
        let fitting = Fitting { found: &found, keypoints, huber: HUBER_PX * px };
        current = fitting.fit(|d| {
            let nudge = Matrix3::from_fn(|r, c| if r * 3 + c < 8 { d[r * 3 + c] } else { 0.0 }) + Matrix3::identity();
            Homography::from_matrix(&(start * unnorm * nudge * norm))
        })?;
    }
    // The keypoints still agree with the camera, each within what the model misses by. (Not in metres: a far
    // keypoint's few pixels are metres.)
    let g = current.inverse()?;
    let agree = keypoints
        .iter()
        .all(|&(pixel, at)| g.apply(at).is_some_and(|q| (q.0 - pixel.0).hypot(q.1 - pixel.1) <= KEYPOINT_MISS_PX * px));
    let better = misses_px(&current, &found) < misses_px(&camera.homography, &found);
    (agree && better).then_some((current, found.len()))
}

/// The points a camera is fitted to, and how far a miss counts in full.
struct Fitting<'a> {
    found: &'a [Found],
    keypoints: &'a [(Point, Point)],
    huber: f64,
}

impl Fitting<'_> {
    /// Each line point's miss across its mark and each keypoint's two, in pixels; `None` where the camera
    /// folds the picture.
    fn misses(&self, camera: &Homography) -> Option<Vec<f64>> {
        let g = camera.inverse()?;
        let mut r = Vec::with_capacity(self.found.len() + 2 * self.keypoints.len());
        for p in self.found {
            r.push(p.scale * p.mark.miss(camera.apply(p.pixel)?));
        }
        for &(pixel, at) in self.keypoints {
            let q = g.apply(at)?;
            r.extend([KEYPOINT_WEIGHT * (q.0 - pixel.0), KEYPOINT_WEIGHT * (q.1 - pixel.1)]);
        }
        Some(r)
    }

    /// The camera `nudged` by 8 parameters from zero that misses least: Gauss-Newton steps on Huber's
    /// weights (a far miss pulls as if it were `huber` off), each kept only if it lowers Huber's cost.
    fn fit(&self, nudged: impl Fn(&SVector<f64, 8>) -> Homography) -> Option<Homography> {
        let cost = |r: &[f64]| r.iter().map(|m| huber(*m, self.huber)).sum::<f64>();
        let mut d = SVector::<f64, 8>::zeros();
        let mut r = self.misses(&nudged(&d))?;
        for _ in 0..STEPS {
            let weights: Vec<f64> = r.iter().map(|m| (self.huber / m.abs().max(1e-12)).min(1.0).sqrt()).collect();
            let weigh = |r: Vec<f64>| -> Vec<f64> { r.iter().zip(&weights).map(|(a, w)| a * w).collect() };
            let eps = 1e-7;
            let step: SVector<f64, 8> = damped_step(&weigh(r.clone()), eps, 1e-6, |i| {
                let mut e = d;
                e[i] += eps;
                Some(weigh(self.misses(&nudged(&e))?))
            })?;
            let next = d + step;
            let Some(rn) = self.misses(&nudged(&next)) else { break };
            if cost(&rn) >= cost(&r) {
                break;
            }
            (d, r) = (next, rn);
            if step.norm() < 1e-12 {
                break;
            }
        }
        Some(nudged(&d))
    }
}

fn huber(m: f64, k: f64) -> f64 {
    if m.abs() <= k { m * m / 2.0 } else { k * (m.abs() - k / 2.0) }
}

/// The median miss (pixels) of the line points through a camera.
fn misses_px(camera: &Homography, found: &[Found]) -> f64 {
    let mut m: Vec<f64> = found
        .iter()
        .map(|p| camera.apply(p.pixel).map_or(f64::INFINITY, |at| (p.scale * p.mark.miss(at)).abs()))
        .collect();
    super::score::quantile(&mut m, 0.5).unwrap_or(f64::INFINITY)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The synthetic fixed camera's view (image -> pitch): the whole pitch from high behind a touchline.
    pub(in crate::pitch) const SEEN: Homography = Homography([
        [-0.3880587352914976, -1.0799294526542602, 300.85759058655844],
        [0.0, -2.1343151815346677, 550.5756272479443],
        [0.0, -0.0205700848124621, 1.0],
    ]);

    /// How far (m) a pitch point is from the painted `lines` and centre circle.
    fn from_paint(p: Point, pitch: Pitch, lines: &[(Point, Point)]) -> f64 {
        let segment = |(a, b): (Point, Point)| {
            let (dx, dy) = (b.0 - a.0, b.1 - a.1);
            let t = (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
            (p.0 - a.0 - t * dx).hypot(p.1 - a.1 - t * dy)
        };
        let circle = ((p.0 - pitch.length / 2.0).hypot(p.1 - pitch.width / 2.0) - CENTRE_CIRCLE).abs();
        lines.iter().copied().map(segment).fold(circle, f64::min)
    }

    /// Grass with the lines painted as `camera` sees them (2 x 2 samples a pixel), and a white-shirted
    /// player (12 x 36 pixels) at each of `players`.
    pub(in crate::pitch) fn painted(camera: &Calibration, (width, height): (u32, u32), players: &[Point]) -> Frame {
        let mut rgb = Vec::with_capacity((width * height * 3) as usize);
        let k = camera.pitch.keypoints();
        let lines = LINES.map(|(a, b)| (k[a], k[b]));
        for y in 0..height {
            for x in 0..width {
                let mut paint = 0.0;
                for (dx, dy) in [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)] {
                    let q = (x as f64 + dx, y as f64 + dy);
                    let on = camera
                        .homography
                        .apply(q)
                        .is_some_and(|p| from_paint(p, camera.pitch, &lines) <= LINE_WIDTH_M / 2.0);
                    paint += if on { 0.25 } else { 0.0 };
                }
                let shirt = players.iter().any(|p| (x as f64 - p.0).abs() < 6.0 && (y as f64 - p.1).abs() < 18.0);
                let grass = [60.0, 140.0, 50.0];
                let c = |i: usize| if shirt { 235 } else { (grass[i] + paint * (230.0 - grass[i])) as u8 };
                rgb.extend([c(0), c(1), c(2)]);
            }
        }
        Frame { index: 0, width, height, rgb }
    }

    /// The median and largest distance (m) between where two cameras put the pitch points every 5 m that
    /// the first sees.
    pub(in crate::pitch) fn apart(truth: &Homography, got: &Homography, (width, height): (u32, u32)) -> (f64, f64) {
        let g = truth.inverse().unwrap();
        let mut d: Vec<f64> = (0..=21)
            .flat_map(|i| (0..=17).map(move |j| (i as f64 * 5.0, j as f64 * 4.0)))
            .filter_map(|p| {
                let q = g.apply(p)?;
                let inside = (0.0..width as f64).contains(&q.0) && (0.0..height as f64).contains(&q.1);
                inside.then(|| got.apply(q).map_or(f64::INFINITY, |m| (m.0 - p.0).hypot(m.1 - p.1)))
            })
            .collect();
        let largest = d.iter().copied().fold(0.0, f64::max);
        (super::super::score::quantile(&mut d, 0.5).unwrap(), largest)
    }

    /// Keypoints as a model finds them: where `camera` sees them, a few pixels off.
    pub(in crate::pitch) fn found_near(camera: &Calibration, indices: &[usize]) -> Vec<(Point, Point)> {
        let g = camera.homography.inverse().unwrap();
        let at = camera.pitch.keypoints();
        let offs = [(4.0, -3.0), (-3.0, 4.0), (2.0, 3.0), (-4.0, -2.0), (3.0, 2.0), (-2.0, -4.0)];
        indices
            .iter()
            .zip(offs.iter().cycle())
            .map(|(&k, o)| {
                let q = g.apply(at[k]).unwrap();
                ((q.0 + o.0, q.1 + o.1), at[k])
            })
            .collect()
    }

    #[test]
    fn the_lines_pull_a_camera_fitted_on_keypoints_a_few_pixels_off_onto_the_pitch() {
        let truth = Calibration { pitch: Pitch::default(), homography: SEEN, lens: None };
        let size = (1280, 720);
        let keypoints = found_near(&truth, &[9, 13, 14, 15, 16, 17, 30, 31]);
        let start = Calibration { homography: Homography::fit(&keypoints).unwrap(), ..truth };
        // Players stand on the lines, each on one frame of three.
        let players =
            [[(640.0, 300.0), (300.0, 650.0)], [(175.0, 292.0), (900.0, 655.0)], [(640.0, 500.0), (1000.0, 294.0)]];
        let frames: Vec<Frame> = players.iter().map(|p| painted(&truth, size, p)).collect();
        let (sharp, _) = refine(&frames.iter().collect::<Vec<_>>(), &start, &keypoints).expect("the lines are seen");
        let (before, after) = (apart(&SEEN, &start.homography, size), apart(&SEEN, &sharp, size));
        assert!(after.0 < 0.08 && after.1 < 0.15, "sharpened {after:?}, from {before:?}");
        assert!(after.0 < before.0 / 4.0, "sharpened {after:?}, from {before:?}");
    }

    #[test]
    fn grass_without_lines_leaves_the_camera_as_the_keypoints_found_it() {
        let truth = Calibration { pitch: Pitch::default(), homography: SEEN, lens: None };
        let grass = Frame { index: 0, width: 1280, height: 720, rgb: [60, 140, 50].repeat(1280 * 720) };
        let keypoints = found_near(&truth, &[9, 13, 14, 15, 16, 17, 30, 31]);
        assert!(refine(&[&grass], &truth, &keypoints).is_none());
    }
}
