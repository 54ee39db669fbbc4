//! A broadcast camera: fixed high on the near side of the pitch, panning to follow play.
//! World: x along the pitch (0..105 m), y across (0 far touchline .. 68 near), z up.

use crate::pitch::Homography;

#[derive(Clone, Copy, Debug)]
pub struct Camera {
    pos: [f64; 3],
    right: [f64; 3],
    up: [f64; 3],
    forward: [f64; 3],
    focal: f64,
    cx: f64,
    cy: f64,
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

fn normalise(a: [f64; 3]) -> [f64; 3] {
    let n = dot(a, a).sqrt();
    [a[0] / n, a[1] / n, a[2] / n]
}

impl Camera {
    /// Camera at `pos` looking at `target`, `hfov` horizontal field of view in degrees.
    pub fn look_at(pos: [f64; 3], target: [f64; 3], hfov: f64, width: u32, height: u32) -> Camera {
        let forward = normalise(sub(target, pos));
        let right = normalise(cross(forward, [0.0, 0.0, 1.0]));
        let up = cross(right, forward);
        let focal = (width as f64 / 2.0) / (hfov.to_radians() / 2.0).tan();
        Camera { pos, right, up, forward, focal, cx: width as f64 / 2.0, cy: height as f64 / 2.0 }
    }

    /// Pixel of a world point and its depth, or `None` behind the camera.
    pub fn project(&self, p: [f64; 3]) -> Option<(f64, f64, f64)> {
        let d = sub(p, self.pos);
        let z = dot(d, self.forward);
        (z > 0.1)
            .then(|| (self.cx + self.focal * dot(d, self.right) / z, self.cy - self.focal * dot(d, self.up) / z, z))
    }

    /// Ray direction through a pixel.
    pub fn ray(&self, u: f64, v: f64) -> [f64; 3] {
        let a = (u - self.cx) / self.focal;
        let b = (self.cy - v) / self.focal;
        [
            self.forward[0] + a * self.right[0] + b * self.up[0],
            self.forward[1] + a * self.right[1] + b * self.up[1],
            self.forward[2] + a * self.right[2] + b * self.up[2],
        ]
    }

    /// Pixels per unit of depth: a metre at depth z spans `focal_length() / z` pixels.
    pub fn focal_length(&self) -> f64 {
        self.focal
    }

    pub fn position(&self) -> [f64; 3] {
        self.pos
    }

    /// The homography from image pixels to ground (pitch) metres: a pinhole camera maps the plane z = 0
    /// to its image by one.
    pub fn ground_homography(&self) -> Option<Homography> {
        // A ground point (x, y, 0) seen along an axis a: a . (p - pos) = a0 x + a1 y - a . pos.
        let row = |a: [f64; 3]| [a[0], a[1], -dot(a, self.pos)];
        let (r, u, f) = (row(self.right), row(self.up), row(self.forward));
        let to_image = Homography(std::array::from_fn(|c| match c {
            0 => std::array::from_fn(|k| self.cx * f[k] + self.focal * r[k]),
            1 => std::array::from_fn(|k| self.cy * f[k] - self.focal * u[k]),
            _ => f,
        }));
        to_image.inverse()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_look_at_point_projects_to_the_image_centre_and_rays_invert_projection() {
        let cam = Camera::look_at([52.5, 105.0, 20.0], [40.0, 30.0, 0.0], 35.0, 1280, 720);
        let (u, v, _) = cam.project([40.0, 30.0, 0.0]).unwrap();
        assert!((u - 640.0).abs() < 1e-9 && (v - 360.0).abs() < 1e-9);
        let (u, v, _) = cam.project([30.0, 20.0, 0.0]).unwrap();
        let d = cam.ray(u, v);
        let t = -cam.position()[2] / d[2];
        assert!((cam.position()[0] + t * d[0] - 30.0).abs() < 1e-6);
        assert!((cam.position()[1] + t * d[1] - 20.0).abs() < 1e-6);
    }

    #[test]
    fn the_ground_homography_takes_a_ground_point_s_pixel_back_to_it() {
        let cam = Camera::look_at([52.5, 105.0, 20.0], [40.0, 30.0, 0.0], 35.0, 1280, 720);
        let h = cam.ground_homography().unwrap();
        for p in [[30.0, 20.0], [0.0, 68.0], [52.5, 34.0]] {
            let (u, v, _) = cam.project([p[0], p[1], 0.0]).unwrap();
            let (x, y) = h.apply((u, v)).unwrap();
            assert!((x - p[0]).abs() < 1e-6 && (y - p[1]).abs() < 1e-6, "{p:?} -> ({x}, {y})");
        }
    }
}
