//! proptest properties over random scenarios: conservation, credit limits, settlement at most
//! once, arrivals accounted for, and determinism.

mod common;
use common::*;
use paysim_engine::model::{Status, NONE};
use proptest::prelude::*;
use serde_json::{json, Value};

const MODES: [&str; 5] = ["none", "bilateral", "cycles", "multilateral", "t2"];

fn policy(k: u8) -> Value {
    match k % 4 {
        0 => json!({"type": "Fifo"}),
        1 => json!({"type": "Deadline", "urgency_threshold": 3}),
        2 => json!({"type": "LiquidityAware", "target_buffer": 500, "urgency_threshold": 2}),
        _ => json!({"type": "Splitting", "max_parts": 4, "min_part": 100}),
    }
}

prop_compose! {
    fn scenario()(n in 2usize..6, seed in 0u64..1000, mode in 0usize..5, strict in any::<bool>(),
                  carry in any::<bool>(), drop_expired in any::<bool>(), days in 1u32..3,
                  banks in prop::collection::vec((0i64..3000, 0i64..2000, any::<u8>(), 0.0f64..1.5, any::<bool>()), 6),
                  scheduled in prop::collection::vec((0usize..6, 0usize..6, 1i64..5000, 0u32..20), 0..12))
                  -> Value {
        let agents: Vec<Value> = (0..n).map(|i| {
            let (bal, credit, pk, rate, div) = banks[i];
            json!({"id": format!("B{i}"), "opening_balance": bal, "credit_limit": credit, "policy": policy(pk),
                   "arrival_config": {"rate_per_tick": rate, "distribution": {"type": "LogNormal", "mean_log": 6.0, "std_dev_log": 1.0},
                                      "deadline_offset": 5, "priority": (pk % 11), "divisible": div}})
        }).collect();
        let sched: Vec<Value> = scheduled.iter().filter(|(s, r, _, _)| s % n != r % n)
            .map(|(s, r, a, t)| json!({"sender": format!("B{}", s % n), "receiver": format!("B{}", r % n), "amount": a,
                                       "arrival_tick": t % (10 * days), "priority": (a % 11)}))
            .collect();
        json!({"ticks_per_day": 10, "num_days": days, "rng_seed": seed, "agent_configs": agents, "scheduled_payments": sched,
               "lsm": {"mode": MODES[mode]}, "rtgs": {"queue": if strict {"strict_fifo"} else {"fifo_bypass"}},
               "drop_expired": drop_expired, "end_of_day": {"unsettled": if carry {"carry"} else {"drop"}}})
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_every_tick(cfg in scenario()) {
        let mut o = engine(cfg);
        let total: i64 = balances(&o).iter().sum();
        let mut arrivals = 0u64;
        while !o.is_finished() {
            arrivals += o.tick().unwrap().num_arrivals as u64;
            // Conservation, and no balance below −credit_limit.
            prop_assert_eq!(balances(&o).iter().sum::<i64>(), total);
            for b in o.banks() {
                prop_assert!(b.balance >= -b.credit_limit, "{} at {} < -{}", b.id, b.balance, b.credit_limit);
                prop_assert!(b.min_balance >= -b.credit_limit);
            }
        }
        o.check_invariants().unwrap();
        let ps = o.payments();
        // Every payment in exactly one state; settle tick only when settled; parts sum to parents.
        let originals = ps.iter().filter(|p| p.parent == NONE).count() as u64;
        prop_assert_eq!(originals, arrivals);
        let leaves = ps.iter().filter(|p| p.status != Status::Split).count();
        let settled = ps.iter().filter(|p| p.status == Status::Settled).count();
        let dropped = ps.iter().filter(|p| p.status == Status::Dropped).count();
        let queued = ps.iter().filter(|p| p.is_queued()).count();
        prop_assert_eq!(leaves, settled + dropped + queued);
        for (i, p) in ps.iter().enumerate() {
            prop_assert_eq!(p.settle_tick != NONE, p.status == Status::Settled, "tx {}", i);
            prop_assert_eq!(p.drop_tick != NONE, p.status == Status::Dropped, "tx {}", i);
            if p.status == Status::Split {
                let parts: i64 = ps.iter().filter(|c| c.parent == i as u32).map(|c| c.amount).sum();
                prop_assert_eq!(parts, p.amount);
            }
        }
        // Settled value in the tick log equals the sum of settled amounts.
        let logged: i64 = o.tick_log().value_sent.iter().sum();
        let by_payment: i64 = ps.iter().filter(|p| p.status == Status::Settled).map(|p| p.amount).sum();
        prop_assert_eq!(logged, by_payment);
        // Liquidity used (docs/semantics.md#metrics) is recomputable from the tick log.
        let log = o.tick_log();
        let mut lowest: Vec<i64> = o.banks().iter().map(|b| b.opening_balance).collect();
        for (b, bal) in log.bank.iter().zip(&log.balance) {
            lowest[*b as usize] = lowest[*b as usize].min(*bal);
        }
        let used: i64 = o.banks().iter().zip(&lowest).map(|(b, l)| (b.opening_balance - l).max(0)).sum();
        let metric = paysim_engine::metrics::compute(&o).unwrap().into_iter().find(|m| m.0 == "liquidity_used").unwrap().1;
        prop_assert_eq!(metric, paysim_engine::metrics::MetricValue::Int(used));
        // Run-level counts are per original payment and add up.
        let m = paysim_engine::metrics::compute(&o).unwrap();
        let int = |name: &str| match m.iter().find(|x| x.0 == name).unwrap().1 {
            paysim_engine::metrics::MetricValue::Int(i) => i,
            ref other => panic!("{name}: {other:?}"),
        };
        prop_assert_eq!(int("n_payments") as u64, arrivals);
        prop_assert_eq!(int("n_settled") + int("n_dropped") + int("n_unsettled"), int("n_payments"));
        prop_assert_eq!(int("value_settled"), by_payment);
        let logged_settlements: u64 = o.tick_log().settled.iter().flatten().map(|x| *x as u64).sum();
        prop_assert_eq!(logged_settlements, settled as u64);
    }

    #[test]
    fn same_seed_same_run_and_restore_continues_identically(cfg in scenario(), cut in 0u32..20) {
        let mut a = engine(cfg.clone());
        let mut b = engine(cfg);
        let mut ra = Vec::new();
        while !a.is_finished() { ra.push(a.tick().unwrap()); }
        let mut rb = Vec::new();
        while !b.is_finished() && (b.current_tick() < cut) { rb.push(b.tick().unwrap()); }
        let mut c = paysim_engine::Orchestrator::load_state(&b.save_state().unwrap()).unwrap();
        while !c.is_finished() { rb.push(c.tick().unwrap()); }
        prop_assert_eq!(ra, rb);
        prop_assert_eq!(a.save_state().unwrap(), c.save_state().unwrap());
        prop_assert_eq!(format!("{:?}", a.payments()), format!("{:?}", c.payments()));
        prop_assert_eq!(format!("{:?}", a.tick_log().balance), format!("{:?}", c.tick_log().balance));
    }
}
