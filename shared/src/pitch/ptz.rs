//! A broadcast camera as what it is: fixed on its mount, turning and zooming. A keyframe's free homography
//! has 8 degrees of freedom, fitted afresh from a handful of keypoints, and its error moves every player
//! on the pitch together. Once the mount is known (where the camera stands, from many keyframes), a
//! keyframe has only 4 to fit: which way the camera points (3) and its focal length (1).
//!
//! Camera model: square pixels, no skew, the principal point at the image centre. A pitch point
//! `(x, y, 0)` is seen along `d = R (X - C)`, at `focal * (d.x / d.z, d.y / d.z)` from the image centre.

use nalgebra::{Matrix3, Rotation3, Vector3, Vector4};
use serde::{Deserialize, Serialize};

use super::Homography;
use super::camera::is_zero;
use super::homography::Pair;
use super::lsq::{damped_step, dot};

/// The camera of one frame. Lengths are pitch metres; `focal` is in pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pose {
    pub centre: Vector3<f64>,
    pub rotation: Matrix3<f64>,
    pub focal: f64,
}

/// An image's principal point: its centre, in pixels.
pub type Principal = (f64, f64);

/// Gauss-Newton steps for a refit: the first guess is a keyframe's own pose, a few pixels off.
const STEPS: usize = 10;

impl Pose {
    /// The camera a homography (image pixels to pitch metres) implies; `None` when it implies none (a fit
    /// with no focal length that makes the pitch's axes square, or one seen from below).
    pub fn from_homography(h: &Homography, principal: Principal) -> Option<Pose> {
        let g = to_image(h, principal)?;
        let (g1, g2, g3) = (g.column(0), g.column(1), g.column(2));
        // Square pitch axes in the camera's frame: r1 . r2 = 0 and |r1| = |r2|, each linear in 1/f^2.
        let a = [g1.x * g2.x + g1.y * g2.y, g1.x * g1.x + g1.y * g1.y - g2.x * g2.x - g2.y * g2.y];
        let b = [g1.z * g2.z, g1.z * g1.z - g2.z * g2.z];
        let w = -(a[0] * b[0] + a[1] * b[1]) / (a[0] * a[0] + a[1] * a[1]);
        if !(w.is_finite() && w > 0.0) {
            return None;
        }
        let focal = 1.0 / w.sqrt();
        let unfocus = |v: Vector3<f64>| Vector3::new(v.x / focal, v.y / focal, v.z);
        let (r1, r2, t) = (unfocus(g1.into()), unfocus(g2.into()), unfocus(g3.into()));
        let mut scale = 2.0 / (r1.norm() + r2.norm());
        // The pitch lies in front of the camera: positive depth at the pitch point the image centre sees.
        let seen = h.apply(principal)?;
        if scale * (g * Vector3::new(seen.0, seen.1, 1.0)).z < 0.0 {
            scale = -scale;
        }
        let (r1, r2, t) = (r1 * scale, r2 * scale, t * scale);
        let rotation = nearest_rotation(Matrix3::from_columns(&[r1, r2, r1.cross(&r2)]))?;
        let centre = -rotation.transpose() * t;
        // z = x cross y points into the ground (x along the touchline, y toward the main stand): a camera
        // above the pitch has z < 0.
        (centre.z < -0.5).then_some(Pose { centre, rotation, focal: focal * pixel_scale(principal) })
    }

    /// This camera's homography from image pixels to pitch metres.
    pub fn homography(&self, principal: Principal) -> Option<Homography> {
        let k = Matrix3::new(self.focal, 0.0, principal.0, 0.0, self.focal, principal.1, 0.0, 0.0, 1.0);
        let (r, c) = (self.rotation, self.centre);
        let g = k * Matrix3::from_columns(&[r.column(0).into(), r.column(1).into(), -(r * c)]);
        Homography::from_pitch_to_image(&g)
    }

    /// Where a pitch point appears in the image, in pixels; `None` behind the camera.
    pub fn project(&self, (x, y): (f64, f64), principal: Principal) -> Option<(f64, f64)> {
        let d = self.rotation * (Vector3::new(x, y, 0.0) - self.centre);
        (d.z > 1e-9).then(|| (principal.0 + self.focal * d.x / d.z, principal.1 + self.focal * d.y / d.z))
    }

