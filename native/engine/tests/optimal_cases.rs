//! `lsm.mode: optimal` and `lsm.measure_optimum` on hand-built cases: the 3-ring queued behind a
//! stuck payment, the fallback to `t2` and `cycles`, ties broken the same way on every run, the
//! share of the optimum, and the config's checks (docs/semantics.md#the-optimal-lsm).

mod common;
use common::*;
use paysim_engine::config::{EngineConfig, LsmConfig, LsmMode, NoFiles, QueueDiscipline};
use paysim_engine::metrics::{compute, MetricValue};
use paysim_engine::model::{Bank, Payment, SettledVia, Status};
use paysim_engine::settlement::{lsm, Ledger};
use paysim_engine::Orchestrator;
use serde_json::{json, Value};

fn metric(o: &Orchestrator, name: &str) -> MetricValue {
    compute(o).unwrap().into_iter().find(|m| m.0 == name).unwrap().1
}

/// A's uncovered 500 to E, queued before the ring A→B 100, B→C 101, C→A 102 (balances A 0, B 1,
/// C 2): the ring alone is feasible (each bank's net is +2, −1, −1), the whole queue is not.
fn ring_behind_stuck(lsm: Value) -> Value {
    json!({"ticks_per_day": 2, "agent_configs": banks(&[("A", 0, 0), ("B", 1, 0), ("C", 2, 0), ("E", 0, 0)]),
           "scheduled_payments": [pay("A", "E", 500), pay("A", "B", 100), pay("B", "C", 101), pay("C", "A", 102)],
           "lsm": lsm})
}

#[test]
fn optimal_settles_the_ring_behind_a_stuck_payment() {
    let mut o = engine(ring_behind_stuck(json!({"mode": "optimal"})));
    o.tick().unwrap();
    assert_eq!(statuses(&o), [Status::Queue2, Status::Settled, Status::Settled, Status::Settled]);
    assert_eq!(via(&o)[1..], [SettledVia::Multilateral; 3]);
    assert_eq!(balances(&o), [2, 0, 1, 0]);
    assert_eq!(metric(&o, "lsm_optimal_solved"), MetricValue::Int(1));
}

#[test]
fn a_queue_over_max_queue_falls_back_to_t2_then_cycles() {
    // Four queued payments over a maximum of three: t2 dismantles the ring, the cycle search after
    // it settles the ring anyway.
    let mut o = engine(ring_behind_stuck(json!({"mode": "optimal", "optimal": {"max_queue": 3}})));
    o.tick().unwrap();
    assert_eq!(statuses(&o), [Status::Queue2, Status::Settled, Status::Settled, Status::Settled]);
    assert_eq!(metric(&o, "lsm_optimal_fallbacks"), MetricValue::Int(1));
    assert_eq!(metric(&o, "lsm_optimal_solved"), MetricValue::Int(0));
}

#[test]
fn the_share_of_the_optimum_is_measured_only_when_asked() {
    // t2_classic settles nothing here while the optimum is the ring's 303, on both ticks' passes.
    let mut t2 = engine(ring_behind_stuck(json!({"mode": "t2_classic", "measure_optimum": true})));
    t2.run(|| true).unwrap();
    assert_eq!(statuses(&t2), [Status::Dropped; 4]);
    assert_eq!(metric(&t2, "lsm_optimum_share"), MetricValue::Float(0.0));
    assert_eq!(metric(&t2, "lsm_optimal_solved"), MetricValue::Int(2));
    let mut optimal = engine(ring_behind_stuck(json!({"mode": "optimal", "measure_optimum": true})));
    optimal.run(|| true).unwrap();
    assert_eq!(metric(&optimal, "lsm_optimum_share"), MetricValue::Float(1.0));
    let mut unmeasured = engine(ring_behind_stuck(json!({"mode": "t2_classic"})));
    unmeasured.run(|| true).unwrap();
    assert_eq!(metric(&unmeasured, "lsm_optimum_share"), MetricValue::Missing);
    assert_eq!(metric(&unmeasured, "lsm_optimal_solved"), MetricValue::Int(0));
}

/// Bank 0 can pay one of its four queued 100s (to banks 1 to 4), and nothing else can settle:
/// four subsets of equal value.
fn tie() -> (Ledger, Vec<u32>) {
    let mut l = Ledger::new((0..5).map(|i| Bank::new(format!("B{i}"), if i == 0 { 100 } else { 0 }, 0)).collect());
    let txs = (1..5)
        .map(|r| {
            let tx = l.create(Payment::new(0, r, 100, 0, 9));
            l.enqueue2(tx);
            tx
        })
        .collect();
    (l, txs)
}

