//! `tick_log: {every: k}` and `{at: day_end}` (docs/semantics.md#tick-log-sampling): the log has
//! rows only at the logged ticks, its levels are those of the full log at those ticks, its flows
//! sum every tick since the bank's previous row (so per-day sums are unchanged), and nothing else
//! of the run (payments, metrics, tick results, saved state continued) depends on the option.

mod common;
use common::*;
use paysim_engine::log::{transaction_columns, TickLog};
use paysim_engine::metrics::compute;
use paysim_engine::Orchestrator;
use proptest::prelude::*;
use serde_json::{json, Value};

const MODES: [&str; 5] = ["none", "bilateral", "t2", "t2_classic", "multilateral"];
const POLICIES: [&str; 3] = ["Fifo", "Deadline", "Splitting"];
const EOD: [&str; 3] = ["drop", "carry", "borrow"];

prop_compose! {
    /// Tight, varied days: short deadlines, credit, splits, carry-over and borrowing at the close,
    /// so every flow column (settled by each means, every cost component) moves.
    fn scenario()(n in 2usize..6, seed in 0u64..10_000, mode in 0usize..5, policy in 0usize..3,
                  tpd in 1u32..13, days in 1u32..4, eod in 0usize..3, offset in 0u32..6,
                  balances in prop::collection::vec(0i64..3000, 6), credit in 0i64..500) -> Value {
        let policy = match POLICIES[policy] {
            "Deadline" => json!({"type": "Deadline", "urgency_threshold": 2}),
            "Splitting" => json!({"type": "Splitting", "max_parts": 3, "min_part": 50}),
            _ => json!({"type": "Fifo"}),
        };
        let agents: Vec<Value> = (0..n).map(|i| json!({"id": format!("B{i}"), "opening_balance": balances[i],
            "credit_limit": credit, "policy": policy,
            "arrival_config": {"rate_per_tick": 0.8, "distribution": {"type": "LogNormal", "mean_log": 6.0, "std_dev_log": 1.0},
                               "deadline_offset": offset, "divisible": i % 2 == 0}})).collect();
        json!({"ticks_per_day": tpd, "num_days": days, "rng_seed": seed, "agent_configs": agents,
               "lsm": {"mode": MODES[mode]}, "end_of_day": {"unsettled": EOD[eod]}})
    }
}

fn tick_log_option() -> impl Strategy<Value = Value> {
    prop_oneof![(1u32..16).prop_map(|k| json!({"every": k})), Just(json!({"at": "day_end"}))]
}

fn run(mut cfg: Value, tick_log: Option<&Value>) -> Orchestrator {
    if let Some(t) = tick_log {
        cfg["tick_log"] = t.clone();
    }
    let mut o = engine(cfg);
    o.run(|| true).unwrap();
    o
}

/// Every metric but the wall time, which differs between any two runs.
fn metrics(o: &Orchestrator) -> Vec<(&'static str, String)> {
    let all = compute(o).unwrap().into_iter().filter(|(name, _)| *name != "engine_seconds");
    all.map(|(name, v)| (name, format!("{v:?}"))).collect()
}

/// The flow columns of row `r`: values sent and received, settled by each means (integers).
fn int_flows(log: &TickLog, r: usize) -> Vec<i64> {
    let mut out = vec![log.value_sent[r], log.value_received[r]];
    out.extend(log.settled.iter().map(|c| c[r] as i64));
    out
}

/// The level columns of row `r`: as at the end of its tick.
fn levels(log: &TickLog, r: usize) -> Vec<i64> {
    vec![
        log.balance[r],
        log.credit_used[r],
        log.queue1_count[r] as i64,
        log.queue1_value[r],
        log.queue2_count[r] as i64,
        log.queue2_value[r],
    ]
}

/// Checks `sampled` against `full` row by row: same levels at each logged tick, flows summed over
/// the ticks since the previous logged tick of the same day; returns the logged ticks.
fn check_against_full(full: &TickLog, sampled: &TickLog, n: usize, tpd: u32) -> Vec<u32> {
    assert_eq!(full.len() % n, 0);
    assert_eq!(sampled.len() % n, 0);
    let mut logged = Vec::new();
    let mut since = 0u32; // first tick a sampled row covers
    for chunk in 0..sampled.len() / n {
        let t = sampled.tick[chunk * n];
        assert!(t >= since, "rows in tick order");
        logged.push(t);
        for b in 0..n {
            let r = chunk * n + b;
            assert_eq!((sampled.tick[r], sampled.bank[r] as usize), (t, b));
            let f = t as usize * n + b;
            assert_eq!(levels(sampled, r), levels(full, f), "levels of bank {b} at tick {t}");
            let covered: Vec<usize> = (since..=t).map(|u| u as usize * n + b).collect();
            let mut sums = vec![0i64; int_flows(full, 0).len()];
            for &fr in &covered {
                sums.iter_mut().zip(int_flows(full, fr)).for_each(|(s, x)| *s += x);
            }
            assert_eq!(int_flows(sampled, r), sums, "flows of bank {b} over ticks {since}..={t}");
            for c in 0..full.costs.len() {
                let sum: f64 = covered.iter().map(|&fr| full.costs[c][fr]).sum();
                let got = sampled.costs[c][r];
                assert!((got - sum).abs() <= 1e-9 * sum.abs().max(1.0), "cost {c} of bank {b}: {got} vs {sum}");
            }
        }
        assert_eq!(t / tpd, since / tpd, "a row never covers two days");
        since = t + 1;
    }
    assert_eq!(since as usize, full.len() / n, "the run's last tick is logged");
    logged
}

