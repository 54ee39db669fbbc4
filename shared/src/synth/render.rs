//! Draws a frame of the simulated match as a broadcast camera sees it, and reads off its truth.

use super::camera::Camera;
use super::sim::{LENGTH, Person, Sim, WIDTH};
use crate::geometry::BBox;
use crate::pitch::Homography;
use crate::truth::{BallTruth, FrameTruth, PersonTruth};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Kit {
    pub shirt: [u8; 3],
    pub shorts: [u8; 3],
    pub socks: [u8; 3],
}

/// How everyone is dressed: per person (by sim index) a kit, a skin and a hair colour.
pub struct Looks {
    pub kits: Vec<Kit>,
    pub skin: Vec<[u8; 3]>,
    pub hair: Vec<[u8; 3]>,
}

/// Cheap, stable pixel noise in -1..1.
fn hash(a: i64, b: i64, c: u64) -> f64 {
    let mut h = (a as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (b as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F) ^ c;
    h ^= h >> 29;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 32;
    (h & 0xFFFF) as f64 / 32767.5 - 1.0
}

fn shade(c: [u8; 3], k: f64) -> [u8; 3] {
    [
        (c[0] as f64 * k).clamp(0.0, 255.0) as u8,
        (c[1] as f64 * k).clamp(0.0, 255.0) as u8,
        (c[2] as f64 * k).clamp(0.0, 255.0) as u8,
    ]
}

const LINE: [u8; 3] = [228, 232, 226];

/// Distance from a ground point to the nearest pitch marking, in metres.
fn line_distance(x: f64, y: f64) -> f64 {
    let seg_v = |lx: f64, y0: f64, y1: f64| {
        if y < y0 {
            (x - lx).hypot(y0 - y)
        } else if y > y1 {
            (x - lx).hypot(y - y1)
        } else {
            (x - lx).abs()
        }
    };
    let seg_h = |ly: f64, x0: f64, x1: f64| {
        if x < x0 {
            (y - ly).hypot(x0 - x)
        } else if x > x1 {
            (y - ly).hypot(x - x1)
        } else {
            (y - ly).abs()
        }
    };
    let mut d = seg_h(0.0, 0.0, LENGTH).min(seg_h(WIDTH, 0.0, LENGTH));
    d = d.min(seg_v(0.0, 0.0, WIDTH)).min(seg_v(LENGTH, 0.0, WIDTH)).min(seg_v(LENGTH / 2.0, 0.0, WIDTH));
    d = d.min((((x - LENGTH / 2.0).hypot(y - WIDTH / 2.0)) - 9.15).abs());
    for (gx, s) in [(0.0, 1.0), (LENGTH, -1.0)] {
        d = d.min(seg_v(gx + s * 16.5, 13.84, 54.16)).min(seg_h(13.84, gx.min(gx + s * 16.5), gx.max(gx + s * 16.5)));
        d = d.min(seg_h(54.16, gx.min(gx + s * 16.5), gx.max(gx + s * 16.5)));
        d = d.min(seg_v(gx + s * 5.5, 24.84, 43.16)).min(seg_h(24.84, gx.min(gx + s * 5.5), gx.max(gx + s * 5.5)));
        d = d.min(seg_h(43.16, gx.min(gx + s * 5.5), gx.max(gx + s * 5.5)));
        d = d.min((x - (gx + s * 11.0)).hypot(y - WIDTH / 2.0) - 0.05);
    }
    d
}

/// Each pixel's colour is the mean of this many by this many rays through it, as a camera's sensor
/// gathers the light over its pixel: one ray a pixel draws far grass and thin lines aliased, patterns that
/// move otherwise than the pitch as the camera turns.
const RAYS: usize = 2;

/// Where a ray meets the grass (pitch metres) and how far along it, or `None` beyond the grass.
fn on_grass(cam: &Camera, (u, v): (f64, f64)) -> Option<(f64, f64, f64)> {
    let (c, d) = (cam.position(), cam.ray(u, v));
    let t = if d[2] < -1e-6 { -c[2] / d[2] } else { return None };
    let (x, y) = (c[0] + t * d[0], c[1] + t * d[1]);
    ((-5.0..=LENGTH + 5.0).contains(&x) && (-4.0..=WIDTH + 6.0).contains(&y)).then_some((x, y, t))
}

/// A painted line's half width at depth `t`: wider far off, so that it still shows.
fn line_width(t: f64) -> f64 {
    0.06f64.max(0.6 * t / 1500.0)
}

fn grass((x, y): (f64, f64)) -> [u8; 3] {
    let stripe = ((x / (LENGTH / 20.0)).floor() as i64).rem_euclid(2);
    let base = if stripe == 0 { [50.0, 124.0, 56.0] } else { [60.0, 140.0, 66.0] };
    let n = 6.0 * hash((x * 8.0) as i64, (y * 8.0) as i64, 17) + 4.0 * (x * 0.11 + y * 0.07).sin();
    [(base[0] + n) as u8, (base[1] + n * 1.4) as u8, (base[2] + n) as u8]
}

/// Pitch, boards and stands for rows `rows` into `buf` (which holds exactly those rows).
fn background(buf: &mut [u8], width: u32, rows: std::ops::Range<u32>, cam: &Camera, frame: u64) {
    let step = 1.0 / RAYS as f64;
    for (r, v) in rows.enumerate() {
        for u in 0..width {
            let at: [(f64, f64); RAYS * RAYS] = std::array::from_fn(|k| {
                let (su, sv) = ((k % RAYS) as f64, (k / RAYS) as f64);
                (u as f64 + (su + 0.5) * step, v as f64 + (sv + 0.5) * step)
            });
            let ground = at.map(|p| on_grass(cam, p));
            // All on the grass and the nearest line farther from the first than they spread: one look for the
            // lines does (a point moves its distance to a line by no more than it moves).
            let clear = ground.iter().all(Option::is_some) && {
                let (x0, y0, _) = ground[0].expect("on the grass");
                let (spread, widest) = ground
                    .iter()
                    .flatten()
                    .fold((0.0f64, 0.0f64), |(s, w), &(x, y, t)| (s.max((x - x0).hypot(y - y0)), w.max(line_width(t))));
                line_distance(x0, y0) - spread >= widest
            };
            let colours: [[u8; 3]; RAYS * RAYS] = std::array::from_fn(|k| match ground[k] {
                Some((x, y, t)) if !clear && line_distance(x, y) < line_width(t) => LINE,
                Some((x, y, _)) => grass((x, y)),
                None => beyond(cam, at[k], (u, v), frame),
            });
            let mut sum = [0u32; 3];
            for c in colours {
                sum = std::array::from_fn(|k| sum[k] + c[k] as u32);
            }
            let n = (RAYS * RAYS) as u32;
            let i = (r * width as usize + u as usize) * 3;
            buf[i..i + 3].copy_from_slice(&sum.map(|s| ((s + n / 2) / n) as u8));
        }
    }
}

/// Beyond the far touchline, along the ray through `(u, v)` (of pixel `pixel`): an advertising board, then
/// the crowd (which stirs every 2 s).
fn beyond(cam: &Camera, (u, v): (f64, f64), pixel: (u32, u32), frame: u64) -> [u8; 3] {
    const BOARDS: [[u8; 3]; 5] = [[200, 40, 40], [30, 60, 170], [240, 240, 240], [240, 200, 30], [20, 20, 20]];
    let (c, d) = (cam.position(), cam.ray(u, v));
    let tb = (-4.0 - c[1]) / d[1];
    let z = c[2] + tb * d[2];
    if d[1] < 0.0 && (0.0..1.0).contains(&z) {
        return BOARDS[(((c[0] + tb * d[0]) / 7.0).floor() as i64).rem_euclid(5) as usize];
    }
    let n = hash((pixel.0 / 3) as i64, (pixel.1 / 3) as i64, frame / 50);
    let k = 60.0 + 40.0 * n;
    if n > 0.85 {
        [200, 60, 60]
    } else if n < -0.9 {
        [220, 220, 220]
    } else {
        [k as u8, (k * 0.95) as u8, (k * 1.1) as u8]
    }
}

/// The pixels of one figure and where they landed.
/// A painted object's pixel bounds, (u0, v0, u1, v1).
type Bounds = (u32, u32, u32, u32);

struct Painter<'a> {
    buf: &'a mut [u8],
    owner: &'a mut [u16],
    width: u32,
    height: u32,
    drawn: u32,
    bounds: Option<Bounds>,
}

