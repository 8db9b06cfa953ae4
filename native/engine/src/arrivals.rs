//! Random payment orders: each bank draws its own arrivals from its own RNG stream.
//!
//! Streams are keyed by rng_seed and the bank's id, and a bank's draws depend on nothing but its
//! own arrival config. So changing a policy, the LSM mode, a credit limit or the scheduled
//! payments leaves every bank's random arrivals unchanged: the common random numbers that paired
//! comparisons across a sweep rely on.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::config::{AmountDistribution, ArrivalConfig};
use crate::hash::fnv1a64;
use crate::model::{BankIdx, MAX_AMOUNT};

/// One bank's RNG stream: ChaCha8 seeded with `rng_seed`, on a stream chosen by the bank id.
pub fn bank_stream(rng_seed: u64, bank_id: &str) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(rng_seed);
    rng.set_stream(fnv1a64(bank_id.as_bytes()));
    rng
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
    /// Receivers and cumulative weights, for inverse-CDF sampling.
    receivers: Vec<BankIdx>,
    cumulative: Vec<f64>,
}

impl ArrivalSampler {
    /// `bank` is the sender; `bank_ids` all ids in config order (weights were validated).
    pub fn new(cfg: &ArrivalConfig, bank: usize, bank_ids: &[String]) -> Self {
        let weights: Option<std::collections::HashMap<&str, f64>> =
            cfg.counterparty_weights.as_ref().map(|ws| ws.iter().map(|(k, w)| (k.as_str(), *w)).collect());
        let mut receivers = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0.0;
        for (j, id) in bank_ids.iter().enumerate() {
            if j == bank {
                continue;
            }
            // Banks not listed get weight 0; no weights at all means uniform.
            let w = match &weights {
                None => 1.0,
                Some(ws) => ws.get(id.as_str()).copied().unwrap_or(0.0),
            };
            if w > 0.0 {
                total += w;
                receivers.push(j as BankIdx);
                cumulative.push(total);
            }
        }
        ArrivalSampler { rate: cfg.rate_per_tick, amount: cfg.distribution.clone(), receivers, cumulative }
    }

    /// This tick's payment orders, drawn in a fixed order: count, then per order amount, receiver.
    pub fn draw(&self, rng: &mut ChaCha8Rng, out: &mut Vec<Draw>) {
        if self.rate <= 0.0 || self.receivers.is_empty() {
            return;
        }
        let n = poisson(rng, self.rate);
        let total = *self.cumulative.last().expect("non-empty");
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
            let u = rng.gen::<f64>() * total;
            let k = self.cumulative.partition_point(|c| *c <= u).min(self.receivers.len() - 1);
            out.push(Draw { receiver: self.receivers[k], amount });
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
            deadline_offset: 10,
            priority: 5,
            divisible: false,
        }
    }

    fn ids() -> Vec<String> {
        ["A", "B", "C"].iter().map(|s| s.to_string()).collect()
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
        let s = ArrivalSampler::new(&cfg(None), 0, &ids());
        let run = |seed, id| {
            let mut rng = bank_stream(seed, id);
            let mut out = Vec::new();
            for _ in 0..20 {
                s.draw(&mut rng, &mut out);
            }
            out
        };
        assert_eq!(run(7, "A"), run(7, "A"));
        assert_ne!(run(7, "A"), run(7, "B"));
        assert_ne!(run(7, "A"), run(8, "A"));
    }

    #[test]
    fn zero_weight_receivers_never_drawn_and_never_self() {
        let s = ArrivalSampler::new(&cfg(Some(vec![("C".into(), 1.0), ("B".into(), 0.0)])), 0, &ids());
        let mut rng = bank_stream(1, "A");
        let mut out = Vec::new();
        for _ in 0..200 {
            s.draw(&mut rng, &mut out);
        }
        assert!(!out.is_empty());
        assert!(out.iter().all(|d| d.receiver == 2 && d.amount >= 1));
    }

    #[test]
    fn uniform_weights_reach_every_other_bank() {
        let s = ArrivalSampler::new(&cfg(None), 1, &ids());
        let mut rng = bank_stream(3, "B");
        let mut out = Vec::new();
        for _ in 0..100 {
            s.draw(&mut rng, &mut out);
        }
        assert!(out.iter().any(|d| d.receiver == 0));
        assert!(out.iter().any(|d| d.receiver == 2));
        assert!(out.iter().all(|d| d.receiver != 1));
    }
}
