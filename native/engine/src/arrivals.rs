//! Random payment orders: each bank draws its own arrivals from its own RNG stream.
//!
//! Streams are keyed by rng_seed and the bank's id, and a bank's draws depend on nothing but its
//! own arrival config. So changing a policy, the LSM mode, a credit limit or the scheduled
//! payments leaves every bank's random arrivals unchanged: the common random numbers that paired
//! comparisons across a sweep rely on. Receivers are drawn among the other banks in id order, so
//! the order in which the config lists its banks changes nothing either
//! (docs/semantics.md#random-numbers lists what does).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::{AmountDistribution, ArrivalConfig};
use crate::directory::BankDirectory;
use crate::hash::fnv1a64;
use crate::model::{BankIdx, MAX_AMOUNT};
use crate::receivers::{Receivers, SizeTable};
use std::sync::Arc;

/// One bank's RNG stream: ChaCha8 seeded with `rng_seed`, on a stream chosen by the bank id.
pub fn bank_stream(rng_seed: u64, bank_id: &str) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(rng_seed);
    rng.set_stream(fnv1a64(bank_id.as_bytes()));
    rng
}

/// Where a payment came from: the first part of its pair key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Random = 0,
    Scheduled = 1,
    Submitted = 2,
}

/// A payment's pairing key (docs/semantics.md#pair-keys): `origin · 2³² + n`, where `n` is the
/// bank's own count of random orders drawn before this one, the position in the scheduled list,
/// or the sender's count of submissions before this one. Unlike `tx_id`, which numbers every
/// payment and part in creation order, it depends only on the payment's own source, so
/// (sender, pair key) names the same payment in every run that draws or schedules it.
pub fn pair_key(origin: Origin, n: u32) -> i64 {
    ((origin as i64) << 32) | n as i64
}

/// A random payment order before it gets its tx_id.
#[derive(Debug, Clone, PartialEq)]
pub struct Draw {
    pub receiver: BankIdx,
    pub amount: i64,
}

/// The samplers of one bank's arrival config, built once from the config.
#[derive(Debug, Clone)]
pub struct ArrivalSampler {
    rate: f64,
    amount: AmountDistribution,
    receivers: Receivers,
}

impl ArrivalSampler {
    /// `bank` is the sender's config index (its weights were validated against `directory`);
    /// `sizes` every bank's `size`, with their shared table when one exists ([`SizeTable::build`]).
    pub fn new(
        cfg: &ArrivalConfig,
        bank: usize,
        directory: &BankDirectory,
        sizes: &[f64],
        table: Option<&Arc<SizeTable>>,
    ) -> Self {
        let receivers = Receivers::new(cfg, bank, directory, sizes, table);
        ArrivalSampler { rate: cfg.rate_per_tick, amount: cfg.distribution.clone(), receivers }
    }

    /// This tick's payment orders, drawn in a fixed order: count, then per order amount, receiver.
    /// Every receiver draw takes exactly one uniform, so counts and amounts never depend on whom a
    /// bank can pay.
    pub fn draw(&self, rng: &mut ChaCha8Rng, directory: &BankDirectory, out: &mut Vec<Draw>) {
        self.draw_scaled(rng, 1.0, directory, out);
    }

    /// [`ArrivalSampler::draw`] with the Poisson mean multiplied by `factor` (an arrival surge,
    /// docs/semantics.md#scenario-events). Only this bank's stream moves differently, so every
    /// other bank keeps its draws.
    pub fn draw_scaled(&self, rng: &mut ChaCha8Rng, factor: f64, directory: &BankDirectory, out: &mut Vec<Draw>) {
        let n_receivers = self.receivers.count(directory);
        let rate = self.rate * factor;
        if rate <= 0.0 || n_receivers == 0 {
            return;
        }
        let n = poisson(rng, rate);
        for _ in 0..n {
            let raw = match self.amount {
                AmountDistribution::Normal { mean, std_dev } => mean + std_dev * standard_normal(rng),
                AmountDistribution::LogNormal { mean_log, std_dev_log } => {
                    libm::exp(mean_log + std_dev_log * standard_normal(rng))
                }
                AmountDistribution::Uniform { min, max } => min + (max - min) * rng.gen::<f64>(),
                AmountDistribution::Exponential { mean } => -mean * libm::log(open01(rng)),
            };
            // Rounded, at least 1 cent, and capped so sums cannot overflow.
            let amount = (raw.round().clamp(1.0, MAX_AMOUNT as f64)) as i64;
            let u = rng.gen::<f64>();
            let receiver = self.receivers.pick(u, n_receivers, directory);
            out.push(Draw { receiver, amount });
        }
    }
}

