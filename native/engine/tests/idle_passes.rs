//! Skipped LSM passes (docs/semantics.md#the-tick-loop, step 5): an engine that skips a pass whose
//! inputs are those of the last pass, which settled nothing, must produce the same run as one that
//! runs every pass. The reference is computed another way: an engine saved and restored before
//! every tick, since the skipping cache is not part of the saved state and a restored engine runs
//! its first pass.

mod common;
use common::*;
use paysim_engine::metrics::compute;
use paysim_engine::Orchestrator;
use proptest::prelude::*;
use serde_json::{json, Value};

/// Not `optimal`: under it (and `measure_optimum`) no pass is skipped
/// ([`optimal_and_measured_runs_never_skip`]), and a random queue can make its exact MIP slow.
const MODES: [&str; 6] = ["none", "bilateral", "cycles", "multilateral", "t2", "t2_classic"];
const QUEUES: [&str; 3] = ["fifo_bypass", "strict_fifo", "t2"];
const CLOSES: [&str; 3] = ["drop", "carry", "borrow"];
const CLASSES: [Option<&str>; 4] = [None, Some("highly_urgent"), Some("urgent"), Some("normal")];

/// Per bank: balance, credit, whether it has any at all, a limit towards the next bank, a
/// multilateral limit, reservations, arrival rate and class.
type BankSpec = (i64, i64, bool, Option<i64>, Option<i64>, Option<(i64, i64)>, f64, usize);

fn bank() -> impl Strategy<Value = BankSpec> {
    (
        0i64..3000,
        0i64..1000,
        any::<bool>(),
        prop::option::of(0i64..2000),
        prop::option::of(0i64..3000),
        prop::option::of((0i64..800, 0i64..800)),
        0.0f64..1.5,
        0usize..4,
    )
}

prop_compose! {
    /// Several days of often scarce or no liquidity, with quiet stretches (rates of 0 and scheduled
    /// payments only), so that many passes repeat an idle one, and every rule, close and event
    /// that changes what a pass reads.
    fn scenario()(n in 2usize..6, seed in 0u64..1000, mode in 0usize..6, queue in 0usize..3,
                  include_urgent in prop::option::of(any::<bool>()), close in 0usize..3, deferred in any::<bool>(),
                  drop_expired in any::<bool>(), max_cycle in 2u32..5, days in 1u32..4,
                  quiet in any::<bool>(),
                  banks in prop::collection::vec(bank(), 6),
                  events in prop::collection::vec((any::<u8>(), 0usize..6, 0usize..6, 0u32..40, 0u32..40, 0i64..10_000), 0..4),
                  scheduled in prop::collection::vec((0usize..6, 0usize..6, 1i64..3000, 0u32..40, 0usize..4), 0..12))
                  -> Value {
        let agents: Vec<Value> = (0..n).map(|i| {
            let (bal, credit, liquid, bilateral, multilateral, reserve, rate, class) = banks[i];
            let (bal, credit) = if liquid { (bal, credit) } else { (0, 0) };
            let mut a = json!({"id": format!("B{i}"), "opening_balance": bal, "credit_limit": credit,
                "policy": {"type": "Fifo"},
                "arrival_config": {"rate_per_tick": if quiet { rate / 5.0 } else { rate }, "deadline_offset": 4,
                    "priority": (i * 3) % 11, "rtgs_class": CLASSES[class],
                    "distribution": {"type": "LogNormal", "mean_log": 6.0, "std_dev_log": 1.0}}});
            let mut limits = json!({});
            if let Some(x) = bilateral { limits["bilateral"] = json!({format!("B{}", (i + 1) % n): x}); }
            if let Some(x) = multilateral { limits["multilateral"] = json!(x); }
            if bilateral.is_some() || multilateral.is_some() { a["limits"] = limits; }
            if let Some((hu, u)) = reserve { a["reservations"] = json!({"highly_urgent": hu, "urgent": u}); }
            a
        }).collect();
        let ticks = 10 * days;
        let sched: Vec<Value> = scheduled.iter().filter(|(s, r, ..)| s % n != r % n)
            .map(|(s, r, a, t, c)| json!({"sender": format!("B{}", s % n), "receiver": format!("B{}", r % n), "amount": a,
                "arrival_tick": t % ticks, "priority": (a % 11), "rtgs_class": CLASSES[*c]}))
            .collect();
        let events: Vec<Value> = events.into_iter().map(|e| event(n, ticks, e)).collect();
        json!({"ticks_per_day": 10, "num_days": days, "rng_seed": seed, "agent_configs": agents,
               "scheduled_payments": sched, "events": events, "drop_expired": drop_expired,
               "lsm": {"mode": MODES[mode], "include_urgent": include_urgent, "max_cycle_length": max_cycle,
                       },
               "rtgs": {"queue": QUEUES[queue], "crediting": if deferred {"deferred"} else {"immediate"}},
               "end_of_day": {"unsettled": CLOSES[close]}})
    }
}

/// The run with every LSM pass run: saved and restored before every tick.
fn every_pass(cfg: Value) -> Orchestrator {
    let mut o = engine(cfg);
    while !o.is_finished() {
        o = Orchestrator::load_state(&o.save_state().unwrap()).unwrap();
        o.tick().unwrap();
        assert_eq!(o.lsm_passes_skipped(), 0, "a restored engine runs its first pass");
    }
    o
}

