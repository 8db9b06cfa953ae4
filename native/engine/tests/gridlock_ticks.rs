//! `gridlock_ticks` counts what the tick log shows (docs/semantics.md#metrics): ticks at whose end
//! Queue 2 holds a payment and in which nothing settled. A queue emptied by expiry or by the close
//! does not make a gridlock tick (issue 8, "Definitions to settle").

mod common;
use common::*;
use paysim_engine::metrics::{compute, MetricValue};
use paysim_engine::Orchestrator;
use proptest::prelude::*;
use serde_json::{json, Value};

fn gridlock_ticks(o: &Orchestrator) -> MetricValue {
    compute(o).unwrap().into_iter().find(|m| m.0 == "gridlock_ticks").unwrap().1
}

/// The count from the tick log alone, as docs/reports.md#recomputing-gridlock_ticks does in SQL.
fn from_tick_log(o: &Orchestrator) -> i64 {
    let log = o.tick_log();
    let mut per_tick = std::collections::BTreeMap::<u32, (u64, u64)>::new();
    for row in 0..log.tick.len() {
        let t = per_tick.entry(log.tick[row]).or_default();
        t.0 += log.queue2_count[row] as u64;
        t.1 += log.settled.iter().map(|means| means[row] as u64).sum::<u64>();
    }
    per_tick.values().filter(|(queued, settled)| *queued > 0 && *settled == 0).count() as i64
}

/// A, with nothing, owes B 100 from tick 0 in one 4-tick day; no LSM, so it waits in Queue 2.
fn stuck(deadline: u32, eod: &str) -> Orchestrator {
    let mut o = engine(json!({"ticks_per_day": 4, "lsm": {"mode": "none"}, "end_of_day": {"unsettled": eod},
        "agent_configs": banks(&[("A", 0, 0), ("B", 0, 0)]),
        "scheduled_payments": [{"sender": "A", "receiver": "B", "amount": 100, "arrival_tick": 0, "deadline_tick": deadline}]}));
    o.run(|| true).unwrap();
    o
}

#[test]
fn a_queue_emptied_by_expiry_ends_the_gridlock_in_that_tick() {
    // Stuck at the end of tick 0; expired at tick 1, so Queue 2 is empty at the end of ticks 1 to 3.
    let o = stuck(1, "drop");
    assert_eq!(gridlock_ticks(&o), MetricValue::Int(1));
}

#[test]
fn a_queue_emptied_by_the_close_ends_the_gridlock_in_that_tick() {
    // Stuck at the end of ticks 0 to 2; dropped at the close of tick 3 (its deadline, tick 3, too).
    let o = stuck(3, "drop");
    assert_eq!(gridlock_ticks(&o), MetricValue::Int(3));
}

#[test]
fn a_payment_carried_over_the_close_stays_stuck() {
    let mut o = engine(json!({"ticks_per_day": 4, "lsm": {"mode": "none"}, "end_of_day": {"unsettled": "carry"},
        "drop_expired": false, "agent_configs": banks(&[("A", 0, 0), ("B", 0, 0)]),
        "scheduled_payments": [{"sender": "A", "receiver": "B", "amount": 100, "arrival_tick": 0, "deadline_tick": 3}]}));
    o.run(|| true).unwrap();
    assert_eq!(gridlock_ticks(&o), MetricValue::Int(4));
}

const MODES: [&str; 5] = ["none", "bilateral", "cycles", "multilateral", "t2"];

prop_compose! {
    /// Short liquidity and deadlines of 0 to 3 ticks, so that Queue 2 is often stuck and often
    /// emptied by expiry or the close.
    fn tight()(n in 2usize..6, seed in 0u64..1000, mode in 0usize..5, carry in any::<bool>(), drop_expired in any::<bool>(),
               days in 1u32..3, offset in 0u32..4, balances in prop::collection::vec(0i64..1500, 6)) -> Value {
        let agents: Vec<Value> = (0..n).map(|i| json!({"id": format!("B{i}"), "opening_balance": balances[i],
            "policy": {"type": "Fifo"},
            "arrival_config": {"rate_per_tick": 0.7, "distribution": {"type": "LogNormal", "mean_log": 6.0, "std_dev_log": 1.0},
                               "deadline_offset": offset}})).collect();
        json!({"ticks_per_day": 8, "num_days": days, "rng_seed": seed, "agent_configs": agents, "lsm": {"mode": MODES[mode]},
               "drop_expired": drop_expired, "end_of_day": {"unsettled": if carry {"carry"} else {"drop"}}})
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn gridlock_ticks_are_recomputed_from_the_tick_log(cfg in tight()) {
        let mut o = engine(cfg);
        while !o.is_finished() {
            o.tick().unwrap();
            prop_assert_eq!(gridlock_ticks(&o), MetricValue::Int(from_tick_log(&o)), "after tick {}", o.current_tick() - 1);
        }
    }
}