/// Per (day, bank) sums of the integer flows: equal in every log of the same run.
fn per_day(log: &TickLog, tpd: u32) -> std::collections::BTreeMap<(u32, u32), Vec<i64>> {
    let mut out = std::collections::BTreeMap::<(u32, u32), Vec<i64>>::new();
    for r in 0..log.len() {
        let sums = out.entry((log.tick[r] / tpd, log.bank[r])).or_insert_with(|| vec![0; int_flows(log, 0).len()]);
        sums.iter_mut().zip(int_flows(log, r)).for_each(|(s, x)| *s += x);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

    #[test]
    fn a_sampled_log_sums_the_full_one_and_changes_nothing_else(cfg in scenario(), option in tick_log_option()) {
        let (n, tpd) = (cfg["agent_configs"].as_array().unwrap().len(), cfg["ticks_per_day"].as_u64().unwrap() as u32);
        let full = run(cfg.clone(), None);
        let sampled = run(cfg.clone(), Some(&option));
        let logged = check_against_full(full.tick_log(), sampled.tick_log(), n, tpd);
        let total = full.total_ticks() as u32;
        let expected: Vec<u32> = match option["every"].as_u64() {
            Some(k) => (0..total).filter(|t| (t % tpd + 1) % k as u32 == 0 || t % tpd + 1 == tpd).collect(),
            None => (0..total).filter(|t| t % tpd + 1 == tpd).collect(),
        };
        prop_assert_eq!(logged, expected);
        prop_assert_eq!(per_day(sampled.tick_log(), tpd), per_day(full.tick_log(), tpd));
        prop_assert!(sampled.tick_log().pending.is_zero());
        prop_assert_eq!(metrics(&sampled), metrics(&full));
        prop_assert_eq!(transaction_columns(sampled.payments()), transaction_columns(full.payments()));
        prop_assert_eq!(sampled.event_log().columns(), full.event_log().columns());
    }

    #[test]
    fn a_state_saved_between_logged_ticks_continues_to_the_same_log(cfg in scenario(), option in tick_log_option(),
                                                                    stop in 0u64..40) {
        let mut cfg = cfg;
        cfg["tick_log"] = option;
        let straight = run(cfg.clone(), None);
        let mut first = engine(cfg);
        for _ in 0..stop.min(first.total_ticks() - 1) {
            first.tick().unwrap();
        }
        let mut resumed = Orchestrator::load_state(&first.save_state().unwrap()).unwrap();
        resumed.run(|| true).unwrap();
        prop_assert_eq!(resumed.tick_log().columns(), straight.tick_log().columns());
        prop_assert_eq!(metrics(&resumed), metrics(&straight));
    }
}

#[test]
fn every_1_is_the_default_log_bit_for_bit() {
    let cfg = json!({"ticks_per_day": 7, "num_days": 2, "agent_configs": banks(&[("A", 300, 100), ("B", 50, 0), ("C", 0, 0)]),
        "scheduled_payments": [pay("A", "B", 200), pay("B", "C", 120), pay("C", "A", 90)]});
    let default = run(cfg.clone(), None);
    let every_1 = run(cfg, Some(&json!({"every": 1})));
    assert_eq!(default.tick_log().columns(), every_1.tick_log().columns());
    assert_eq!(default.tick_log().len(), 3 * 14);
}

#[test]
fn day_end_logging_is_one_row_per_bank_and_day() {
    let cfg = json!({"ticks_per_day": 5, "num_days": 3, "end_of_day": {"unsettled": "carry"}, "drop_expired": false,
        "agent_configs": banks(&[("A", 100, 0), ("B", 0, 0)]),
        "scheduled_payments": [pay("A", "B", 60), {"sender": "B", "receiver": "A", "amount": 40, "arrival_tick": 7},
                               {"sender": "A", "receiver": "B", "amount": 500, "arrival_tick": 11}]});
    let o = run(cfg, Some(&json!({"at": "day_end"})));
    let log = o.tick_log();
    assert_eq!((log.tick.clone(), log.bank.clone()), (vec![4, 4, 9, 9, 14, 14], vec![0, 1, 0, 1, 0, 1]));
    assert_eq!(log.value_sent, [60, 0, 0, 40, 0, 0]);
    assert_eq!(log.value_received, [0, 60, 40, 0, 0, 0]);
    // The 500 waits in A's Queue 2 at the last close (carried): a level, read at the day's end.
    assert_eq!((log.queue2_count[4], log.queue2_value[4]), (1, 500));
}

#[test]
fn a_partial_interval_is_not_in_the_log_until_its_logged_tick() {
    let cfg = json!({"ticks_per_day": 10, "agent_configs": banks(&[("A", 100, 0), ("B", 0, 0)]),
        "scheduled_payments": [pay("A", "B", 60)], "tick_log": {"every": 4}});
    let mut o = engine(cfg);
    for _ in 0..3 {
        o.tick().unwrap();
    }
    assert_eq!(o.tick_log().len(), 0);
    o.tick().unwrap();
    assert_eq!((o.tick_log().tick.clone(), o.tick_log().value_sent.clone()), (vec![3, 3], vec![60, 0]));
}
