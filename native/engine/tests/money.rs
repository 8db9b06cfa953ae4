//! No arithmetic on money wraps (issue 8, defect 3), through the whole engine: queues summing
//! past `i64` settle nothing they should not, a figure too large to report stops the run with a
//! clean error naming it, and every bank's balance equals its flows exactly.

mod common;
use common::*;
use paysim_engine::error::{EngineError, Loc};
use paysim_engine::model::{Status, NONE};
use paysim_engine::orchestrator::Submission;
use paysim_engine::Orchestrator;
use proptest::prelude::*;
use serde_json::{json, Value};

/// The largest payment amount the config accepts.
const E15: i64 = 1_000_000_000_000_000;

/// A (balance `a`, no credit) queues `n` payments of 1e15 at tick 0, to the receivers in turn.
fn big_queue(mode: &str, a: i64, n: usize, receivers: &[&str]) -> Value {
    let mut payments: Vec<Value> = (0..n).map(|i| pay("A", receivers[i % receivers.len()], E15)).collect();
    if mode == "bilateral" {
        payments.push(pay("B", "A", E15));
    }
    json!({"lsm": {"mode": mode}, "agent_configs": banks(&[("A", a, 0), ("B", 0, 0), ("C", 0, 0)]),
           "scheduled_payments": payments})
}

fn n_settled(o: &Orchestrator) -> usize {
    o.payments().iter().filter(|p| settled(p)).count()
}

/// The error for a figure of bank A too large to report, at its config entry.
fn too_large(what: &str, value: i128) -> EngineError {
    EngineError::config(
        Loc::from("agent_configs").index(0),
        format!(
            "{what} reached {value}, more than a 64-bit log or metric value holds (9223372036854775807); \
             see docs/semantics.md#engine-configuration"
        ),
    )
}

#[test]
fn a_queue_of_more_than_i64_settles_nothing_it_cannot_cover_and_stops_cleanly() {
    for (mode, receivers) in [("multilateral", &["B", "C"][..]), ("t2", &["B", "C"][..]), ("multilateral", &["B"][..])]
    {
        let mut o = engine(big_queue(mode, 0, 9_224, receivers));
        let err = o.tick().unwrap_err();
        assert_eq!(err, too_large("tick 0: bank 'A' queue2_value", 9_224 * E15 as i128), "{mode} {receivers:?}");
        assert_eq!(n_settled(&o), 0, "{mode} {receivers:?}");
        assert_eq!(balances(&o), vec![0, 0, 0], "{mode} {receivers:?}");
    }
}

#[test]
fn a_run_stopped_by_a_figure_too_large_to_report_stays_stopped() {
    let mut o = engine(big_queue("multilateral", 0, 9_224, &["B", "C"]));
    let first = o.tick().unwrap_err();
    assert_eq!(o.tick().unwrap_err(), first);
    assert_eq!(o.save_state().unwrap_err(), first);
    assert_eq!((o.current_tick(), o.tick_log().len()), (0, 0));
}

#[test]
fn one_payment_less_fits_and_runs_to_the_end_settling_nothing() {
    let mut o = engine(big_queue("multilateral", 0, 9_223, &["B", "C"]));
    let first = o.tick().unwrap();
    assert_eq!((first.queue2_value, first.num_settlements), (9_223 * E15, 0));
    o.run(|| true).unwrap();
    assert_eq!(n_settled(&o), 0);
    o.check_invariants().unwrap();
}

#[test]
fn bilateral_offsets_only_what_the_net_payer_covers_when_a_direction_sums_past_i64() {
    // A (3e14) owes B 18,448 × 1e15; B owes A 1e15. Only A's first payment offsets B's.
    let mut o = engine(big_queue("bilateral", 300_000_000_000_000, 18_448, &["B"]));
    let err = o.tick().unwrap_err();
    assert_eq!(err, too_large("tick 0: bank 'A' queue2_value", 18_447 * E15 as i128));
    assert_eq!(n_settled(&o), 2);
    assert_eq!(balances(&o), vec![300_000_000_000_000, 0, 0]);
    o.check_invariants().unwrap();
}

#[test]
fn an_amount_above_the_cap_is_refused_at_config_and_submission_naming_the_field() {
    let cfg = json!({"ticks_per_day": 4, "rng_seed": 1, "agent_configs": banks(&[("A", 0, 0), ("B", 0, 0)]),
                     "scheduled_payments": [pay("A", "B", E15), pay("A", "B", E15 + 1)]});
    let err = paysim_engine::EngineConfig::from_value(&cfg, &paysim_engine::config::NoFiles).unwrap_err();
    assert_eq!(
        err.to_string(),
        "scheduled_payments[1].amount: must be between 1 and 1000000000000000, got 1000000000000001"
    );
    let mut o = engine(json!({"agent_configs": banks(&[("A", 0, 0), ("B", 0, 0)])}));
    let s = Submission {
        sender: "A".into(),
        receiver: "B".into(),
        amount: E15 + 1,
        deadline_offset: 5,
        priority: 5,
        rtgs_class: None,
        divisible: false,
    };
    let err = o.submit(&s).unwrap_err();
    assert_eq!(
        err,
        EngineError::invalid_payment("amount", "must be between 1 and 1000000000000000, got 1000000000000001")
    );
}