    /// How far each pitch point of `pairs` is seen from its image point: x and y misses in pixels.
    pub fn residuals(&self, pairs: &[Pair], principal: Principal) -> Option<Vec<f64>> {
        pairs.iter().try_fold(Vec::with_capacity(2 * pairs.len()), |mut r, &(px, at)| {
            let (u, v) = self.project(at, principal)?;
            r.extend([u - px.0, v - px.1]);
            Some(r)
        })
    }

    /// Root mean square of its misses of `pairs`, in pixels.
    pub fn miss(&self, pairs: &[Pair], principal: Principal) -> f64 {
        self.residuals(pairs, principal).map_or(f64::INFINITY, |r| (dot(&r, &r) / pairs.len() as f64).sqrt())
    }

    /// The pose with this mount that best fits `pairs` (image pixels, pitch metres), least squares in
    /// pixels over which way the camera points and its focal length: Gauss-Newton from this pose.
    pub fn refit(&self, pairs: &[Pair], principal: Principal) -> Option<Pose> {
        if pairs.len() < 3 {
            return None;
        }
        let moved = |p: &Vector4<f64>| Pose {
            centre: self.centre,
            rotation: Rotation3::new(Vector3::new(p[0], p[1], p[2])).matrix() * self.rotation,
            focal: self.focal * p[3].exp(),
        };
        let residuals = |p: &Vector4<f64>| moved(p).residuals(pairs, principal);
        let mut p = Vector4::zeros();
        let mut r = residuals(&p)?;
        for _ in 0..STEPS {
            let eps = 1e-7;
            let step: Vector4<f64> = damped_step(&r, eps, 1e-6, |i| {
                let mut q = p;
                q[i] += eps;
                residuals(&q)
            })?;
            let next = p + step;
            let Some(rn) = residuals(&next) else { break };
            if dot(&rn, &rn) >= dot(&r, &r) {
                break;
            }
            (p, r) = (next, rn);
            if step.norm() < 1e-10 {
                break;
            }
        }
        Some(moved(&p))
    }
}

/// The pitch-to-image map of `h` in units of half the image's width from its centre, where focal lengths
/// are near 1 and the two squareness conditions weigh alike.
fn to_image(h: &Homography, principal: Principal) -> Option<Matrix3<f64>> {
    let g = h.inverse()?;
    let s = pixel_scale(principal);
    let shift = Matrix3::new(1.0 / s, 0.0, -principal.0 / s, 0.0, 1.0 / s, -principal.1 / s, 0.0, 0.0, 1.0);
    Some(shift * Matrix3::from_fn(|r, c| g.0[r][c]))
}

fn pixel_scale(principal: Principal) -> f64 {
    principal.0.max(1.0)
}

/// The rotation nearest `m` (Frobenius): U V^T from its singular value decomposition.
fn nearest_rotation(m: Matrix3<f64>) -> Option<Matrix3<f64>> {
    let svd = m.svd(true, true);
    let (u, v_t) = (svd.u?, svd.v_t?);
    let r = u * v_t;
    (r.determinant() > 0.0).then_some(r)
}

/// The camera's mount: where it stands, found once from the match's first keyframes. Each keyframe's
/// free fit says where the camera stands only roughly (depth and zoom trade off along its line of sight,
/// and the keypoints found are a pixel or two off), so the mount is the one place from which every
/// learning keyframe's keypoints are best seen by turning and zooming alone.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Mount {
    /// Where the camera stands (pitch metres, z < 0 above the ground), once found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub centre: Option<[f64; 3]>,
    /// The keypoints (image pixels, pitch metres) of the keyframes seen so far, until it is found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub learning: Vec<Vec<Pair>>,
    /// Keyframes in a row since the last one seen from the mount.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub strays: u32,
}

/// After this many keyframes in a row not seen from the mount (10 s), the camera is taken to have moved:
/// the mount is learnt again.
const STRAYS_BEFORE_RELEARNING: u32 = 50;

/// Keyframes the mount is learnt from (8 s of play at 5 keyframes a second).
pub const LEARNING_KEYFRAMES: usize = 40;
/// Keyframes a provisional mount is found from while the mount is learnt (2 s): the camera's turns can be
/// read from the match's first segment, and the fits carried along them, instead of each keyframe standing
/// alone for 8 s.
const PROVISIONAL_KEYFRAMES: usize = 10;
/// Steps of the search for the mount.
const MOUNT_STEPS: usize = 30;
/// A learning keyframe whose keypoints miss by this many times the usual is of another camera.
const OTHER_CAMERA: f64 = 3.0;

