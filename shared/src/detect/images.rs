//! Still images for the detector: read one as a `Frame`, draw detections on one.

use std::path::Path;

use anyhow::Context;
use image::{Rgb, RgbImage};

use super::{Class, Detection};
use crate::geometry::BBox;
use crate::render;
use crate::source::Frame;

/// Reads a JPEG or PNG as an RGB frame; the error names the file.
pub fn load(path: &Path) -> anyhow::Result<Frame> {
    let img = image::ImageReader::open(path)
        .with_context(|| format!("cannot open image {}", path.display()))?
        .with_guessed_format()
        .with_context(|| format!("cannot read image {}", path.display()))?
        .decode()
        .with_context(|| format!("{} is not a readable image", path.display()))?
        .into_rgb8();
    Ok(Frame { index: 0, width: img.width(), height: img.height(), rgb: img.into_raw() })
}

pub fn colour(class: Class) -> Rgb<u8> {
    match class {
        Class::Player => Rgb([0, 200, 255]),
        Class::Goalkeeper => Rgb([255, 0, 255]),
        Class::Referee => Rgb([20, 20, 20]),
        Class::Ball => render::BALL,
    }
}

/// The frame with a 2-pixel outline per detection in its class's colour (a ball's box grown to be seen).
pub fn draw(frame: &Frame, detections: &[Detection]) -> RgbImage {
    let mut img = render::canvas(frame);
    for d in detections {
        let grow = if d.class == Class::Ball { 6.0 } else { 0.0 };
        let b = &d.bbox;
        let grown = BBox::from([b.x1 - grow, b.y1 - grow, b.x2 + grow, b.y2 + grow]);
        render::outline(&mut img, &grown, colour(d.class), 2);
    }
    img
}
