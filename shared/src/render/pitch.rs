//! The match drawn on the pitch, seen from above with the origin corner top left (x to the right, y
//! down, as the broadcast camera sees it): a radar of one frame, a team's heatmap, a team's pass network.

use image::{Rgb, RgbImage};
use imageproc::drawing::{draw_filled_circle_mut, draw_hollow_circle_mut, draw_line_segment_mut, draw_polygon_mut};
use imageproc::point::Point;

use super::frame::{BALL, number};
use crate::detect::Class;
use crate::pipeline::FrameOutput;
use crate::pitch::Pitch;
use crate::stats::{PlayerReport, TeamReport};

const PX_PER_M: f64 = 10.0;
const MARGIN_M: f64 = 4.0;
const GRASS: [Rgb<u8>; 2] = [Rgb([58, 125, 68]), Rgb([52, 115, 62])];
const LINE: Rgb<u8> = Rgb([235, 240, 235]);
const UNKNOWN_TEAM: Rgb<u8> = Rgb([160, 160, 160]);
/// A heatmap runs from yellow (seldom) to red (most).
const HEAT: [[f64; 3]; 2] = [[255.0, 230.0, 40.0], [215.0, 25.0, 25.0]];
const ID_SCALE: i64 = 2;

/// A pitch to draw on, and where its metres fall in pixels.
struct Board {
    img: RgbImage,
    pitch: Pitch,
}

impl Board {
    fn new(pitch: Pitch) -> Board {
        let size = |m: f64| ((m + 2.0 * MARGIN_M) * PX_PER_M).round() as u32;
        let mut img = RgbImage::new(size(pitch.length), size(pitch.width));
        // Mowing stripes, 5 m wide.
        for (x, _, p) in img.enumerate_pixels_mut() {
            let m = x as f64 / PX_PER_M - MARGIN_M;
            *p = GRASS[(m / 5.0).floor().rem_euclid(2.0) as usize];
        }
        let mut board = Board { img, pitch };
        board.markings();
        board
    }

    fn px(&self, at: [f64; 2]) -> (f32, f32) {
        (((at[0] + MARGIN_M) * PX_PER_M) as f32, ((at[1] + MARGIN_M) * PX_PER_M) as f32)
    }

    fn line(&mut self, a: [f64; 2], b: [f64; 2], colour: Rgb<u8>, width: f64) {
        let (pa, pb) = (self.px(a), self.px(b));
        let (dx, dy) = (pb.0 - pa.0, pb.1 - pa.1);
        let len = dx.hypot(dy);
        if len < 0.5 {
            return;
        }
        if width <= 1.0 {
            draw_line_segment_mut(&mut self.img, pa, pb, colour);
            return;
        }
        let (nx, ny) = (-dy / len * width as f32 / 2.0, dx / len * width as f32 / 2.0);
        let corner = |p: (f32, f32), s: f32| Point::new((p.0 + s * nx).round() as i32, (p.1 + s * ny).round() as i32);
        let quad = [corner(pa, 1.0), corner(pb, 1.0), corner(pb, -1.0), corner(pa, -1.0)];
        if quad[0] != quad[3] {
            draw_polygon_mut(&mut self.img, &quad, colour);
        }
    }

    fn rect(&mut self, x0: f64, y0: f64, x1: f64, y1: f64) {
        for (a, b) in [([x0, y0], [x1, y0]), ([x1, y0], [x1, y1]), ([x1, y1], [x0, y1]), ([x0, y1], [x0, y0])] {
            self.line(a, b, LINE, 2.0);
        }
    }

    /// An arc of a circle centred at `c`, from angle `from` to `to` (radians, y down).
    fn arc(&mut self, c: [f64; 2], r: f64, from: f64, to: f64) {
        let steps = 48;
        let at = |i: usize| {
            let a = from + (to - from) * i as f64 / steps as f64;
            [c[0] + r * a.cos(), c[1] + r * a.sin()]
        };
        for i in 0..steps {
            self.line(at(i), at(i + 1), LINE, 2.0);
        }
    }