// The samplers are written out (not taken from rand_distr) so that every floating-point step is
// IEEE arithmetic or a `libm` function: bit-identical draws on every platform and build.

/// Uniform on (0, 1).
fn open01(rng: &mut ChaCha8Rng) -> f64 {
    loop {
        let u: f64 = rng.gen();
        if u > 0.0 {
            return u;
        }
    }
}

/// Standard normal by Marsaglia's polar method (one value per accepted pair).
fn standard_normal(rng: &mut ChaCha8Rng) -> f64 {
    loop {
        let u = 2.0 * rng.gen::<f64>() - 1.0;
        let v = 2.0 * rng.gen::<f64>() - 1.0;
        let s = u * u + v * v;
        if s > 0.0 && s < 1.0 {
            return u * libm::sqrt(-2.0 * libm::log(s) / s);
        }
    }
}

/// Poisson by Knuth's product of uniforms, in slices of mean ≤ 30 (a sum of independent Poisson
/// counts is Poisson), so `exp(-λ)` never underflows. Arrival rates are small, so this is cheap.
fn poisson(rng: &mut ChaCha8Rng, lambda: f64) -> u64 {
    let mut count = 0;
    let mut remaining = lambda;
    while remaining > 0.0 {
        let slice = remaining.min(30.0);
        remaining -= slice;
        let floor = libm::exp(-slice);
        let mut p = 1.0;
        loop {
            p *= rng.gen::<f64>();
            if p <= floor {
                break;
            }
            count += 1;
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ArrivalConfig;

    fn cfg(weights: Option<Vec<(String, f64)>>) -> ArrivalConfig {
        ArrivalConfig {
            rate_per_tick: 3.0,
            distribution: AmountDistribution::LogNormal { mean_log: 8.0, std_dev_log: 1.0 },
            counterparty_weights: weights,
            receivers_by_size: false,
            deadline_offset: 10,
            priority: 5,
            rtgs_class: None,
            divisible: false,
        }
    }

    fn sampler(cfg: &ArrivalConfig, bank: usize, d: &BankDirectory) -> ArrivalSampler {
        ArrivalSampler::new(cfg, bank, d, &vec![1.0; d.len()], None)
    }

    fn ids() -> BankDirectory {
        BankDirectory::new(["A", "B", "C"])
    }

    fn draws(s: &ArrivalSampler, d: &BankDirectory, seed: u64, id: &str) -> Vec<Draw> {
        let mut rng = bank_stream(seed, id);
        let mut out = Vec::new();
        for _ in 0..50 {
            s.draw(&mut rng, d, &mut out);
        }
        out
    }

    #[test]
    fn samplers_match_their_moments() {
        let mut rng = bank_stream(11, "X");
        let n = 200_000;
        let mean = |f: &mut dyn FnMut(&mut ChaCha8Rng) -> f64, rng: &mut ChaCha8Rng| {
            (0..n).map(|_| f(rng)).sum::<f64>() / n as f64
        };
        assert!((mean(&mut |r| poisson(r, 0.7) as f64, &mut rng) - 0.7).abs() < 0.01);
        assert!((mean(&mut |r| poisson(r, 75.0) as f64, &mut rng) - 75.0).abs() < 0.1);
        assert!(mean(&mut |r| standard_normal(r), &mut rng).abs() < 0.01);
        assert!((mean(&mut |r| standard_normal(r).powi(2), &mut rng) - 1.0).abs() < 0.01);
        assert!((mean(&mut |r| -libm::log(open01(r)), &mut rng) - 1.0).abs() < 0.01);
    }

    #[test]
    fn streams_differ_by_bank_and_repeat_by_seed() {
        let d = ids();
        let s = sampler(&cfg(None), 0, &d);
        let run = |seed, id| draws(&s, &d, seed, id);
        assert_eq!(run(7, "A"), run(7, "A"));
        assert_ne!(run(7, "A"), run(7, "B"));
        assert_ne!(run(7, "A"), run(8, "A"));
    }

    #[test]
    fn zero_weight_receivers_never_drawn_and_never_self() {
        let d = ids();
        let s = sampler(&cfg(Some(vec![("C".into(), 1.0), ("B".into(), 0.0)])), 0, &d);
        let out = draws(&s, &d, 1, "A");
        assert!(!out.is_empty());
        assert!(out.iter().all(|d| d.receiver == 2 && d.amount >= 1));
    }

    #[test]
    fn uniform_weights_reach_every_other_bank() {
        let d = ids();
        let s = sampler(&cfg(None), 1, &d);
        let out = draws(&s, &d, 3, "B");
        assert!(out.iter().any(|d| d.receiver == 0));
        assert!(out.iter().any(|d| d.receiver == 2));
        assert!(out.iter().all(|d| d.receiver != 1));
    }

    /// No weights must draw exactly what weight 1 on every other bank draws: before the table-free
    /// uniform sampler, a bank without weights built that table, and existing streams must keep.
    #[test]
    fn uniform_without_a_table_draws_what_equal_weights_draw() {
        let d = BankDirectory::new(["P", "L", "A", "X", "M", "B", "Q"]);
        for bank in 0..d.len() {
            let others: Vec<(String, f64)> = ["P", "L", "A", "X", "M", "B", "Q"]
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != bank)
                .map(|(_, id)| (id.to_string(), 1.0))
                .collect();
            let uniform = sampler(&cfg(None), bank, &d);
            let table = sampler(&cfg(Some(others)), bank, &d);
            assert_eq!(draws(&uniform, &d, 5, "S"), draws(&table, &d, 5, "S"), "bank {bank}");
        }
    }

    #[test]
    fn weighted_receivers_do_not_depend_on_list_order() {
        let d = BankDirectory::new(["A", "B", "C", "D"]);
        let listed = |ws: &[(&str, f64)]| Some(ws.iter().map(|(k, w)| (k.to_string(), *w)).collect());
        let forward = sampler(&cfg(listed(&[("B", 1.0), ("C", 2.5), ("D", 0.5)])), 0, &d);
        let backward = sampler(&cfg(listed(&[("D", 0.5), ("C", 2.5), ("B", 1.0)])), 0, &d);
        assert_eq!(draws(&forward, &d, 9, "A"), draws(&backward, &d, 9, "A"));
    }

    use proptest::prelude::*;

    fn size() -> impl Strategy<Value = f64> {
        prop_oneof![
            Just(0.0),
            (1u32..50).prop_map(f64::from),
            0.0f64..100.0,
            (1u32..8).prop_map(|k| f64::from(k) * 0.25)
        ]
    }

    proptest! {
        /// By size, through the shared table or (sums that could round) a table per sender, draws
        /// exactly what the same sizes listed as `counterparty_weights` draw.
        #[test]
        fn by_size_draws_what_the_sizes_listed_as_weights_draw(
            sizes in proptest::collection::vec(size(), 2..12),
            seed in 0u64..1000,
        ) {
            let ids: Vec<String> = (0..sizes.len()).map(|i| format!("B{:02}", (i * 7) % sizes.len())).collect();
            prop_assume!(ids.iter().collect::<std::collections::HashSet<_>>().len() == ids.len());
            let d = BankDirectory::new(ids.iter().map(|s| s.as_str()));
            let table = SizeTable::build(&sizes, &d);
            for bank in 0..sizes.len() {
                let listed: Vec<(String, f64)> = ids.iter().zip(&sizes).enumerate()
                    .filter(|(j, _)| *j != bank).map(|(_, (id, s))| (id.clone(), *s)).collect();
                let by_size_cfg = ArrivalConfig { receivers_by_size: true, ..cfg(None) };
                let by_size = ArrivalSampler::new(&by_size_cfg, bank, &d, &sizes, table.as_ref());
                let weighted = ArrivalSampler::new(&cfg(Some(listed)), bank, &d, &sizes, None);
                prop_assert_eq!(draws(&by_size, &d, seed, "S"), draws(&weighted, &d, seed, "S"));
            }
        }
    }
}
