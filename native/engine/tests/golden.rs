//! Golden stream: a fixed config and seed must draw exactly these payments on every platform and
//! in every build (the Python extension checks the same digest in tests/engine/test_engine_golden.py).

mod common;
use common::*;
use paysim_engine::hash::Fnv1a;
use serde_json::json;

/// The config both this test and the Python one use.
pub fn golden_config() -> serde_json::Value {
    let dists = [
        json!({"type": "Normal", "mean": 5000.0, "std_dev": 2000.0}),
        json!({"type": "LogNormal", "mean_log": 8.0, "std_dev_log": 1.5}),
        json!({"type": "Uniform", "min": 10.0, "max": 900.0}),
        json!({"type": "Exponential", "mean": 3000.0}),
    ];
    let agents: Vec<_> = dists
        .iter()
        .enumerate()
        .map(|(i, d)| {
            json!({
        "id": format!("G{i}"), "opening_balance": 1_000_000, "credit_limit": 0, "policy": {"type": "Fifo"},
        "arrival_config": {"rate_per_tick": 0.5 + i as f64 * 12.0, "distribution": d}})
        })
        .collect();
    json!({"ticks_per_day": 50, "num_days": 2, "rng_seed": 20261121, "agent_configs": agents})
}

/// FNV-1a over (sender, receiver, amount, arrival_tick) of every payment, in tx order.
pub fn digest(o: &paysim_engine::Orchestrator) -> u64 {
    let mut h = Fnv1a::new();
    for p in o.payments() {
        for x in [p.sender as i64, p.receiver as i64, p.amount, p.arrival_tick as i64] {
            h = h.write(&x.to_le_bytes());
        }
    }
    h.finish()
}

pub const GOLDEN_COUNT: usize = 7475;
pub const GOLDEN_DIGEST: u64 = 15602740869360011577;

#[test]
fn golden_payment_stream() {
    let mut o = engine(golden_config());
    o.run(|| true).unwrap();
    assert_eq!(o.payments().len(), GOLDEN_COUNT);
    assert_eq!(digest(&o), GOLDEN_DIGEST);
}
