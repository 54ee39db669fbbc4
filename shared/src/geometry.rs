//! Boxes in image pixels.

use serde::{Deserialize, Serialize};

/// A box side within this many pixels of the picture's is cut by it.
const EDGE_PX: f64 = 2.0;

/// An axis-aligned box in pixels, `x1 <= x2`, `y1 <= y2`. Serialised as `[x1, y1, x2, y2]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "[f64; 4]", into = "[f64; 4]")]
pub struct BBox {
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
}

impl From<[f64; 4]> for BBox {
    fn from([x1, y1, x2, y2]: [f64; 4]) -> Self {
        BBox { x1, y1, x2, y2 }
    }
}

impl From<BBox> for [f64; 4] {
    fn from(b: BBox) -> Self {
        [b.x1, b.y1, b.x2, b.y2]
    }
}

impl BBox {
    pub fn from_center(cx: f64, cy: f64, w: f64, h: f64) -> Self {
        BBox { x1: cx - w / 2.0, y1: cy - h / 2.0, x2: cx + w / 2.0, y2: cy + h / 2.0 }
    }

    pub fn width(&self) -> f64 {
        (self.x2 - self.x1).max(0.0)
    }

    pub fn height(&self) -> f64 {
        (self.y2 - self.y1).max(0.0)
    }

    pub fn area(&self) -> f64 {
        self.width() * self.height()
    }

    pub fn center(&self) -> (f64, f64) {
        ((self.x1 + self.x2) / 2.0, (self.y1 + self.y2) / 2.0)
    }

    /// Bottom centre: where a player touches the ground.
    pub fn feet(&self) -> (f64, f64) {
        ((self.x1 + self.x2) / 2.0, self.y2)
    }

    /// Whether the left or right side of a picture `width` pixels wide cuts the box: only part of the person
    /// is in it, and its bottom need not be his feet (a sliver of arm at the far side is 3-5 m off).
    pub fn cut_by(&self, width: u32) -> bool {
        self.x1 <= EDGE_PX || self.x2 >= width as f64 - EDGE_PX
    }

    pub fn iou(&self, other: &BBox) -> f64 {
        let iw = (self.x2.min(other.x2) - self.x1.max(other.x1)).max(0.0);
        let ih = (self.y2.min(other.y2) - self.y1.max(other.y1)).max(0.0);
        let inter = iw * ih;
        let union = self.area() + other.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }

    /// The box clipped to an image of `width` x `height`.
    pub fn clip(&self, width: u32, height: u32) -> BBox {
        let (w, h) = (width as f64, height as f64);
        BBox {
            x1: self.x1.clamp(0.0, w),
            y1: self.y1.clamp(0.0, h),
            x2: self.x2.clamp(0.0, w),
            y2: self.y2.clamp(0.0, h),
        }
    }
}

pub fn distance(a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.0 - b.0).hypot(a.1 - b.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_identical_boxes_is_one_and_of_disjoint_is_zero() {
        let a = BBox::from([0.0, 0.0, 10.0, 10.0]);
        assert_eq!(a.iou(&a), 1.0);
        assert_eq!(a.iou(&BBox::from([20.0, 20.0, 30.0, 30.0])), 0.0);
        let half = BBox::from([5.0, 0.0, 15.0, 10.0]);
        assert!((a.iou(&half) - 50.0 / 150.0).abs() < 1e-12);
    }

    #[test]
    fn a_box_at_the_pictures_left_or_right_side_is_cut_and_one_at_its_top_or_bottom_is_not() {
        assert!(BBox::from([0.0, 100.0, 5.0, 130.0]).cut_by(1280));
        assert!(BBox::from([1260.0, 100.0, 1280.0, 150.0]).cut_by(1280));
        assert!(!BBox::from([100.0, 0.0, 120.0, 50.0]).cut_by(1280));
        assert!(!BBox::from([100.0, 670.0, 120.0, 720.0]).cut_by(1280));
    }

    #[test]
    fn box_serialises_as_an_array() {
        let a = BBox::from([1.5, 2.0, 3.25, 4.0]);
        assert_eq!(serde_json::to_string(&a).unwrap(), "[1.5,2.0,3.25,4.0]");
    }
}
