//! A team's figures on the pitch: where its players were (a heatmap), where it had the ball (thirds), its
//! shape (length and width), and its passes (lengths, directions, who to whom).

use serde::{Deserialize, Serialize};

use crate::pitch::Pitch;

/// Heatmap cells are squares of this side, in metres.
pub const CELL_M: f64 = 5.0;
/// The shape is measured on frames showing at least this many of the team's outfield players.
pub const SHAPE_PLAYERS: usize = 7;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TeamStats {
    /// Player-frames per cell, row by row from the origin corner (`Grid` gives the layout).
    pub heatmap: Vec<u64>,
    /// Frames the team had the ball, by the third (along x, from the origin) its owner stood in.
    pub possession_thirds: [u64; 3],
    /// Frames its shape was measured on, and the sums of its length (along x) and width (across).
    pub shape_frames: u64,
    pub length_sum: f64,
    pub width_sum: f64,
    pub passes: PassStats,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PassStats {
    pub count: u64,
    /// Passes with both ends on the pitch, and their total length.
    pub measured: u64,
    pub length_sum: f64,
    /// Under 10 m, 10-20 m, 20-30 m, 30 m and over.
    pub lengths: [u64; 4],
    /// Towards x = length, towards x = 0, across (within 45 degrees of the y axis).
    pub towards: [u64; 3],
    /// Who passed to whom, sorted by passer then receiver.
    pub network: Vec<Link>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub from: u64,
    pub to: u64,
    pub count: u64,
}

/// The heatmap's cells over a pitch.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    pub cell_m: f64,
    pub cols: usize,
    pub rows: usize,
}

impl Grid {
    pub fn of(pitch: Pitch) -> Grid {
        let cells = |m: f64| ((m / CELL_M).ceil() as usize).max(1);
        Grid { cell_m: CELL_M, cols: cells(pitch.length), rows: cells(pitch.width) }
    }

    /// The cell of a position; positions just off the pitch count in its edge cells.
    pub fn cell(&self, at: [f64; 2]) -> usize {
        let index = |v: f64, n: usize| ((v / self.cell_m).floor().max(0.0) as usize).min(n - 1);
        index(at[1], self.rows) * self.cols + index(at[0], self.cols)
    }
}

impl TeamStats {
    pub fn place(&mut self, grid: &Grid, at: [f64; 2]) {
        if self.heatmap.is_empty() {
            self.heatmap = vec![0; grid.cols * grid.rows];
        }
        self.heatmap[grid.cell(at)] += 1;
    }

    pub fn own(&mut self, pitch: Pitch, at: [f64; 2]) {
        let third = ((at[0] / pitch.length * 3.0).floor().max(0.0) as usize).min(2);
        self.possession_thirds[third] += 1;
    }

    /// One frame's outfield players, if enough of them are seen to tell the team's shape.
    pub fn shape(&mut self, outfield: &[[f64; 2]]) {
        if outfield.len() < SHAPE_PLAYERS {
            return;
        }
        let span = |axis: usize| {
            let (lo, hi) = outfield.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p[axis]), hi.max(p[axis])));
            hi - lo
        };
        self.shape_frames += 1;
        self.length_sum += span(0);
        self.width_sum += span(1);
    }
}

impl PassStats {
    pub fn add(&mut self, from: Option<u64>, to: Option<u64>, ends: Option<([f64; 2], [f64; 2])>) {
        self.count += 1;
        if let (Some(from), Some(to)) = (from, to) {
            match self.network.binary_search_by_key(&(from, to), |l| (l.from, l.to)) {
                Ok(i) => self.network[i].count += 1,
                Err(i) => self.network.insert(i, Link { from, to, count: 1 }),
            }
        }
        let Some((a, b)) = ends else { return };
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let length = dx.hypot(dy);
        self.measured += 1;
        self.length_sum += length;
        self.lengths[((length / 10.0) as usize).min(3)] += 1;
        let towards = if dy.abs() > dx.abs() {
            2
        } else if dx >= 0.0 {
            0
        } else {
            1
        };
        self.towards[towards] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cover_the_pitch_and_its_margin_falls_in_the_edge_cells() {
        let grid = Grid::of(Pitch::default());
        assert_eq!((grid.cols, grid.rows), (21, 14));
        assert_eq!(grid.cell([0.0, 0.0]), 0);
        assert_eq!(grid.cell([-3.0, 70.0]), 13 * 21);
        assert_eq!(grid.cell([104.9, 2.0]), 20);
        assert_eq!(grid.cell([110.0, 34.0]), 6 * 21 + 20);
    }

    #[test]
    fn passes_are_binned_by_length_and_direction_and_linked_by_players() {
        let mut p = PassStats::default();
        p.add(Some(3), Some(5), Some(([10.0, 10.0], [25.0, 12.0])));
        p.add(Some(5), Some(3), Some(([25.0, 12.0], [22.0, 40.0])));
        p.add(Some(3), Some(5), None);
        assert_eq!((p.count, p.measured), (3, 2));
        assert_eq!(p.lengths, [0, 1, 1, 0]);
        assert_eq!(p.towards, [1, 0, 1]);
        let links: Vec<_> = p.network.iter().map(|l| (l.from, l.to, l.count)).collect();
        assert_eq!(links, vec![(3, 5, 2), (5, 3, 1)]);
    }

    #[test]
    fn shape_needs_most_of_the_outfield_in_view() {
        let mut t = TeamStats::default();
        t.shape(&[[10.0, 10.0]; 6]);
        assert_eq!(t.shape_frames, 0);
        let line: Vec<[f64; 2]> = (0..8).map(|i| [30.0 + 5.0 * i as f64, 20.0 + 2.0 * i as f64]).collect();
        t.shape(&line);
        assert_eq!((t.shape_frames, t.length_sum, t.width_sum), (1, 35.0, 14.0));
    }
}