impl Mount {
    pub fn is_empty(&self) -> bool {
        *self == Mount::default()
    }

    pub fn centre(&self) -> Option<Vector3<f64>> {
        self.centre.map(Vector3::from)
    }

    /// Counts a keyframe seen from the mount or not; forgets a mount the camera has left.
    pub fn seen(&mut self, from_mount: bool) {
        self.strays = if from_mount { 0 } else { self.strays + 1 };
        if self.strays >= STRAYS_BEFORE_RELEARNING {
            tracing::warn!(keyframes = self.strays, "the camera has left its mount: learning it again");
            *self = Mount::default();
        }
    }

    /// Learns from one more keyframe's keypoints, until the mount is found.
    pub fn learn(&mut self, pairs: &[Pair], principal: Principal) {
        if self.centre.is_some() {
            return;
        }
        let round = |v: f64| (v * 100.0).round() / 100.0;
        self.learning.push(pairs.iter().map(|&(p, m)| ((round(p.0), round(p.1)), m)).collect());
        if self.learning.len() >= LEARNING_KEYFRAMES {
            let found = find_mount(&self.learning, LEARNING_KEYFRAMES / 2, principal);
            self.centre = found.map(|c| millimetres(c).into());
            self.learning.clear();
            if found.is_none() {
                tracing::warn!("the camera's mount could not be found from its keyframes; learning again");
            }
        }
    }

    /// Where the camera stands as far as the keyframes learnt so far and `more` tell, while the mount is
    /// still learnt; `None` before `PROVISIONAL_KEYFRAMES` agree on one.
    pub fn provisional(&self, more: &[Vec<Pair>], principal: Principal) -> Option<Vector3<f64>> {
        let keyframes: Vec<Vec<Pair>> = self.learning.iter().chain(more).cloned().collect();
        (keyframes.len() >= PROVISIONAL_KEYFRAMES)
            .then(|| find_mount(&keyframes, PROVISIONAL_KEYFRAMES, principal))
            .flatten()
            .map(millimetres)
    }
}

/// Millimetres: what the data can tell, and short in the checkpoint.
fn millimetres(c: Vector3<f64>) -> Vector3<f64> {
    c.map(|v| (v * 1000.0).round() / 1000.0)
}

/// The camera centre from which the keyframes' keypoints are best seen, each keyframe turning and
/// zooming freely: Levenberg-Marquardt over the centre, each keyframe refitted at every trial; keyframes
/// of another camera (far worse fits than the rest) set aside once. `None` unless `least` keyframes agree.
fn find_mount(keyframes: &[Vec<Pair>], least: usize, principal: Principal) -> Option<Vector3<f64>> {
    let poses: Vec<Keyframe> = keyframes
        .iter()
        .filter_map(|pairs| Some((Pose::from_homography(&Homography::fit(pairs)?, principal)?, &pairs[..])))
        .collect();
    if poses.len() < least {
        return None;
    }
    let median = |i: usize| {
        let mut v: Vec<f64> = poses.iter().map(|(p, _)| p.centre[i]).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut centre = Vector3::new(median(0), median(1), median(2));
    let mut kept = poses;
    for _ in 0..2 {
        kept = agreeing(centre, kept, principal);
        if kept.len() < least {
            return None;
        }
        centre = descend(centre, &mut kept, principal)?;
    }
    Some(centre)
}

/// The keyframes seen from `centre` about as well as most are, each refitted there; the rest are of
/// another camera (or a bad fit).
fn agreeing(centre: Vector3<f64>, keyframes: Vec<Keyframe>, principal: Principal) -> Vec<Keyframe> {
    let refitted: Vec<(Pose, &[Pair], f64)> = keyframes
        .into_iter()
        .filter_map(|(p, pairs)| {
            let p = Pose { centre, ..p }.refit(pairs, principal)?;
            Some((p, pairs, p.miss(pairs, principal)))
        })
        .collect();
    let mut misses: Vec<f64> = refitted.iter().map(|k| k.2).collect();
    misses.sort_by(f64::total_cmp);
    let Some(&usual) = misses.get(misses.len() / 2) else { return Vec::new() };
    // A pixel of slack: keypoints are found to about that.
    let limit = (OTHER_CAMERA * usual).max(1.0);
    refitted.into_iter().filter(|k| k.2 <= limit).map(|(p, pairs, _)| (p, pairs)).collect()
}

/// A learning keyframe: its pose, and its keypoints (image pixels, pitch metres).
type Keyframe<'a> = (Pose, &'a [Pair]);

