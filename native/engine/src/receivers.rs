//! Whom a bank's random orders go to (docs/semantics.md#random-numbers).
//!
//! Three ways, each an inverse-CDF walk over the other banks in id order with one uniform `u`:
//! uniform (no table), listed `counterparty_weights` (one table per sender), and
//! `receivers_by_size`, where each other bank weighs its `size`. By size is what agent groups
//! expand to (a core of large banks among many small ones). Listed as weights, that is a table of
//! every other bank per sender: O(banks²) to build and hold (1,000 banks: a million weights). By
//! size, all senders share one table of the banks' cumulative sizes, and a sender's walk skips
//! itself by subtracting its own size beyond its position.
//!
//! The shared table must draw exactly what the per-sender table would, so that the two forms of the
//! same weights give the same logs. The per-sender table sums the other banks' weights one by one
//! in id order; the shared one sums every bank and subtracts the sender's. In floating point these
//! agree only when no sum rounds: [`SizeTable::build`] checks that every size is a multiple of one
//! power of two and their total, in those units, is below 2⁵³ (true of integer sizes such as the
//! shipped scenarios'). Otherwise each by-size sender gets its own table, as listed weights do.

use std::sync::Arc;

use crate::config::ArrivalConfig;
use crate::directory::BankDirectory;
use crate::model::BankIdx;

#[derive(Debug, Clone)]
pub enum Receivers {
    /// Every other bank alike. No table (memory stays O(banks) however many banks there are): the
    /// draw is an index into the other banks in id order.
    Uniform { rank: u32 },
    /// The banks of positive weight, in id order, with cumulative weights. Id order, not list or
    /// config order, so that reordering keeps the draws.
    Weighted { receivers: Vec<BankIdx>, cumulative: Vec<f64> },
    /// Every other bank weighted by its size, through the shared table.
    BySize { table: Arc<SizeTable>, rank: u32, own: f64 },
}

/// Every bank's size in id order, summed: shared by all `receivers_by_size` senders.
#[derive(Debug)]
pub struct SizeTable {
    /// Σ of the sizes of the banks up to each position in id order.
    cumulative: Vec<f64>,
    /// Config index of the bank at each position in id order.
    bank: Vec<BankIdx>,
    /// Banks of positive size.
    positive: usize,
    /// The last two positions of positive size: where a draw at the very top lands (the last one
    /// unless it is the sender's own).
    last_positive: [Option<u32>; 2],
}

impl SizeTable {
    /// The shared table of `sizes` (by config index), or `None` when sums of them could round
    /// (then senders build their own tables).
    pub fn build(sizes: &[f64], directory: &BankDirectory) -> Option<Arc<SizeTable>> {
        if !sums_are_exact(sizes) {
            return None;
        }
        let mut by_rank = vec![(0 as BankIdx, 0.0); sizes.len()];
        for (b, &s) in sizes.iter().enumerate() {
            by_rank[directory.rank()[b] as usize] = (b as BankIdx, s);
        }
        let mut total = 0.0;
        let cumulative = by_rank
            .iter()
            .map(|&(_, s)| {
                total += s;
                total
            })
            .collect();
        let mut last_positive = [None; 2];
        for (r, _) in by_rank.iter().enumerate().rev().filter(|(_, (_, s))| *s > 0.0).take(2) {
            last_positive[usize::from(last_positive[0].is_some())] = Some(r as u32);
        }
        Some(Arc::new(SizeTable {
            cumulative,
            bank: by_rank.iter().map(|&(b, _)| b).collect(),
            positive: sizes.iter().filter(|&&s| s > 0.0).count(),
            last_positive,
        }))
    }
}

/// Whether every sum of any of `sizes` is exact in f64: all are integer multiples of 2^e for one e,
/// and their total is below 2⁵³ such units.
fn sums_are_exact(sizes: &[f64]) -> bool {
    // Each positive size as m·2^e with m odd.
    let parts: Vec<(u64, i32)> = sizes
        .iter()
        .filter(|&&s| s > 0.0)
        .map(|&s| {
            let bits = s.to_bits();
            let exp = ((bits >> 52) & 0x7ff) as i32;
            let frac = bits & ((1 << 52) - 1);
            let (m, e) = if exp == 0 { (frac, -1074) } else { (frac | (1 << 52), exp - 1075) };
            (m >> m.trailing_zeros(), e + m.trailing_zeros() as i32)
        })
        .collect();
    let Some(e_min) = parts.iter().map(|p| p.1).min() else { return true };
    let mut total: u128 = 0;
    for (m, e) in parts {
        let shift = (e - e_min) as u32;
        if shift >= 53 {
            return false;
        }
        total += (m as u128) << shift;
        if total >= 1 << 53 {
            return false;
        }
    }
    true
}

