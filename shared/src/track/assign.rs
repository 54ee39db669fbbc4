//! Minimum-cost assignment with a cap: pairs above `max_cost` are left unassigned.

const INFEASIBLE: f64 = 1e6;

/// `cost[r * cols + c]`; `None` entries can never be paired. Returns (row, col) pairs.
pub fn assign(rows: usize, cols: usize, cost: &[Option<f64>], max_cost: f64) -> Vec<(usize, usize)> {
    if rows == 0 || cols == 0 {
        return Vec::new();
    }
    let dense: Vec<f64> = cost.iter().map(|c| c.filter(|c| *c <= max_cost).unwrap_or(INFEASIBLE)).collect();
    let Ok((r, c)) = lsap::solve(rows, cols, &dense, false) else { return Vec::new() };
    r.into_iter().zip(c).filter(|&(r, c)| dense[r * cols + c] < INFEASIBLE).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_minimises_total_cost_and_skips_capped_pairs() {
        // Greedy would take (0,0)=0.1 and leave row 1 with 0.9; optimal crosses over.
        let cost = [Some(0.1), Some(0.2), Some(0.3), Some(0.9)];
        let mut pairs = assign(2, 2, &cost, 1.0);
        pairs.sort();
        assert_eq!(pairs, vec![(0, 1), (1, 0)]);
        assert_eq!(assign(1, 2, &[Some(2.0), None], 1.0), vec![]);
    }
}
