//! Golden stream: a fixed config and seed must draw exactly these payments on every platform and
//! in every build; and golden settlements: per LSM mode, a gridlock-prone config must settle exactly
//! these payments at these ticks (the Python extension checks the same digests in
//! tests/engine/test_engine_golden.py).

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

/// A gridlock-prone stream (six banks holding about one payment's worth of liquidity, unsettled
/// payments carried to the next day) under LSM `mode`. Variant 0 runs `fifo_bypass`; variant 1
/// `strict_fifo`; variant 2 the T2 rules: `rtgs.queue: t2`, classes, limits, reservations and the
/// LSM offsetting urgent payments. The Python test uses the same configs.
pub fn settlement_config(mode: &str, variant: usize) -> serde_json::Value {
    let classes = [json!(null), json!("urgent"), json!(null), json!("highly_urgent"), json!(null), json!("normal")];
    let agents: Vec<_> = (0..6)
        .map(|i| {
            let mut a = json!({
                "id": format!("S{i}"), "opening_balance": 2_000 + 700 * i, "credit_limit": 1_500, "policy": {"type": "Fifo"},
                "arrival_config": {"rate_per_tick": 0.4 + 0.1 * i as f64, "priority": (i * 3) % 10,
                    "distribution": {"type": "Normal", "mean": 5000.0, "std_dev": 2000.0}}});
            if variant == 2 {
                a["arrival_config"]["rtgs_class"] = classes[i].clone();
                a["limits"] = json!({"bilateral": {format!("S{}", (i + 1) % 6): 9_000}, "multilateral": 20_000});
                a["reservations"] = json!({"highly_urgent": 300 * (i as i64 % 3), "urgent": 500});
            }
            a
        })
        .collect();
    let queue = ["fifo_bypass", "strict_fifo", "t2"][variant];
    json!({"ticks_per_day": 50, "num_days": 2, "rng_seed": 20261122, "agent_configs": agents,
           "lsm": {"mode": mode, "include_urgent": variant == 2}, "rtgs": {"queue": queue},
           "end_of_day": {"unsettled": "carry"}})
}

/// FNV-1a over (status, settled_via, settle_tick or -1) of every payment in tx order, then every
/// bank's final balance: what settlement decided, and when.
pub fn settlement_digest(o: &paysim_engine::Orchestrator) -> u64 {
    let mut h = Fnv1a::new();
    for p in o.payments() {
        let tick = if settled(p) { p.settle_tick as i64 } else { -1 };
        for x in [p.status as i64, p.settled_via as i64, tick] {
            h = h.write(&x.to_le_bytes());
        }
    }
    for b in o.banks() {
        h = h.write(&b.balance.to_le_bytes());
    }
    h.finish()
}

/// Settlement digests of `settlement_config` per (mode, variant). `bilateral`, `multilateral` and
/// `t2_classic` are the digests main's engine gave before issue 10 (`t2_classic` those of the
/// old `t2`): the new `t2` must leave them byte-identical. `t2` is the new sequence's.
pub const SETTLEMENT_GOLDEN: &[(&str, [u64; 3])] = &[
    ("bilateral", [2428973569496551606, 1476583610892533238, 931467014772200232]),
    ("multilateral", [16924957586113054572, 15673806971220974638, 4783511577291265630]),
    ("t2_classic", [2428973569496551606, 15673806971220974638, 14908729774947039904]),
    ("t2", [5393059426526859939, 15673806971220974638, 6020317794158715506]),
];

#[test]
fn golden_settlement_per_lsm_mode() {
    for (mode, digests) in SETTLEMENT_GOLDEN {
        for (variant, expected) in digests.iter().enumerate() {
            let mut o = engine(settlement_config(mode, variant));
            o.run(|| true).unwrap();
            assert_eq!(settlement_digest(&o), *expected, "{mode}, variant {variant}");
        }
    }
}
