//! Constant-velocity Kalman filter over (centre x, centre y, aspect w/h, height), as in SORT/ByteTrack.

use nalgebra::{SMatrix, SVector};
use serde::{Deserialize, Serialize};

use crate::geometry::BBox;

type Vec8 = SVector<f64, 8>;
type Mat8 = SMatrix<f64, 8, 8>;
type Mat4 = SMatrix<f64, 4, 4>;
type Mat48 = SMatrix<f64, 4, 8>;

// Noise as a share of the box height: position and velocity (the ByteTrack defaults).
const STD_POSITION: f64 = 1.0 / 20.0;
const STD_VELOCITY: f64 = 1.0 / 160.0;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Kalman {
    pub mean: Vec8,
    pub covariance: Mat8,
}

fn measurement(b: &BBox) -> SVector<f64, 4> {
    let (cx, cy) = b.center();
    let h = b.height().max(1e-3);
    SVector::<f64, 4>::new(cx, cy, b.width() / h, h)
}

impl Kalman {
    pub fn new(b: &BBox) -> Kalman {
        let z = measurement(b);
        let h = z[3];
        let mut mean = Vec8::zeros();
        mean.fixed_rows_mut::<4>(0).copy_from(&z);
        let std = [
            2.0 * STD_POSITION * h,
            2.0 * STD_POSITION * h,
            1e-2,
            2.0 * STD_POSITION * h,
            10.0 * STD_VELOCITY * h,
            10.0 * STD_VELOCITY * h,
            1e-5,
            10.0 * STD_VELOCITY * h,
        ];
        Kalman { mean, covariance: Mat8::from_diagonal(&Vec8::from_iterator(std.iter().map(|s| s * s))) }
    }

    /// One frame ahead.
    pub fn predict(&mut self) {
        let h = self.mean[3];
        let mut f = Mat8::identity();
        for i in 0..4 {
            f[(i, i + 4)] = 1.0;
        }
        let std = [
            STD_POSITION * h,
            STD_POSITION * h,
            1e-2,
            STD_POSITION * h,
            STD_VELOCITY * h,
            STD_VELOCITY * h,
            1e-5,
            STD_VELOCITY * h,
        ];
        let q = Mat8::from_diagonal(&Vec8::from_iterator(std.iter().map(|s| s * s)));
        self.mean = f * self.mean;
        self.covariance = f * self.covariance * f.transpose() + q;
    }

    pub fn update(&mut self, b: &BBox) {
        let z = measurement(b);
        let h = self.mean[3];
        let hm = Mat48::identity();
        let r_std = [STD_POSITION * h, STD_POSITION * h, 1e-1, STD_POSITION * h];
        let r = Mat4::from_diagonal(&SVector::<f64, 4>::from_iterator(r_std.iter().map(|s| s * s)));
        let s = hm * self.covariance * hm.transpose() + r;
        let Some(s_inv) = s.try_inverse() else { return };
        let k = self.covariance * hm.transpose() * s_inv;
        self.mean += k * (z - hm * self.mean);
        self.covariance = (Mat8::identity() - k * hm) * self.covariance;
    }

    /// Stops a lost track's size from drifting while it is not seen.
    pub fn freeze_size(&mut self) {
        self.mean[7] = 0.0;
    }

    pub fn bbox(&self) -> BBox {
        let (cx, cy, a, h) = (self.mean[0], self.mean[1], self.mean[2], self.mean[3]);
        BBox::from_center(cx, cy, a * h, h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_box_moving_steadily_is_predicted_ahead() {
        let mut k = Kalman::new(&BBox::from([0.0, 0.0, 10.0, 30.0]));
        for i in 1..20 {
            k.predict();
            let x = 4.0 * i as f64;
            k.update(&BBox::from([x, 0.0, x + 10.0, 30.0]));
        }
        k.predict();
        let (cx, _) = k.bbox().center();
        assert!((cx - (4.0 * 20.0 + 5.0)).abs() < 1.5, "predicted centre {cx}");
    }

    #[test]
    fn kalman_state_round_trips_through_json_exactly() {
        let mut k = Kalman::new(&BBox::from([1.1, 2.2, 13.3, 40.7]));
        k.predict();
        k.update(&BBox::from([2.1, 2.9, 14.2, 41.3]));
        let json = serde_json::to_string(&k).unwrap();
        let back: Kalman = serde_json::from_str(&json).unwrap();
        assert_eq!(back, k);
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
    }
}