#[test]
fn a_queue1_of_more_than_i64_from_submissions_is_reported_as_an_error() {
    let mut o = engine(json!({"agent_configs": banks(&[("A", 0, 0), ("B", 0, 0)])}));
    let s = Submission {
        sender: "A".into(),
        receiver: "B".into(),
        amount: E15,
        deadline_offset: 5,
        priority: 5,
        rtgs_class: None,
        divisible: false,
    };
    for _ in 0..9_224 {
        o.submit(&s).unwrap();
    }
    assert_eq!(o.banks()[0].queue1_value, 9_224 * E15 as i128);
    let err = o.agent_states().unwrap_err();
    assert_eq!(err, EngineError::config(Loc::from("agent_configs").index(0), "queue1_value reached 9224000000000000000, more than a 64-bit log or metric value holds (9223372036854775807); see docs/semantics.md#engine-configuration"));
}

#[test]
fn a_run_total_of_more_than_i64_is_an_error_in_the_metrics_not_a_saturated_figure() {
    // 4,000 payments of 1e15 each way per tick offset bilaterally: every tick fits i64, the run does not.
    let mut payments = Vec::new();
    for tick in 0..2 {
        for _ in 0..4_000 {
            for (s, r) in [("A", "B"), ("B", "A")] {
                payments.push(json!({"sender": s, "receiver": r, "amount": E15, "arrival_tick": tick}));
            }
        }
    }
    let mut o = engine(json!({"ticks_per_day": 2, "lsm": {"mode": "bilateral"},
        "agent_configs": banks(&[("A", 0, 0), ("B", 0, 0)]), "scheduled_payments": payments}));
    o.run(|| true).unwrap();
    assert_eq!(n_settled(&o), 16_000);
    let Err(EngineError::Config { loc, problem }) = paysim_engine::metrics::compute(&o) else {
        panic!("metrics of a run settling 1.6e19 must be an error")
    };
    assert_eq!(loc, Loc::root());
    assert!(problem.starts_with("metric value_settled_bilateral reached 16000000000000000000,"), "{problem}");
}

const MODES: [&str; 5] = ["none", "bilateral", "cycles", "multilateral", "t2"];

prop_compose! {
    fn flows_scenario()(n in 2usize..6, seed in 0u64..1000, mode in 0usize..5, strict in any::<bool>(),
                        carry in any::<bool>(), split in prop::collection::vec(any::<bool>(), 6),
                        banks in prop::collection::vec((0i64..3000, 0i64..2000, 0.0f64..1.5), 6)) -> Value {
        let agents: Vec<Value> = (0..n).map(|i| {
            let (bal, credit, rate) = banks[i];
            let policy = if split[i] { json!({"type": "Splitting", "max_parts": 3, "min_part": 100}) }
                         else { json!({"type": "Fifo"}) };
            json!({"id": format!("B{i}"), "opening_balance": bal, "credit_limit": credit, "policy": policy,
                   "arrival_config": {"rate_per_tick": rate, "distribution": {"type": "LogNormal", "mean_log": 6.0, "std_dev_log": 1.0},
                                      "deadline_offset": 4, "divisible": split[i]}})
        }).collect();
        json!({"ticks_per_day": 8, "num_days": 2, "rng_seed": seed, "agent_configs": agents, "lsm": {"mode": MODES[mode]},
               "rtgs": {"queue": if strict {"strict_fifo"} else {"fifo_bypass"}},
               "end_of_day": {"unsettled": if carry {"carry"} else {"drop"}}})
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 120, ..ProptestConfig::default() })]

    /// After every tick each bank's balance is exactly opening + received − sent over the settled
    /// payments, and its queue values are exactly the amounts it has queued (the sum alone would
    /// miss two errors that cancel).
    #[test]
    fn every_balance_and_queue_value_equals_its_flows_exactly(cfg in flows_scenario()) {
        let mut o = engine(cfg);
        while !o.is_finished() {
            o.tick().unwrap();
            let mut flows: Vec<i128> = o.banks().iter().map(|b| b.opening_balance as i128).collect();
            let mut queued = vec![[0i128; 2]; o.banks().len()];
            for p in o.payments() {
                let (s, r, amount) = (p.sender as usize, p.receiver as usize, p.amount as i128);
                match p.status {
                    Status::Settled => {
                        flows[s] -= amount;
                        flows[r] += amount;
                    }
                    Status::Queue1 => queued[s][0] += amount,
                    Status::Queue2 => queued[s][1] += amount,
                    Status::Dropped | Status::Split => {}
                }
                prop_assert!(p.parent == NONE || o.payments()[p.parent as usize].status == Status::Split);
            }
            for (i, b) in o.banks().iter().enumerate() {
                prop_assert_eq!(b.balance as i128, flows[i], "bank {}", b.id);
                prop_assert_eq!([b.queue1_value, b.queue2_value], queued[i], "bank {}", b.id);
            }
        }
        o.check_invariants().unwrap();
    }
}
