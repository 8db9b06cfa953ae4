//! proptest properties of whole runs under `lsm.mode: optimal` (and of other modes with
//! `lsm.measure_optimum`), on random multi-day scenarios with the T2 rules switched on at random:
//! no balance below −credit_limit, conservation, every limit held, settlement at most once, and a
//! saved state that continues with the same payments and the same solver counts.

mod common;
use common::*;
use paysim_engine::metrics::{compute, MetricValue};
use paysim_engine::model::{Status, NONE};
use proptest::prelude::*;
use serde_json::{json, Value};

const QUEUES: [&str; 3] = ["fifo_bypass", "strict_fifo", "t2"];
const CLASSES: [Option<&str>; 4] = [None, Some("highly_urgent"), Some("urgent"), Some("normal")];
const MODES: [&str; 3] = ["optimal", "optimal", "t2"];

/// Per bank: balance, credit, limit towards the next bank, multilateral limit, reservations.
type BankRules = (i64, i64, Option<i64>, Option<i64>, Option<(i64, i64)>);

fn bank_rules() -> impl Strategy<Value = BankRules> {
    (
        0i64..3000,
        0i64..1000,
        prop::option::weighted(0.3, 0i64..2000),
        prop::option::weighted(0.3, 0i64..3000),
        prop::option::weighted(0.3, (0i64..800, 0i64..800)),
    )
}

fn agent(
    i: usize,
    n: usize,
    (bal, credit, bilateral, multilateral, reserve): BankRules,
    rate: (f64, u8, usize),
) -> Value {
    let mut a = json!({"id": format!("B{i}"), "opening_balance": bal, "credit_limit": credit, "policy": {"type": "Fifo"},
        "arrival_config": {"rate_per_tick": rate.0, "deadline_offset": 6, "priority": rate.1, "rtgs_class": CLASSES[rate.2],
            "distribution": {"type": "LogNormal", "mean_log": 6.0, "std_dev_log": 1.0}}});
    if bilateral.is_some() || multilateral.is_some() {
        let mut limits = json!({});
        if let Some(x) = bilateral {
            limits["bilateral"] = json!({format!("B{}", (i + 1) % n): x});
        }
        if let Some(x) = multilateral {
            limits["multilateral"] = json!(x);
        }
        a["limits"] = limits;
    }
    if let Some((hu, u)) = reserve {
        a["reservations"] = json!({"highly_urgent": hu, "urgent": u});
    }
    a
}

prop_compose! {
    fn scenario()(n in 2usize..7, seed in 0u64..1000, mode in 0usize..3, queue in 0usize..3,
                  include_urgent in prop::option::of(any::<bool>()), carry in any::<bool>(), deferred in any::<bool>(),
                  measure in any::<bool>(), days in 1u32..4,
                  banks in prop::collection::vec(bank_rules(), 6),
                  rates in prop::collection::vec((0.2f64..2.0, 0u8..11, 0usize..4), 6))
                  -> Value {
        let agents: Vec<Value> = (0..n).map(|i| agent(i, n, banks[i], rates[i])).collect();
        json!({"ticks_per_day": 8, "num_days": days, "rng_seed": seed, "agent_configs": agents,
               "lsm": {"mode": MODES[mode], "include_urgent": include_urgent, "measure_optimum": measure || mode == 2},
               "rtgs": {"queue": QUEUES[queue], "crediting": if deferred {"deferred"} else {"immediate"}},
               "end_of_day": {"unsettled": if carry {"carry"} else {"drop"}}})
    }
}

fn metric(o: &paysim_engine::Orchestrator, name: &str) -> MetricValue {
    compute(o).unwrap().into_iter().find(|m| m.0 == name).unwrap().1
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn optimal_runs_keep_every_invariant(cfg in scenario()) {
        let mut o = engine(cfg);
        let total: i64 = balances(&o).iter().sum();
        let mut settlements = 0u64;
        while !o.is_finished() {
            settlements += o.tick().unwrap().num_settlements as u64;
            prop_assert_eq!(balances(&o).iter().sum::<i64>(), total);
            for b in o.banks() {
                prop_assert!(b.min_balance >= -b.credit_limit, "{} reached {}", b.id, b.min_balance);
            }
        }
        // Conservation per bank, limits, lowest headroom and queue counts (docs/semantics.md#invariants).
        o.check_invariants().unwrap();
        let settled = o.payments().iter().filter(|p| p.status == Status::Settled).count() as u64;
        prop_assert_eq!(settlements, settled, "a payment settled twice, or a settlement went uncounted");
        for p in o.payments() {
            prop_assert_eq!(p.settle_tick != NONE, p.status == Status::Settled);
        }
        // Small queues: every solve is proven optimal, so the share is exact and at most 1.
        prop_assert_eq!(metric(&o, "lsm_optimal_time_limited"), MetricValue::Int(0));
        if let MetricValue::Float(share) = metric(&o, "lsm_optimum_share") {
            prop_assert!((0.0..=1.0).contains(&share), "share {}", share);
        }
    }

    #[test]
    fn a_restored_optimal_run_continues_identically(cfg in scenario(), cut in 0u32..24) {
        let mut whole = engine(cfg.clone());
        whole.run(|| true).unwrap();
        let mut first = engine(cfg);
        while first.current_tick() < cut.min(first.total_ticks() as u32) {
            first.tick().unwrap();
        }
        let mut restored = paysim_engine::Orchestrator::load_state(&first.save_state().unwrap()).unwrap();
        restored.run(|| true).unwrap();
        let outcome = |o: &paysim_engine::Orchestrator| {
            o.payments().iter().map(|p| (p.status, p.settle_tick, p.settled_via)).collect::<Vec<_>>()
        };
        prop_assert_eq!(outcome(&whole), outcome(&restored));
        prop_assert_eq!(whole.lsm_optimal(), restored.lsm_optimal());
        prop_assert_eq!(metric(&whole, "lsm_optimum_share"), metric(&restored, "lsm_optimum_share"));
    }
}
