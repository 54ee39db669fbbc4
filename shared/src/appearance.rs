//! What a person looks like: the colour of the shirt with grass left out, for re-identification and teams.

use serde::{Deserialize, Serialize};

use crate::geometry::BBox;
use crate::source::Frame;

const HUE_BINS: usize = 12;
const GREY_BINS: usize = 4;
pub const HIST_BINS: usize = HUE_BINS * 2 + GREY_BINS;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Appearance {
    /// Mean RGB of the shirt's non-grass pixels.
    pub colour: [f64; 3],
    /// Hue/saturation histogram (greys binned by value), sums to 1.
    pub hist: Vec<f64>,
    /// How many pixels the features come from; few pixels mean little trust.
    pub pixels: u32,
}

/// Grass: green clearly dominant. Pitch lines and shirts are not.
pub fn is_grass([r, g, b]: [u8; 3]) -> bool {
    let (r, g, b) = (r as i32, g as i32, b as i32);
    g > r + 12 && g > b + 12 && g < 235
}

fn hsv([r, g, b]: [u8; 3]) -> (f64, f64, f64) {
    let (r, g, b) = (r as f64 / 255.0, g as f64 / 255.0, b as f64 / 255.0);
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let d = max - min;
    let h = if d == 0.0 {
        0.0
    } else if max == r {
        60.0 * (((g - b) / d).rem_euclid(6.0))
    } else if max == g {
        60.0 * ((b - r) / d + 2.0)
    } else {
        60.0 * ((r - g) / d + 4.0)
    };
    let s = if max == 0.0 { 0.0 } else { d / max };
    (h, s, max)
}

fn bin(px: [u8; 3]) -> usize {
    let (h, s, v) = hsv(px);
    if s < 0.25 || v < 0.2 {
        HUE_BINS * 2 + ((v * GREY_BINS as f64) as usize).min(GREY_BINS - 1)
    } else {
        let hb = ((h / 360.0 * HUE_BINS as f64) as usize).min(HUE_BINS - 1);
        hb * 2 + usize::from(s >= 0.6)
    }
}

/// Shirt features of the person in `bbox`: the upper body, centre half of the width, grass excluded.
pub fn of_person(frame: &Frame, bbox: &BBox) -> Appearance {
    let b = bbox.clip(frame.width, frame.height);
    let (w, h) = (b.width(), b.height());
    let x0 = (b.x1 + 0.25 * w) as u32;
    let x1 = ((b.x1 + 0.75 * w).ceil() as u32).min(frame.width);
    let y0 = (b.y1 + 0.15 * h) as u32;
    let y1 = ((b.y1 + 0.5 * h).ceil() as u32).min(frame.height);
    // Sample at most ~24 x 24 pixels: enough for a colour, cheap on big boxes.
    let step_x = ((x1.saturating_sub(x0)) / 24).max(1);
    let step_y = ((y1.saturating_sub(y0)) / 24).max(1);
    let mut sum = [0.0; 3];
    let mut hist = vec![0.0; HIST_BINS];
    let mut pixels = 0u32;
    for y in (y0..y1).step_by(step_y as usize) {
        for x in (x0..x1).step_by(step_x as usize) {
            let px = frame.pixel(x, y);
            if is_grass(px) {
                continue;
            }
            for c in 0..3 {
                sum[c] += px[c] as f64;
            }
            hist[bin(px)] += 1.0;
            pixels += 1;
        }
    }
    if pixels > 0 {
        let n = pixels as f64;
        sum.iter_mut().for_each(|s| *s /= n);
        hist.iter_mut().for_each(|v| *v /= n);
    }
    Appearance { colour: sum, hist, pixels }
}

/// Bhattacharyya distance between two histograms: 0 same, 1 disjoint.
pub fn hist_distance(a: &[f64], b: &[f64]) -> f64 {
    let bc: f64 = a.iter().zip(b).map(|(p, q)| (p * q).sqrt()).sum();
    (1.0 - bc.min(1.0)).max(0.0).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_with_shirt(shirt: [u8; 3]) -> Frame {
        let (width, height) = (40u32, 80u32);
        let mut rgb = Vec::new();
        for y in 0..height {
            for x in 0..width {
                let px = if (10..30).contains(&x) && (10..40).contains(&y) { shirt } else { [40, 140, 50] };
                rgb.extend_from_slice(&px);
            }
        }
        Frame { index: 0, width, height, rgb }
    }

    #[test]
    fn shirt_colour_ignores_the_grass_around_the_player() {
        let f = frame_with_shirt([200, 20, 30]);
        let a = of_person(&f, &BBox::from([0.0, 0.0, 40.0, 80.0]));
        assert!(a.pixels > 0);
        assert_eq!(a.colour, [200.0, 20.0, 30.0]);
    }

    #[test]
    fn histograms_tell_different_shirts_apart() {
        let whole = BBox::from([0.0, 0.0, 40.0, 80.0]);
        let red = of_person(&frame_with_shirt([200, 20, 30]), &whole);
        let red2 = of_person(&frame_with_shirt([190, 25, 35]), &whole);
        let blue = of_person(&frame_with_shirt([20, 40, 200]), &whole);
        assert!(hist_distance(&red.hist, &red2.hist) < 0.1);
        assert!(hist_distance(&red.hist, &blue.hist) > 0.9);
    }
}