impl Painter<'_> {
    /// The ball at ground point `at`, a shaded disc.
    fn ball(&mut self, cam: &Camera, at: [f64; 2], frame: u64, who: u16) {
        let Some((u, v, z)) = cam.project([at[0], at[1], 0.11]) else { return };
        let r = (0.11 * cam_scale(cam, z)).max(1.2);
        let (u0, u1, v0, v1) =
            ((u - r).floor() as i64, (u + r).ceil() as i64, (v - r).floor() as i64, (v + r).ceil() as i64);
        for vv in v0..=v1 {
            for uu in u0..=u1 {
                let (dx, dy) = (uu as f64 + 0.5 - u, vv as f64 + 0.5 - v);
                if dx.hypot(dy) <= r {
                    let k = 0.8 + 0.2 * (-dy / r) + if hash(uu, vv, frame) > 0.7 { -0.35 } else { 0.0 };
                    self.put(uu, vv, shade([245, 245, 240], k), who);
                }
            }
        }
    }

    /// A player standing at his position: shadow, legs, shorts, shirt, arms and head, lit from the left.
    fn person(&mut self, cam: &Camera, person: &Person, (kit, skin, hair): (Kit, [u8; 3], [u8; 3]), who: u16) {
        let Some((fu, fv, z)) = cam.project([person.pos[0], person.pos[1], 0.0]) else { return };
        let s = cam_scale(cam, z);
        let feet = (fu, fv, s);
        // Shadow first: it darkens the grass but is not part of the player.
        let (rx, ry) = (0.45 * s, 0.14 * s);
        for vv in (fv - ry).floor() as i64..=(fv + ry).ceil() as i64 {
            for uu in (fu - rx).floor() as i64..=(fu + rx).ceil() as i64 {
                let (dx, dy) = ((uu as f64 + 0.5 - fu) / rx, (vv as f64 + 0.5 - fv) / ry);
                if dx * dx + dy * dy <= 1.0 && uu >= 0 && vv >= 0 && uu < self.width as i64 && vv < self.height as i64 {
                    let i = (vv as usize * self.width as usize + uu as usize) * 3;
                    let c = shade([self.buf[i], self.buf[i + 1], self.buf[i + 2]], 0.65);
                    self.buf[i..i + 3].copy_from_slice(&c);
                }
            }
        }
        let speed = person.vel[0].hypot(person.vel[1]);
        let swing = 0.14 * person.stride.sin() * (speed / 3.0).min(1.0);
        let lit = |c: [u8; 3]| move |lx: f64, _ly: f64| shade(c, 1.05 - 0.3 * (lx + 0.33) / 0.66);
        for (ox, sw) in [(-0.1, swing), (0.1, -swing)] {
            let x = ox + sw;
            self.rect(feet, [x - 0.08, x + 0.08, 0.0, 0.5], lit(kit.socks), who);
            self.rect(feet, [x - 0.07, x + 0.07, 0.5, 0.78], lit(skin), who);
        }
        self.rect(feet, [-0.2, 0.2, 0.75, 0.98], lit(kit.shorts), who);
        self.rect(feet, [-0.23, 0.23, 0.98, 1.52], lit(kit.shirt), who);
        for side in [-1.0, 1.0] {
            let (a, b) = if side < 0.0 { (-0.33, -0.23) } else { (0.23, 0.33) };
            self.rect(
                feet,
                [a, b, 1.05, 1.5],
                |lx, ly| shade(if ly > 1.3 { kit.shirt } else { skin }, 1.0 - 0.3 * (lx + 0.33) / 0.66),
                who,
            );
        }
        self.disc(feet, (0.0, 1.64), 0.125, |ly| if ly > 1.68 { hair } else { skin }, who);
    }

    fn put(&mut self, u: i64, v: i64, c: [u8; 3], who: u16) {
        if u < 0 || v < 0 || u >= self.width as i64 || v >= self.height as i64 {
            return;
        }
        let (u, v) = (u as u32, v as u32);
        let i = (v * self.width + u) as usize;
        self.buf[i * 3..i * 3 + 3].copy_from_slice(&c);
        self.owner[i] = who;
        self.drawn += 1;
        self.bounds = Some(match self.bounds {
            None => (u, v, u, v),
            Some((a, b, c, d)) => (a.min(u), b.min(v), c.max(u), d.max(v)),
        });
    }

    /// Fills a disc of radius r (metres) centred at (cx, cy) metres from the feet.
    fn disc(
        &mut self,
        (fu, fv, s): (f64, f64, f64),
        (cx, cy): (f64, f64),
        r: f64,
        colour: impl Fn(f64) -> [u8; 3],
        who: u16,
    ) {
        let (u, v, rp) = (fu + cx * s, fv - cy * s, (r * s).max(0.7));
        for vv in (v - rp).floor() as i64..=(v + rp).ceil() as i64 {
            for uu in (u - rp).floor() as i64..=(u + rp).ceil() as i64 {
                if (uu as f64 + 0.5 - u).hypot(vv as f64 + 0.5 - v) <= rp {
                    self.put(uu, vv, colour((fv - vv as f64 - 0.5) / s), who);
                }
            }
        }
    }

    /// Fills the rectangle `[x0, x1, y0, y1]`, in metres around the feet at (fu, fv), with scale s px/m.
    fn rect(
        &mut self,
        (fu, fv, s): (f64, f64, f64),
        [x0, x1, y0, y1]: [f64; 4],
        colour: impl Fn(f64, f64) -> [u8; 3],
        who: u16,
    ) {
        let (u0, u1) = ((fu + x0 * s).round() as i64, (fu + x1 * s).round().max((fu + x0 * s).round() + 1.0) as i64);
        let (v0, v1) = ((fv - y1 * s).round() as i64, (fv - y0 * s).round().max((fv - y1 * s).round() + 1.0) as i64);
        for v in v0..v1 {
            for u in u0..u1 {
                let lx = (u as f64 + 0.5 - fu) / s;
                let ly = (fv - v as f64 - 0.5) / s;
                self.put(u, v, colour(lx, ly), who);
            }
        }
    }
}