/// Levenberg-Marquardt over the camera centre; `keyframes` hold each one's pose at the centre returned.
fn descend(mut centre: Vector3<f64>, keyframes: &mut [Keyframe], principal: Principal) -> Option<Vector3<f64>> {
    let (mut current, mut r) = refitted(centre, keyframes, principal)?;
    let mut damping = 1e-3;
    for _ in 0..MOUNT_STEPS {
        let h = 0.01;
        let step: Vector3<f64> =
            damped_step(&r, h, damping, |i| Some(refitted(centre + Vector3::ith(i, h), &current, principal)?.1))?;
        match refitted(centre + step, &current, principal) {
            Some((next, rn)) if dot(&rn, &rn) < dot(&r, &r) => {
                (centre, current, r) = (centre + step, next, rn);
                damping = (damping / 10.0).max(1e-9);
                if step.norm() < 1e-4 {
                    break;
                }
            }
            _ => damping *= 10.0,
        }
        if damping > 1e6 {
            break;
        }
    }
    keyframes.copy_from_slice(&current);
    Some(centre)
}

/// Each keyframe refitted from its pose with the camera at `centre`, and all their misses in pixels.
fn refitted<'a>(
    centre: Vector3<f64>,
    keyframes: &[Keyframe<'a>],
    principal: Principal,
) -> Option<(Vec<Keyframe<'a>>, Vec<f64>)> {
    let mut poses = Vec::with_capacity(keyframes.len());
    let mut misses = Vec::new();
    for &(pose, pairs) in keyframes {
        let p = Pose { centre, ..pose }.refit(pairs, principal)?;
        misses.extend(p.residuals(pairs, principal)?);
        poses.push((p, pairs));
    }
    Some((poses, misses))
}

#[cfg(test)]
pub(in crate::pitch) mod tests {
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;

    const PRINCIPAL: Principal = (640.0, 360.0);

    /// A broadcast camera 30 m behind the near touchline and 17 m up, looking at `(x, y)` on the pitch.
    pub(in crate::pitch) fn camera(x: f64, y: f64, focal: f64) -> Pose {
        camera_at(Vector3::new(52.5, 98.0, -17.0), x, y, focal)
    }

    fn camera_at(centre: Vector3<f64>, x: f64, y: f64, focal: f64) -> Pose {
        let forward = (Vector3::new(x, y, 0.0) - centre).normalize();
        let right = forward.cross(&Vector3::new(0.0, 0.0, -1.0)).normalize();
        let down = forward.cross(&right);
        Pose {
            centre,
            rotation: Matrix3::from_rows(&[right.transpose(), down.transpose(), forward.transpose()]),
            focal,
        }
    }

    fn seen(pose: &Pose, points: &[(f64, f64)]) -> Vec<Pair> {
        points.iter().map(|&p| (pose.project(p, PRINCIPAL).unwrap(), p)).collect()
    }

    const PENALTY_AREA: [(f64, f64); 6] =
        [(0.0, 13.84), (0.0, 54.16), (16.5, 13.84), (16.5, 54.16), (11.0, 34.0), (5.5, 24.84)];

    #[test]
    fn a_camera_s_homography_gives_back_the_camera() {
        let truth = camera(30.0, 34.0, 1900.0);
        let h = truth.homography(PRINCIPAL).unwrap();
        let pose = Pose::from_homography(&h, PRINCIPAL).unwrap();
        assert!((pose.centre - truth.centre).norm() < 1e-6, "{:?}", pose.centre);
        assert!((pose.rotation - truth.rotation).norm() < 1e-9);
        assert!((pose.focal - truth.focal).abs() < 1e-6);
        let (u, v) = truth.project((20.0, 50.0), PRINCIPAL).unwrap();
        let back = h.apply((u, v)).unwrap();
        assert!((back.0 - 20.0).abs() < 1e-6 && (back.1 - 50.0).abs() < 1e-6, "{back:?}");
    }

    #[test]
    fn a_refit_on_the_mount_finds_where_the_camera_turned_and_zoomed() {
        let before = camera(30.0, 34.0, 1900.0);
        let after = camera(24.0, 31.0, 2100.0);
        let refit = before.refit(&seen(&after, &PENALTY_AREA), PRINCIPAL).unwrap();
        assert!((refit.rotation - after.rotation).norm() < 1e-6);
        assert!((refit.focal - after.focal).abs() < 1e-3, "{}", refit.focal);
    }

