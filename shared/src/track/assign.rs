//! Minimum-cost assignment with a cap: pairs above `max_cost` are left unassigned.

const INFEASIBLE: f64 = 1e6;

/// `cost[r * cols + c]`; `None` entries can never be paired. Returns (row, col) pairs.
pub fn assign(rows: usize, cols: usize, cost: &[Option<f64>], max_cost: f64) -> Vec<(usize, usize)> {
    if rows == 0 || cols == 0 {
        return Vec::new();
    }
    let feasible = |r: usize, c: usize| cost[r * cols + c].is_some_and(|v| v <= max_cost);
    // Only rows and columns with some feasible pair enter the solver: it is cubic in their number.
    let live_rows: Vec<usize> = (0..rows).filter(|&r| (0..cols).any(|c| feasible(r, c))).collect();
    let live_cols: Vec<usize> = (0..cols).filter(|&c| (0..rows).any(|r| feasible(r, c))).collect();
    if live_rows.is_empty() {
        return Vec::new();
    }
    let dense: Vec<f64> = live_rows
        .iter()
        .flat_map(|&r| live_cols.iter().map(move |&c| (r, c)))
        .map(|(r, c)| if feasible(r, c) { cost[r * cols + c].unwrap_or(INFEASIBLE) } else { INFEASIBLE })
        .collect();
    let Ok((rs, cs)) = lsap::solve(live_rows.len(), live_cols.len(), &dense, false) else { return Vec::new() };
    rs.into_iter()
        .zip(cs)
        .filter(|&(r, c)| dense[r * live_cols.len() + c] < INFEASIBLE)
        .map(|(r, c)| (live_rows[r], live_cols[c]))
        .collect()
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