/// Renders frame `frame` of `sim` into `buf` (RGB24) and returns its truth.
pub fn render(
    buf: &mut [u8],
    width: u32,
    height: u32,
    cam: &Camera,
    sim: &Sim,
    looks: &Looks,
    frame: u64,
) -> FrameTruth {
    // Background in two halves, one per core.
    let mid = height / 2;
    let (top, bottom) = buf.split_at_mut((mid * width * 3) as usize);
    std::thread::scope(|s| {
        s.spawn(|| background(top, width, 0..mid, cam, frame));
        background(bottom, width, mid..height, cam, frame);
    });
    let mut owner = vec![0u16; (width * height) as usize];

    // Far to near, so nearer figures hide farther ones. Index n = the ball.
    let n = sim.people.len();
    let mut order: Vec<(usize, f64)> = (0..=n)
        .filter_map(|k| {
            let p = if k < n { sim.people[k].pos } else { sim.ball };
            cam.project([p[0], p[1], 0.0]).map(|(_, _, z)| (k, z))
        })
        .collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1));

    let mut painted: Vec<(usize, u32, Option<Bounds>)> = Vec::new();
    for &(k, _) in &order {
        let mut p = Painter { buf: &mut *buf, owner: &mut owner, width, height, drawn: 0, bounds: None };
        let who = k as u16 + 1;
        if k == n {
            p.ball(cam, sim.ball, frame, who);
        } else {
            p.person(cam, &sim.people[k], (looks.kits[k], looks.skin[k], looks.hair[k]), who);
        }
        let (drawn, bounds) = (p.drawn, p.bounds);
        painted.push((k, drawn, bounds));
    }

    let mut visible = vec![0u32; n + 2];
    for &o in &owner {
        visible[o as usize] += 1;
    }
    let homography = cam.ground_homography().map(|h| Homography(mirror(h.0)));
    let mut truth = FrameTruth { index: frame, people: Vec::new(), ball: None, homography };
    for (k, drawn, bounds) in painted {
        let Some((u0, v0, u1, v1)) = bounds else { continue };
        if drawn < 4 {
            continue;
        }
        let bbox = BBox { x1: u0 as f64, y1: v0 as f64, x2: u1 as f64 + 1.0, y2: v1 as f64 + 1.0 };
        let shown = visible[k + 1] as f64 / drawn as f64;
        if k == n {
            truth.ball = Some(BallTruth { bbox, visible: shown, pitch: Some(on_pitch(sim.ball)) });
        } else {
            let p = &sim.people[k];
            // Cut by the frame edge: count the missing part as hidden.
            let full = cam_full_height(cam, p.pos);
            let in_frame = (bbox.height() / full).min(1.0);
            let (id, role, team, pitch) = (p.id, p.role, p.team, Some(on_pitch(p.pos)));
            truth.people.push(PersonTruth { id, role, team, bbox, visible: shown * in_frame, pitch });
        }
    }
    truth.people.sort_by_key(|p| p.id);
    truth
}