    #[test]
    fn on_its_mount_a_camera_fitted_from_noisy_keypoints_strays_less_than_a_free_homography() {
        let truth = camera(20.0, 34.0, 2000.0);
        let far = (45.0, 10.0);
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (mut free, mut mounted) = (0.0, 0.0);
        for _ in 0..40 {
            let noisy: Vec<Pair> = seen(&truth, &PENALTY_AREA)
                .into_iter()
                .map(|(p, at)| ((p.0 + rng.random_range(-3.0..3.0), p.1 + rng.random_range(-3.0..3.0)), at))
                .collect();
            let h = Homography::fit(&noisy).unwrap();
            let pixel = truth.project(far, PRINCIPAL).unwrap();
            let off = |h: &Homography| h.apply(pixel).map_or(f64::INFINITY, |p| (p.0 - far.0).hypot(p.1 - far.1));
            free += off(&h);
            mounted +=
                off(&camera(25.0, 30.0, 1800.0).refit(&noisy, PRINCIPAL).unwrap().homography(PRINCIPAL).unwrap());
        }
        assert!(mounted < free / 2.0, "mounted {mounted:.1} m, free {free:.1} m over 40 fits");
    }

    #[test]
    fn the_mount_is_where_keyframes_seen_from_it_agree_even_with_noisy_keypoints_and_a_cut() {
        let truth = camera(52.5, 34.0, 1900.0).centre;
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut mount = Mount::default();
        for i in 0..LEARNING_KEYFRAMES {
            assert_eq!(mount.centre(), None);
            let x = 12.0 + i as f64 * 0.4;
            let (y, focal) = (30.0 + (i % 7) as f64, 1700.0 + i as f64 * 10.0);
            let pose = match i {
                // A cut to a camera behind the goal.
                9 => camera_at(Vector3::new(-25.0, 34.0, -10.0), x, y, focal),
                _ => camera(x, y, focal),
            };
            let noisy: Vec<Pair> = seen(&pose, &PENALTY_AREA)
                .into_iter()
                .map(|(p, at)| ((p.0 + rng.random_range(-1.5..1.5), p.1 + rng.random_range(-1.5..1.5)), at))
                .collect();
            mount.learn(&noisy, PRINCIPAL);
        }
        let centre = mount.centre().unwrap();
        assert!((centre - truth).norm() < 0.5, "{centre:?} for {truth:?}");
        assert!(mount.learning.is_empty());
    }

    #[test]
    fn while_the_mount_is_learnt_a_provisional_one_is_found_from_ten_keyframes_and_none_from_fewer() {
        let truth = camera(52.5, 34.0, 1900.0).centre;
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let keyframes: Vec<Vec<Pair>> = (0..PROVISIONAL_KEYFRAMES)
            .map(|i| {
                let pose = camera(14.0 + i as f64 * 0.6, 30.0 + (i % 5) as f64, 1800.0 + i as f64 * 15.0);
                seen(&pose, &PENALTY_AREA)
                    .into_iter()
                    .map(|(p, at)| ((p.0 + rng.random_range(-1.5..1.5), p.1 + rng.random_range(-1.5..1.5)), at))
                    .collect()
            })
            .collect();
        let mut mount = Mount::default();
        for pairs in &keyframes[..4] {
            mount.learn(pairs, PRINCIPAL);
        }
        assert_eq!(mount.provisional(&keyframes[4..PROVISIONAL_KEYFRAMES - 1], PRINCIPAL), None);
        let centre = mount.provisional(&keyframes[4..], PRINCIPAL).unwrap();
        assert!((centre - truth).norm() < 1.0, "{centre:?} for {truth:?}");
        assert_eq!(mount.centre(), None, "a provisional mount is not learnt");
    }

    #[test]
    fn a_mount_the_keyframes_keep_missing_is_learnt_again_and_one_seen_again_is_kept() {
        let found = Mount { centre: Some([52.5, 98.0, -17.0]), ..Mount::default() };
        let mut mount = found.clone();
        for _ in 0..STRAYS_BEFORE_RELEARNING - 1 {
            mount.seen(false);
        }
        mount.seen(true);
        assert_eq!(mount, found);
        for _ in 0..STRAYS_BEFORE_RELEARNING {
            mount.seen(false);
        }
        assert_eq!(mount, Mount::default());
    }
}
