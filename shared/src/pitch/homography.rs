//! A plane-to-plane homography: fitted by the normalised direct linear transform, robustly by RANSAC.

use nalgebra::{DMatrix, Matrix3, SymmetricEigen, Vector3};
use rand::SeedableRng;
use rand::seq::index::sample;
use serde::{Deserialize, Serialize};

/// A point of one plane, and a point with where it should map to.
pub type Point = (f64, f64);
pub type Pair = (Point, Point);

/// Maps image pixels `(x, y, 1)` to pitch metres, row-major.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Homography(pub [[f64; 3]; 3]);

impl Homography {
    pub(super) fn matrix(&self) -> Matrix3<f64> {
        Matrix3::from_fn(|r, c| self.0[r][c])
    }

    pub(super) fn from_matrix(m: &Matrix3<f64>) -> Homography {
        // Scaled so the bottom-right entry is 1 where it can be: the same map, written one way.
        let s = if m[(2, 2)].abs() > 1e-12 { m[(2, 2)] } else { m.norm() };
        Homography(std::array::from_fn(|r| std::array::from_fn(|c| m[(r, c)] / s)))
    }

    /// The point `(x, y)` maps to; `None` on the horizon line (or beyond it).
    pub fn apply(&self, (x, y): (f64, f64)) -> Option<(f64, f64)> {
        let h = &self.0;
        let w = h[2][0] * x + h[2][1] * y + h[2][2];
        (w.abs() > 1e-12)
            .then(|| ((h[0][0] * x + h[0][1] * y + h[0][2]) / w, (h[1][0] * x + h[1][1] * y + h[1][2]) / w))
    }

    /// The homography undoing a pitch-to-image map.
    pub(super) fn from_pitch_to_image(g: &Matrix3<f64>) -> Option<Homography> {
        g.try_inverse().map(|m| Homography::from_matrix(&m))
    }

    pub fn inverse(&self) -> Option<Homography> {
        self.matrix().try_inverse().map(|m| Homography::from_matrix(&m))
    }

    /// The least-squares homography taking each `from` point to its `to` point (at least 4 pairs, no 3 of
    /// 4 on a line). Both sides are normalised first (Hartley) so pixels and metres weigh alike.
    pub fn fit(pairs: &[Pair]) -> Option<Homography> {
        if pairs.len() < 4 {
            return None;
        }
        let (tf, tt) = (normaliser(pairs.iter().map(|p| p.0)), normaliser(pairs.iter().map(|p| p.1)));
        let mut a = DMatrix::<f64>::zeros(2 * pairs.len(), 9);
        for (i, &(f, t)) in pairs.iter().enumerate() {
            let (x, y) = apply(&tf, f);
            let (u, v) = apply(&tt, t);
            let rows = [[-x, -y, -1.0, 0.0, 0.0, 0.0, u * x, u * y, u], [0.0, 0.0, 0.0, -x, -y, -1.0, v * x, v * y, v]];
            for (k, row) in rows.iter().enumerate() {
                for (c, &value) in row.iter().enumerate() {
                    a[(2 * i + k, c)] = value;
                }
            }
        }
        let eig = SymmetricEigen::new(a.transpose() * &a);
        let (smallest, _) = eig.eigenvalues.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1))?;
        let h = eig.eigenvectors.column(smallest);
        let hn = Matrix3::new(h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8]);
        let m = tt.try_inverse()? * hn * tf;
        let fitted = Homography::from_matrix(&m);
        (m.determinant().abs() > 1e-12 && fitted.0.iter().flatten().all(|v| v.is_finite())).then_some(fitted)
    }

    /// The homography most pairs agree with to within `tolerance` (in `to` units), refitted on them, and
    /// which pairs those are. Minimal samples come from a fixed seed: the same pairs give the same fit.
    pub fn ransac(pairs: &[Pair], tolerance: f64, rounds: usize) -> Option<(Homography, Vec<bool>)> {
        if pairs.len() < 4 {
            return None;
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(pairs.len() as u64);
        let mut best: Option<(usize, f64, Homography)> = None;
        for _ in 0..rounds {
            let pick: Vec<_> = sample(&mut rng, pairs.len(), 4).into_iter().map(|i| pairs[i]).collect();
            if degenerate(&pick) {
                continue;
            }
            let Some(h) = Homography::fit(&pick) else { continue };
            let (count, error) = score(&h, pairs, tolerance);
            if best.as_ref().is_none_or(|b| (count, -error) > (b.0, -b.1)) {
                best = Some((count, error, h));
            }
        }
        let (_, _, h) = best?;
        let inliers: Vec<bool> = pairs.iter().map(|&(f, t)| residual(&h, f, t) <= tolerance).collect();
        let kept: Vec<_> = pairs.iter().zip(&inliers).filter(|(_, i)| **i).map(|(p, _)| *p).collect();
        let refit = Homography::fit(&kept).unwrap_or(h);
        let inliers = pairs.iter().map(|&(f, t)| residual(&refit, f, t) <= tolerance).collect();
        Some((refit, inliers))
    }
}