/// Pixels per metre at depth z.
/// The simulation's x grows to the broadcast camera's left; pitch coordinates (keypoint 0 at the far-left
/// corner, as the keypoint labels have it) grow to its right. The truth is given in pitch coordinates.
fn on_pitch(p: [f64; 2]) -> [f64; 2] {
    [LENGTH - p[0], p[1]]
}

/// `h` (image to simulation) followed by the mirror to pitch coordinates.
fn mirror(h: [[f64; 3]; 3]) -> [[f64; 3]; 3] {
    [std::array::from_fn(|c| LENGTH * h[2][c] - h[0][c]), h[1], h[2]]
}

fn cam_scale(cam: &Camera, z: f64) -> f64 {
    cam.focal_length() / z
}

fn cam_full_height(cam: &Camera, pos: [f64; 2]) -> f64 {
    cam.project([pos[0], pos[1], 0.0]).map_or(1.0, |(_, _, z)| 1.76 * cam_scale(cam, z)).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_centre_circle_and_touchlines_are_markings_and_open_grass_is_not() {
        assert!(line_distance(52.5 + 9.15, 34.0) < 1e-9);
        assert!(line_distance(30.0, 0.0) < 1e-9);
        assert!(line_distance(30.0, 30.0) > 5.0);
    }
}