fn run(cfg: Value) -> Orchestrator {
    let mut o = engine(cfg);
    o.run(|| true).unwrap();
    o
}

/// Everything a run leaves: the saved state (every payment as the transactions table shows it,
/// the tick log, the event log, costs and counters) and the metrics but the engine's wall time.
fn same_run(a: &Orchestrator, b: &Orchestrator) {
    assert_eq!(a.save_state().unwrap(), b.save_state().unwrap());
    let metrics = |o: &Orchestrator| {
        let all = compute(o).unwrap().into_iter().filter(|m| m.0 != "engine_seconds");
        format!("{:?}", all.collect::<Vec<_>>())
    };
    assert_eq!(metrics(a), metrics(b));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn skipping_idle_passes_leaves_the_run_unchanged(cfg in scenario()) {
        same_run(&run(cfg.clone()), &every_pass(cfg));
    }
}

/// A transitive tournament of 100 banks without liquidity (each pays 100 to every bank after it):
/// no cycle exists, yet the paths of up to 5 banks are millions, so every cycle search reaches its
/// budget and settles nothing. Nothing changes after tick 0, so ticks 1 to 3 skip their passes,
/// and each skipped pass still counts as a truncated search, as it would have run.
#[test]
fn a_skipped_pass_counts_the_truncated_search_it_repeats() {
    let ids: Vec<String> = (0..100).map(|i| format!("B{i:02}")).collect();
    let mut payments = Vec::new();
    for s in 0..100 {
        for r in s + 1..100 {
            payments.push(pay(&ids[s], &ids[r], 100));
        }
    }
    let specs: Vec<(&str, i64, i64)> = ids.iter().map(|id| (id.as_str(), 0, 0)).collect();
    let cfg = json!({"ticks_per_day": 4, "lsm": {"mode": "cycles", "max_cycle_length": 6},
                     "agent_configs": banks(&specs), "scheduled_payments": payments});
    let (skipping, reference) = (run(cfg.clone()), every_pass(cfg));
    assert_eq!(skipping.lsm_passes_skipped(), 3);
    assert_eq!(skipping.lsm_cycle_search_truncated(), 4);
    same_run(&skipping, &reference);
}

/// Each input of a pass, changed alone after an idle pass, makes the next pass run: a payment
/// joining Queue 2, money arriving, a credit line changing.
#[test]
fn a_pass_runs_again_once_what_it_reads_changes() {
    // A and B owe each other more than either can net: bilateral offsetting settles nothing until
    // B is given 40 at tick 3 (then B covers the net 40), or A's line is raised at tick 3.
    let base = json!({"ticks_per_day": 6, "lsm": {"mode": "bilateral"},
        "agent_configs": banks(&[("A", 0, 0), ("B", 0, 0)]),
        "scheduled_payments": [pay("A", "B", 60), pay("B", "A", 100)]});
    let idle = run(base.clone());
    assert_eq!(idle.lsm_passes_skipped(), 5);
    assert!(!idle.payments().iter().any(settled));
    let with = |events: Value| {
        let mut cfg = base.clone();
        cfg["events"] = events;
        let o = run(cfg.clone());
        same_run(&o, &every_pass(cfg));
        o
    };
    let given = with(json!([{"type": "transfer", "to": "B", "amount": 40, "tick": 3}]));
    assert!(given.payments().iter().all(settled));
    // Skipped: ticks 1 and 2, and 5 (tick 4's pass ran, on the queue tick 3 emptied).
    assert_eq!((given.lsm_passes_skipped(), given.payments()[0].settle_tick), (3, 3));
    let credit = with(json!([{"type": "credit_limit", "bank": "B", "tick": 3, "credit_limit": 40}]));
    assert!(credit.payments().iter().all(settled));
    let mut late = base.clone();
    late["scheduled_payments"] = json!([pay("A", "B", 60), pay("B", "A", 100),
        {"sender": "A", "receiver": "B", "amount": 40, "arrival_tick": 4}]);
    let joined = run(late.clone());
    assert!(joined.payments().iter().all(settled), "A's 40 at tick 4 evens the pair");
    same_run(&joined, &every_pass(late));
}

/// Under `optimal` and under `measure_optimum` every pass runs: their per-pass counters
/// (`lsm_optimal_*`, the share's sums) count passes, so a skipped one would change them.
#[test]
fn optimal_and_measured_runs_never_skip() {
    let ring = |lsm: Value| {
        json!({"ticks_per_day": 6, "agent_configs": banks(&[("A", 0, 0), ("B", 1, 0), ("C", 2, 0), ("E", 0, 0)]),
               "scheduled_payments": [pay("A", "E", 500), pay("A", "B", 100), pay("B", "C", 101), pay("C", "A", 102)],
               "drop_expired": false, "lsm": lsm})
    };
    for lsm in [json!({"mode": "optimal"}), json!({"mode": "t2_classic", "measure_optimum": true})] {
        let o = run(ring(lsm.clone()));
        assert_eq!(o.lsm_passes_skipped(), 0, "{lsm}");
    }
    // The same queue under t2_classic alone: A's 500 stays queued and nothing changes, so passes skip.
    assert!(run(ring(json!({"mode": "t2_classic"}))).lsm_passes_skipped() > 0);
}