    fn disc(&mut self, at: [f64; 2], r: i32, fill: Rgb<u8>, ring: Rgb<u8>) {
        let (x, y) = self.px(at);
        let c = (x.round() as i32, y.round() as i32);
        draw_filled_circle_mut(&mut self.img, c, r, fill);
        draw_hollow_circle_mut(&mut self.img, c, r, ring);
    }

    fn label(&mut self, at: [f64; 2], id: u64, dy: i64) {
        let (x, y) = self.px(at);
        let width = (id.to_string().len() as i64 * 4 + 1) * ID_SCALE;
        number(&mut self.img, id, x as i64 - width / 2, y as i64 + dy, ID_SCALE, Rgb([255, 255, 255]));
    }

    /// The Laws of the Game's markings: they keep their sizes whatever the pitch's.
    fn markings(&mut self) {
        let Pitch { length: l, width: w } = self.pitch;
        let mid = w / 2.0;
        self.rect(0.0, 0.0, l, w);
        self.line([l / 2.0, 0.0], [l / 2.0, w], LINE, 2.0);
        self.arc([l / 2.0, mid], 9.15, 0.0, std::f64::consts::TAU);
        for (goal, inward) in [(0.0, 1.0), (l, -1.0)] {
            let box_at = |depth: f64| goal + inward * depth;
            self.rect(goal.min(box_at(16.5)), mid - 20.16, goal.max(box_at(16.5)), mid + 20.16);
            self.rect(goal.min(box_at(5.5)), mid - 9.16, goal.max(box_at(5.5)), mid + 9.16);
            self.rect(goal.min(goal - inward * 1.5), mid - 3.66, goal.max(goal - inward * 1.5), mid + 3.66);
            let spot = [box_at(11.0), mid];
            self.disc(spot, 2, LINE, LINE);
            // The penalty arc: the part of a 9.15 m circle round the spot outside the area.
            let half = (5.5f64 / 9.15).acos();
            let facing = if inward > 0.0 { 0.0 } else { std::f64::consts::PI };
            self.arc(spot, 9.15, facing - half, facing + half);
        }
        self.disc([l / 2.0, mid], 2, LINE, LINE);
    }
}

fn kit(kits: Option<[[f64; 3]; 2]>, team: Option<u8>) -> Rgb<u8> {
    match (kits, team) {
        (Some(k), Some(t)) => Rgb(k[t as usize & 1].map(|c| c.round().clamp(0.0, 255.0) as u8)),
        _ => UNKNOWN_TEAM,
    }
}

/// A ring that shows against a kit: black round light shirts, white round dark ones.
fn contrast(c: Rgb<u8>) -> Rgb<u8> {
    let luma = 0.299 * c[0] as f64 + 0.587 * c[1] as f64 + 0.114 * c[2] as f64;
    if luma > 140.0 { Rgb([0, 0, 0]) } else { Rgb([255, 255, 255]) }
}

/// One frame from above: players in their team's colours with their ids (referees black, goalkeepers with
/// a double ring), the ball, and a red ring round the player who has it. Objects not on the pitch (an
/// uncalibrated frame) are left out.
pub fn radar(frame: &FrameOutput, pitch: Pitch, kits: Option<[[f64; 3]; 2]>) -> RgbImage {
    let mut board = Board::new(pitch);
    for o in &frame.objects {
        let Some(at) = o.pitch else { continue };
        let fill = if o.role == Class::Referee { Rgb([20, 20, 20]) } else { kit(kits, o.team) };
        if frame.owner == Some(o.track_id) {
            board.disc(at, 12, Rgb([230, 30, 30]), Rgb([230, 30, 30]));
        }
        board.disc(at, 8, fill, contrast(fill));
        if o.role == Class::Goalkeeper {
            let (x, y) = board.px(at);
            draw_hollow_circle_mut(&mut board.img, (x.round() as i32, y.round() as i32), 10, contrast(fill));
        }
        board.label(at, o.track_id, 24);
    }
    if let Some(at) = frame.ball_pitch {
        board.disc(at, 5, BALL, Rgb([0, 0, 0]));
    }
    board.img
}

