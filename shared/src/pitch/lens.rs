//! A wide lens's barrel distortion, the one-parameter division model: a pixel at radius r from the image
//! centre (r in half-diagonals) is where an ideal pinhole camera would see it at radius r / (1 + k r^2).
//! Club and Veo-like cameras bend the near touchline; a homography alone cannot straighten it.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lens {
    /// Negative for barrel distortion.
    pub k: f64,
    /// The image's size in pixels: its centre is the distortion's.
    pub width: u32,
    pub height: u32,
}

impl Lens {
    /// Where a pixel of the distorted image would be without the lens.
    pub fn undistort(&self, (x, y): (f64, f64)) -> (f64, f64) {
        let (cx, cy) = (self.width as f64 / 2.0, self.height as f64 / 2.0);
        let d = cx.hypot(cy);
        let (u, v) = ((x - cx) / d, (y - cy) / d);
        let s = 1.0 + self.k * (u * u + v * v);
        (cx + (x - cx) / s, cy + (y - cy) / s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_centre_stays_and_barrel_distortion_is_pushed_outward() {
        let lens = Lens { k: -0.25, width: 1000, height: 500 };
        assert_eq!(lens.undistort((500.0, 250.0)), (500.0, 250.0));
        let (x, y) = lens.undistort((900.0, 450.0));
        assert!(x > 900.0 && y > 450.0, "({x}, {y})");
        let none = Lens { k: 0.0, ..lens };
        assert_eq!(none.undistort((900.0, 450.0)), (900.0, 450.0));
    }
}