impl Receivers {
    /// The receivers of bank `bank` (config index) under `cfg`; `sizes` are every bank's sizes and
    /// `table` their shared table when one exists.
    pub fn new(
        cfg: &ArrivalConfig,
        bank: usize,
        directory: &BankDirectory,
        sizes: &[f64],
        table: Option<&Arc<SizeTable>>,
    ) -> Self {
        let rank = directory.rank()[bank];
        if cfg.receivers_by_size {
            return match table {
                Some(t) => Receivers::BySize { table: Arc::clone(t), rank, own: sizes[bank] },
                None => Self::weighted(
                    sizes.iter().enumerate().filter(|&(b, _)| b != bank).map(|(b, &s)| (b, s)),
                    directory,
                ),
            };
        }
        match &cfg.counterparty_weights {
            None => Receivers::Uniform { rank },
            // Banks not listed get weight 0. The ids are a mapping's keys, so each is listed once.
            Some(ws) => {
                Self::weighted(ws.iter().map(|(id, w)| (directory.index_of(id).expect("validated"), *w)), directory)
            }
        }
    }

    fn weighted(weights: impl Iterator<Item = (usize, f64)>, directory: &BankDirectory) -> Self {
        let mut listed: Vec<(u32, BankIdx, f64)> =
            weights.filter(|(_, w)| *w > 0.0).map(|(b, w)| (directory.rank()[b], b as BankIdx, w)).collect();
        listed.sort_unstable_by_key(|&(rank, _, _)| rank);
        let mut total = 0.0;
        let cumulative = listed
            .iter()
            .map(|&(_, _, w)| {
                total += w;
                total
            })
            .collect();
        Receivers::Weighted { receivers: listed.iter().map(|&(_, b, _)| b).collect(), cumulative }
    }

    /// How many banks the sender can pay.
    pub fn count(&self, directory: &BankDirectory) -> usize {
        match self {
            Receivers::Uniform { .. } => directory.len() - 1,
            Receivers::Weighted { receivers, .. } => receivers.len(),
            Receivers::BySize { table, own, .. } => table.positive - usize::from(*own > 0.0),
        }
    }

    /// The receiver that the uniform `u` ∈ [0, 1) picks; `n` is [`Receivers::count`] (> 0).
    pub fn pick(&self, u: f64, n: usize, directory: &BankDirectory) -> BankIdx {
        match self {
            // ⌊u·(n−1)⌋: the index an inverse-CDF walk over cumulative weights 1, 2, …, n−1
            // finds, so no weights draw exactly what weight 1 on every other bank draws.
            Receivers::Uniform { rank } => directory.nth_other(((u * n as f64) as usize).min(n - 1), *rank),
            Receivers::Weighted { receivers, cumulative } => {
                let x = u * cumulative[n - 1];
                receivers[cumulative.partition_point(|c| *c <= x).min(n - 1)]
            }
            Receivers::BySize { table, rank, own } => {
                let (c, r) = (&table.cumulative, *rank as usize);
                let x = u * (c[c.len() - 1] - own);
                // Below the sender the sums are the per-sender table's; beyond it, less its own
                // size (exact: see the module documentation). The first sum above x wins.
                let below = c[..r].partition_point(|s| *s <= x);
                let at = match below < r {
                    true => Some(below),
                    false => Some(r + 1 + c[r + 1..].partition_point(|s| *s - own <= x)).filter(|&p| p < c.len()),
                };
                // A draw at the very top (u·total rounding up to total) takes the last receiver.
                let top = || table.last_positive.into_iter().flatten().find(|&p| p != *rank).expect("n > 0") as usize;
                table.bank[at.unwrap_or_else(top)]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_sums_are_told_from_rounding_ones() {
        assert!(sums_are_exact(&[20.0, 1.0, 1.0, 0.0]));
        assert!(sums_are_exact(&[0.5, 2.25, 1e6]));
        assert!(sums_are_exact(&[]));
        assert!(!sums_are_exact(&[0.1, 0.2]));
        assert!(!sums_are_exact(&[1e20, 1.0]));
        assert!(sums_are_exact(&[2f64.powi(52); 3]), "3·2⁵² sums exactly");
        assert!(!sums_are_exact(&[2f64.powi(53), 1.0]));
    }
}
