//! proptest properties with deferred crediting, the close with borrowing and scenario events
//! switched on at random: conservation (injections counted), credit lines (as events set them,
//! beyond them only by what the central bank lent), and settlement at most once.

mod common;
use common::*;
use paysim_engine::model::{Status, NONE};
use proptest::prelude::*;
use serde_json::{json, Value};

const MODES: [&str; 5] = ["none", "bilateral", "cycles", "multilateral", "t2"];
const CLOSES: [&str; 3] = ["drop", "carry", "borrow"];

prop_compose! {
    fn scenario()(n in 2usize..6, seed in 0u64..1000, mode in 0usize..5, strict in any::<bool>(),
                  close in 0usize..3, deferred in any::<bool>(), days in 1u32..3,
                  banks in prop::collection::vec((0i64..3000, 0i64..2000, 0.0f64..1.5), 6),
                  events in prop::collection::vec((any::<u8>(), 0usize..6, 0usize..6, 0u32..40, 0u32..40, 0i64..10_000), 0..6))
                  -> (Value, Vec<Value>) {
        let agents: Vec<Value> = (0..n).map(|i| {
            let (bal, credit, rate) = banks[i];
            json!({"id": format!("B{i}"), "opening_balance": bal, "credit_limit": credit, "policy": {"type": "Fifo"},
                   "arrival_config": {"rate_per_tick": rate, "distribution": {"type": "LogNormal", "mean_log": 6.0, "std_dev_log": 1.0},
                                      "deadline_offset": 5}})
        }).collect();
        let events: Vec<Value> = events.into_iter().map(|e| event(n, 10 * days, e)).collect();
        let cfg = json!({"ticks_per_day": 10, "num_days": days, "rng_seed": seed, "agent_configs": agents,
               "lsm": {"mode": MODES[mode]},
               "rtgs": {"queue": if strict {"strict_fifo"} else {"fifo_bypass"}, "crediting": if deferred {"deferred"} else {"immediate"}},
               "end_of_day": {"unsettled": CLOSES[close]}, "events": events});
        (cfg, events)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_with_events(scenario in scenario()) {
        let (cfg, events) = scenario;
        let mut o = engine(cfg);
        let mut money: i64 = balances(&o).iter().sum();
        while !o.is_finished() {
            let now = o.current_tick();
            money += events.iter().filter(|e| e["tick"] == json!(now) && e.get("from").is_none() && e["type"] == "transfer")
                .map(|e| e["amount"].as_i64().unwrap()).sum::<i64>();
            o.tick().unwrap();
            prop_assert_eq!(balances(&o).iter().sum::<i64>(), money);
            for b in o.banks() {
                prop_assert!(b.min_headroom >= 0, "{} paid beyond its line: {}", b.id, b.min_headroom);
            }
        }
        o.check_invariants().unwrap();
        let ps = o.payments();
        let settled_log: u64 = o.tick_log().settled.iter().flatten().map(|x| *x as u64).sum();
        prop_assert_eq!(settled_log, ps.iter().filter(|p| p.status == Status::Settled).count() as u64);
        for (i, p) in ps.iter().enumerate() {
            prop_assert_eq!(p.settle_tick != NONE, p.status == Status::Settled, "tx {}", i);
        }
        let logged: i64 = o.tick_log().value_sent.iter().sum();
        prop_assert_eq!(logged, ps.iter().filter(|p| p.status == Status::Settled).map(|p| p.amount).sum::<i64>());
    }

    #[test]
    fn restore_continues_identically_with_events(scenario in scenario(), cut in 0u32..20) {
        let (cfg, _) = scenario;
        let (mut a, mut b) = (engine(cfg.clone()), engine(cfg));
        while !a.is_finished() { a.tick().unwrap(); }
        while !b.is_finished() && b.current_tick() < cut { b.tick().unwrap(); }
        let mut c = paysim_engine::Orchestrator::load_state(&b.save_state().unwrap()).unwrap();
        while !c.is_finished() { c.tick().unwrap(); }
        prop_assert_eq!(a.save_state().unwrap(), c.save_state().unwrap());
    }
}
