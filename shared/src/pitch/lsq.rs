//! Least squares by damped Gauss-Newton steps, for the camera fits (`ptz`, `lines`).

use nalgebra::{SMatrix, SVector};

/// One damped Gauss-Newton (Levenberg-Marquardt) step for the misses `r` over N parameters: `nudged(i)`
/// gives the misses with parameter i moved by `h` (a forward-difference Jacobian); `damping` scales the
/// normal matrix's own diagonal added to it.
pub fn damped_step<const N: usize>(
    r: &[f64],
    h: f64,
    damping: f64,
    nudged: impl Fn(usize) -> Option<Vec<f64>>,
) -> Option<SVector<f64, N>> {
    let columns: Vec<Vec<f64>> =
        (0..N).map(|i| Some(nudged(i)?.iter().zip(r).map(|(a, b)| (a - b) / h).collect())).collect::<Option<_>>()?;
    let jtj = SMatrix::<f64, N, N>::from_fn(|i, j| dot(&columns[i], &columns[j]));
    let jtr = SVector::<f64, N>::from_fn(|i, _| dot(&columns[i], r));
    Some((jtj + SMatrix::from_diagonal(&jtj.diagonal()) * damping).try_inverse()? * -jtr)
}

pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
