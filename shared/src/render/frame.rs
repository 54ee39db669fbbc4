//! Frames with what was found: box outlines, ids and markers.

use image::{Rgb, RgbImage};

use crate::detect::Class;
use crate::geometry::BBox;
use crate::pipeline::FrameOutput;
use crate::source::Frame;

pub const BALL: Rgb<u8> = Rgb([255, 255, 0]);
const UNKNOWN_TEAM: Rgb<u8> = Rgb([160, 160, 160]);

/// A frame as an image to draw on.
pub fn canvas(frame: &Frame) -> RgbImage {
    RgbImage::from_raw(frame.width, frame.height, frame.rgb.clone()).expect("a frame's buffer holds width x height RGB")
}

/// A `thickness`-pixel outline of `b`, clipped to the image.
pub fn outline(img: &mut RgbImage, b: &BBox, colour: Rgb<u8>, thickness: i64) {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let clamp = |v: f64, max: i64| (v.round() as i64).clamp(0, max - 1);
    let (x1, x2, y1, y2) = (clamp(b.x1, w), clamp(b.x2, w), clamp(b.y1, h), clamp(b.y2, h));
    for t in 0..thickness {
        for x in x1..=x2 {
            for y in [y1 + t, y2 - t] {
                img.put_pixel(x as u32, y.clamp(0, h - 1) as u32, colour);
            }
        }
        for y in y1..=y2 {
            for x in [x1 + t, x2 - t] {
                img.put_pixel(x.clamp(0, w - 1) as u32, y as u32, colour);
            }
        }
    }
}

/// 3x5 digits, one row per 3 bits.
const DIGITS: [[u8; 5]; 10] = [
    [7, 5, 5, 5, 7],
    [2, 6, 2, 2, 7],
    [7, 1, 7, 4, 7],
    [7, 1, 7, 1, 7],
    [5, 5, 7, 1, 1],
    [7, 4, 7, 1, 7],
    [7, 4, 7, 5, 7],
    [7, 1, 1, 1, 1],
    [7, 5, 7, 5, 7],
    [7, 5, 7, 1, 7],
];

/// Writes `n` with its lower-left corner at (x, y), `scale` pixels per font dot, on a dark backing.
pub fn number(img: &mut RgbImage, n: u64, x: i64, y: i64, scale: i64, colour: Rgb<u8>) {
    let text = n.to_string();
    let (w, h) = (img.width() as i64, img.height() as i64);
    let width = text.len() as i64 * 4 * scale + scale;
    let top = y - 6 * scale;
    let mut put = |px: i64, py: i64, c: Rgb<u8>| {
        if (0..w).contains(&px) && (0..h).contains(&py) {
            img.put_pixel(px as u32, py as u32, c);
        }
    };
    for py in top..y + scale {
        for px in x..x + width {
            put(px, py, Rgb([0, 0, 0]));
        }
    }
    for (i, ch) in text.bytes().enumerate() {
        let glyph = DIGITS[(ch - b'0') as usize];
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..3 {
                if bits & (4 >> col) != 0 {
                    let (gx, gy) = (x + scale + (i as i64 * 4 + col) * scale, top + scale + row as i64 * scale);
                    for dy in 0..scale {
                        for dx in 0..scale {
                            put(gx + dx, gy + dy, colour);
                        }
                    }
                }
            }
        }
    }
}

/// A filled disc, for the ball and the possession marker.
pub fn disc(img: &mut RgbImage, cx: f64, cy: f64, r: f64, colour: Rgb<u8>) {
    let (w, h) = (img.width() as i64, img.height() as i64);
    for y in (cy - r).floor() as i64..=(cy + r).ceil() as i64 {
        for x in (cx - r).floor() as i64..=(cx + r).ceil() as i64 {
            let inside = (x as f64 - cx).powi(2) + (y as f64 - cy).powi(2) <= r * r;
            if inside && (0..w).contains(&x) && (0..h).contains(&y) {
                img.put_pixel(x as u32, y as u32, colour);
            }
        }
    }
}

/// An analysed frame: people in their team's kit colour (grey until teams are known; referees black,
/// goalkeepers outlined twice) with their track ids, the ball, and a marker over the player in possession.
pub fn analysed(frame: &Frame, out: &FrameOutput, kits: Option<[[f64; 3]; 2]>) -> RgbImage {
    let mut img = canvas(frame);
    let scale = (frame.height as i64 / 360).max(1);
    for o in &out.objects {
        let colour = match (o.role, o.team, kits) {
            (Class::Referee, _, _) => Rgb([0, 0, 0]),
            (_, Some(t), Some(k)) => {
                let [r, g, b] = k[t as usize & 1];
                Rgb([r as u8, g as u8, b as u8])
            }
            _ => UNKNOWN_TEAM,
        };
        let thickness = if o.role == Class::Goalkeeper { 2 * scale } else { scale };
        outline(&mut img, &o.bbox, colour, thickness);
        number(&mut img, o.track_id, o.bbox.x1 as i64, o.bbox.y1 as i64 - 1, scale, Rgb([255, 255, 255]));
        if out.owner == Some(o.track_id) {
            let (cx, _) = o.bbox.center();
            disc(&mut img, cx, o.bbox.y1 - 9.0 * scale as f64, 3.0 * scale as f64, Rgb([255, 0, 0]));
        }
    }
    if let Some(ball) = out.ball {
        disc(&mut img, ball.x, ball.y, 2.5 * scale as f64, BALL);
    }
    img
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outlines_and_numbers_are_clipped_to_the_image() {
        let mut img = RgbImage::new(20, 10);
        outline(&mut img, &BBox::from([-5.0, 2.0, 30.0, 8.0]), Rgb([255, 0, 0]), 1);
        assert_eq!(img.get_pixel(0, 2), &Rgb([255, 0, 0]));
        assert_eq!(img.get_pixel(10, 5), &Rgb([0, 0, 0]));
        number(&mut img, 1234567890, 15, 9, 1, Rgb([255, 255, 255]));
        disc(&mut img, 19.0, 0.0, 4.0, BALL);
        assert_eq!(img.get_pixel(19, 0), &BALL);
    }

    #[test]
    fn digits_are_drawn_dot_by_dot() {
        let mut img = RgbImage::new(10, 10);
        number(&mut img, 1, 0, 7, 1, Rgb([255, 255, 255]));
        // "1" is 010/110/010/010/111 starting one dot in from the left, one dot below the top.
        let lit = |x: u32, y: u32| img.get_pixel(x, y)[0] == 255;
        assert!(lit(2, 2) && !lit(1, 2) && lit(1, 3) && lit(1, 6) && lit(3, 6));
    }
}