/// How far `from` lands from `to`; infinite on the horizon.
pub fn residual(h: &Homography, from: (f64, f64), to: (f64, f64)) -> f64 {
    h.apply(from).map_or(f64::INFINITY, |(x, y)| (x - to.0).hypot(y - to.1))
}

/// Inliers, and their summed error.
fn score(h: &Homography, pairs: &[Pair], tolerance: f64) -> (usize, f64) {
    pairs.iter().map(|&(f, t)| residual(h, f, t)).filter(|&r| r <= tolerance).fold((0, 0.0), |(n, s), r| (n + 1, s + r))
}

/// Three of the four points on one line (either side) fix no homography.
pub(super) fn degenerate(pick: &[Pair]) -> bool {
    let collinear = |a: (f64, f64), b: (f64, f64), c: (f64, f64), scale: f64| {
        ((b.0 - a.0) * (c.1 - a.1) - (b.1 - a.1) * (c.0 - a.0)).abs() < 1e-3 * scale * scale
    };
    let spread = |pts: &[(f64, f64)]| {
        pts.iter().flat_map(|a| pts.iter().map(move |b| (a.0 - b.0).hypot(a.1 - b.1))).fold(0.0, f64::max)
    };
    for side in 0..2 {
        let pts: Vec<(f64, f64)> = pick.iter().map(|p| if side == 0 { p.0 } else { p.1 }).collect();
        let s = spread(&pts).max(1e-9);
        for skip in 0..4 {
            let t: Vec<_> = (0..4).filter(|&i| i != skip).map(|i| pts[i]).collect();
            if collinear(t[0], t[1], t[2], s) {
                return true;
            }
        }
    }
    false
}

/// The similarity that moves points to their centroid and scales their mean distance to sqrt(2).
fn normaliser(points: impl Iterator<Item = (f64, f64)> + Clone) -> Matrix3<f64> {
    let n = points.clone().count().max(1) as f64;
    let (cx, cy) = points.clone().fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    let mean = points.map(|(x, y)| (x - cx).hypot(y - cy)).sum::<f64>() / n;
    let s = if mean > 1e-12 { std::f64::consts::SQRT_2 / mean } else { 1.0 };
    Matrix3::new(s, 0.0, -s * cx, 0.0, s, -s * cy, 0.0, 0.0, 1.0)
}

fn apply(m: &Matrix3<f64>, (x, y): (f64, f64)) -> (f64, f64) {
    let p = m * Vector3::new(x, y, 1.0);
    (p[0] / p[2], p[1] / p[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth() -> Homography {
        Homography([[0.08, 0.03, -20.0], [0.002, 0.2, -40.0], [0.00001, 0.0021, 1.0]])
    }

    fn pairs(h: &Homography) -> Vec<Pair> {
        let image = [(100.0, 300.0), (1800.0, 320.0), (400.0, 900.0), (1500.0, 1000.0), (960.0, 500.0), (200.0, 700.0)];
        image.iter().map(|&p| (p, h.apply(p).unwrap())).collect()
    }

    #[test]
    fn four_exact_pairs_give_back_the_homography() {
        let h = truth();
        let fitted = Homography::fit(&pairs(&h)[..4]).unwrap();
        for &(f, t) in &pairs(&h) {
            assert!(residual(&fitted, f, t) < 1e-6, "{f:?}");
        }
        let back = fitted.inverse().unwrap();
        let (x, y) = back.apply(fitted.apply((640.0, 360.0)).unwrap()).unwrap();
        assert!((x - 640.0).abs() < 1e-6 && (y - 360.0).abs() < 1e-6);
    }

    #[test]
    fn points_on_one_line_fit_nothing() {
        let line: Vec<_> = (0..5).map(|i| ((i as f64 * 100.0, i as f64 * 50.0), (i as f64, 2.0 * i as f64))).collect();
        assert!(Homography::ransac(&line, 1.0, 50).is_none());
        assert!(Homography::fit(&line[..3]).is_none());
    }

    #[test]
    fn ransac_sets_a_wrong_pair_aside() {
        let h = truth();
        let mut p = pairs(&h);
        p[2].1 = (p[2].1.0 + 15.0, p[2].1.1 - 9.0);
        let (fitted, inliers) = Homography::ransac(&p, 0.5, 200).unwrap();
        assert_eq!(inliers, [true, true, false, true, true, true]);
        assert!(residual(&fitted, p[0].0, p[0].1) < 1e-6);
        assert_eq!(Homography::ransac(&p, 0.5, 200).unwrap().0, fitted, "the same pairs give the same fit");
    }
}