#[test]
fn equal_value_subsets_are_broken_the_same_way_on_every_run() {
    let cfg = LsmConfig { mode: LsmMode::Optimal, ..LsmConfig::default() };
    let rank: Vec<u32> = (0..5).collect();
    let chosen = || {
        let (mut l, txs) = tie();
        lsm::run(&mut l, &cfg, QueueDiscipline::FifoBypass, &rank, 0);
        txs.iter().map(|&t| l.payments[t as usize].status == Status::Settled).collect::<Vec<bool>>()
    };
    let first = chosen();
    assert_eq!(first.iter().filter(|s| **s).count(), 1, "one 100 of the four settles");
    for _ in 0..20 {
        assert_eq!(chosen(), first);
    }
}

#[test]
fn a_random_optimal_run_is_the_same_on_every_run() {
    let agents: Vec<Value> = (0..8)
        .map(|i| {
            json!({"id": format!("B{i}"), "opening_balance": 300 * (i % 3), "credit_limit": 0,
            "policy": {"type": "Fifo"}, "arrival_config": {"rate_per_tick": 1.5, "deadline_offset": 6,
            "distribution": {"type": "LogNormal", "mean_log": 5.0, "std_dev_log": 1.0}}})
        })
        .collect();
    let cfg = json!({"ticks_per_day": 20, "num_days": 2, "rng_seed": 7, "agent_configs": agents,
                     "lsm": {"mode": "optimal", "measure_optimum": true}});
    let run = || {
        let mut o = engine(cfg.clone());
        o.run(|| true).unwrap();
        assert_eq!(metric(&o, "lsm_optimal_time_limited"), MetricValue::Int(0));
        let outcome: Vec<_> = o.payments().iter().map(|p| (p.status, p.settle_tick, p.settled_via)).collect();
        (outcome, o.save_state().unwrap())
    };
    let (outcome, state) = run();
    assert!(outcome.iter().any(|p| p.2 == SettledVia::Multilateral), "the LSM settled something");
    for _ in 0..3 {
        let (again, again_state) = run();
        assert_eq!(again, outcome);
        assert!(again_state == state, "equal runs save equal bytes");
    }
}

fn config_error(lsm: Value) -> String {
    let cfg = ring_behind_stuck(lsm);
    let mut cfg = cfg;
    cfg["rng_seed"] = json!(1);
    EngineConfig::from_value(&cfg, &NoFiles).unwrap_err().to_string()
}

#[test]
fn the_solver_budget_is_checked_at_its_field() {
    let err = config_error(json!({"mode": "optimal", "optimal": {"time_limit_ms": 0}}));
    assert!(err.starts_with("lsm.optimal.time_limit_ms: must be between 1 and 3600000"), "{err}");
    let err = config_error(json!({"mode": "optimal", "optimal": {"max_queue": 0}}));
    assert!(err.starts_with("lsm.optimal.max_queue: must be between 1"), "{err}");
    let err = config_error(json!({"mode": "optimal", "optimal": {"time_limit": 5}}));
    assert!(err.starts_with("lsm.optimal.time_limit: unknown key"), "{err}");
    let err = config_error(json!({"measure_optimum": "yes"}));
    assert!(err.starts_with("lsm.measure_optimum:"), "{err}");
}

/// A queue found on a gridlock_resolution day (day 28, liquidity 0.2): eight banks, fourteen
/// payments none of which settles gross. HiGHS's MIP presolve declares its model infeasible,
/// although the empty set (and much more) is feasible; the pass used to fall back to `t2`. The
/// model solved again without presolve settles everything but P1's, P2's, P6's 55,341 and P7's.
#[test]
fn a_model_the_solver_presolve_calls_infeasible_is_solved_again_without_it() {
    let agents = banks(&[
        ("P1", 7660, 0),
        ("P2", 14985, 0),
        ("P3", 1896, 0),
        ("P4", 8574, 0),
        ("P5", 11193, 0),
        ("P6", 18108, 0),
        ("P7", 5288, 0),
        ("P8", 0, 0),
    ]);
    let queue = [
        ("P5", "P3", 45137),
        ("P2", "P6", 36965),
        ("P3", "P5", 69041),
        ("P4", "P3", 34656),
        ("P5", "P3", 32161),
        ("P6", "P7", 55341),
        ("P1", "P5", 10538),
        ("P3", "P5", 20099),
        ("P3", "P6", 45637),
        ("P4", "P5", 14633),
        ("P5", "P4", 15055),
        ("P6", "P3", 33592),
        ("P6", "P4", 28987),
        ("P7", "P8", 51325),
    ];
    let payments: Vec<Value> = queue.iter().map(|&(s, r, a)| pay(s, r, a)).collect();
    let mut o = engine(json!({"ticks_per_day": 2, "agent_configs": agents, "scheduled_payments": payments,
                              "lsm": {"mode": "optimal"}}));
    o.tick().unwrap();
    assert_eq!(metric(&o, "lsm_optimal_fallbacks"), MetricValue::Int(0));
    assert_eq!(metric(&o, "lsm_optimal_solved"), MetricValue::Int(1));
    let unsettled: Vec<usize> =
        statuses(&o).iter().enumerate().filter(|s| *s.1 != Status::Settled).map(|s| s.0).collect();
    assert_eq!(unsettled, [1, 5, 6, 13]);
}