/// Where a team's players were: its heatmap's counts, smoothed between cell centres and blended over the
/// pitch from clear (never) through yellow to red (most).
pub fn heatmap(team: &TeamReport, pitch: Pitch) -> RgbImage {
    let mut board = Board::new(pitch);
    let grid = team.heatmap.grid;
    let most = team.heatmap.counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let count = |c: isize, r: isize| {
        let (c, r) = (c.clamp(0, grid.cols as isize - 1) as usize, r.clamp(0, grid.rows as isize - 1) as usize);
        team.heatmap.counts[r * grid.cols + c] as f64 / most
    };
    for (x, y, p) in board.img.enumerate_pixels_mut() {
        let (mx, my) = (x as f64 / PX_PER_M - MARGIN_M, y as f64 / PX_PER_M - MARGIN_M);
        if !(0.0..=pitch.length).contains(&mx) || !(0.0..=pitch.width).contains(&my) {
            continue;
        }
        // Bilinear between the four nearest cell centres.
        let (u, v) = (mx / grid.cell_m - 0.5, my / grid.cell_m - 0.5);
        let (c, r) = (u.floor(), v.floor());
        let (fu, fv) = (u - c, v - r);
        let (c, r) = (c as isize, r as isize);
        let heat = count(c, r) * (1.0 - fu) * (1.0 - fv)
            + count(c + 1, r) * fu * (1.0 - fv)
            + count(c, r + 1) * (1.0 - fu) * fv
            + count(c + 1, r + 1) * fu * fv;
        let hot = [0, 1, 2].map(|i| HEAT[0][i] + (HEAT[1][i] - HEAT[0][i]) * heat);
        let alpha = heat.sqrt() * 0.85;
        *p = Rgb([0, 1, 2].map(|i| (p[i] as f64 * (1.0 - alpha) + hot[i] * alpha).round() as u8));
    }
    board.markings();
    board.img
}

/// Who passed to whom in a team: each player at his average position, a line between two players as
/// thick as the passes between them (both ways), and the player's disc as large as his passes made and
/// received.
pub fn passes(team: &TeamReport, players: &[PlayerReport], pitch: Pitch, kits: Option<[[f64; 3]; 2]>) -> RgbImage {
    let mut board = Board::new(pitch);
    let place = |id: u64| players.iter().find(|p| p.track_id == id).and_then(|p| p.average_position);
    let mut pairs: Vec<((u64, u64), u64)> = Vec::new();
    for l in &team.pass_network {
        let key = (l.from.min(l.to), l.from.max(l.to));
        match pairs.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += l.count,
            None => pairs.push((key, l.count)),
        }
    }
    let most = pairs.iter().map(|(_, n)| *n).max().unwrap_or(1) as f64;
    for ((a, b), n) in &pairs {
        if let (Some(pa), Some(pb)) = (place(*a), place(*b)) {
            board.line(pa, pb, Rgb([250, 250, 250]), 1.0 + 7.0 * *n as f64 / most);
        }
    }
    let fill = kit(kits, Some(team.team));
    let mut involved: Vec<(u64, u64)> = Vec::new();
    for ((a, b), n) in &pairs {
        for id in [a, b] {
            match involved.iter_mut().find(|(i, _)| i == id) {
                Some((_, m)) => *m += n,
                None => involved.push((*id, *n)),
            }
        }
    }
    let busiest = involved.iter().map(|(_, n)| *n).max().unwrap_or(1) as f64;
    for (id, n) in involved {
        if let Some(at) = place(id) {
            board.disc(at, (6.0 + 8.0 * n as f64 / busiest).round() as i32, fill, contrast(fill));
            board.label(at, id, 30);
        }
    }
    board.img
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pitch_is_drawn_with_its_origin_top_left_and_the_margin_around_it() {
        let img = Board::new(Pitch::default()).img;
        assert_eq!((img.width(), img.height()), (1130, 760));
        // The corner flag at (0, 0) is on the touchline; the middle of the margin is grass.
        assert_eq!(img.get_pixel(40, 40), &LINE);
        assert_eq!(img.get_pixel(40, 400), &LINE, "goal line");
        assert!(GRASS.contains(img.get_pixel(20, 20)));
        // The centre spot.
        assert_eq!(img.get_pixel(565, 380), &LINE);
    }
}
