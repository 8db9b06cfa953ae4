//! Deadline and end-of-day penalties are charged once per original payment: the parts of a split
//! payment count as one payment, as every count of the engine does (issue 8, defect 2).

mod common;
use common::*;
use paysim_engine::log::{DEADLINE, EOD};
use paysim_engine::model::{DropReason, Payment, Status, NONE};
use paysim_engine::Orchestrator;
use proptest::prelude::*;
use serde_json::{json, Value};

/// A (balance 10) owes B a divisible 100 it can never pay, in one 5-tick day; no LSM.
fn unpayable(policy: Value, deadline: u32, eod: &str) -> Orchestrator {
    let mut o = engine(json!({"ticks_per_day": 5, "lsm": {"mode": "none"}, "end_of_day": {"unsettled": eod},
        "agent_configs": [{"id": "A", "opening_balance": 10, "policy": policy},
                          {"id": "B", "opening_balance": 0, "policy": {"type": "Fifo"}}],
        "scheduled_payments": [{"sender": "A", "receiver": "B", "amount": 100, "arrival_tick": 0,
                                "deadline_tick": deadline, "divisible": true}]}));
    o.run(|| true).unwrap();
    o
}

fn splitting() -> Value {
    json!({"type": "Splitting", "max_parts": 4, "min_part": 1})
}

fn total(o: &Orchestrator, component: usize) -> f64 {
    o.bank_costs().iter().map(|c| c[component]).sum()
}

#[test]
fn a_split_payment_past_its_deadline_pays_one_deadline_penalty() {
    let split = unpayable(splitting(), 1, "drop");
    assert_eq!(split.payments().iter().filter(|p| p.parent != NONE).count(), 4, "the payment is cut in four");
    let fifo = unpayable(json!({"type": "Fifo"}), 1, "drop");
    assert_eq!(total(&fifo, DEADLINE), 100_000.0);
    assert_eq!(total(&split, DEADLINE), 100_000.0);
}

#[test]
fn a_split_payment_open_at_the_close_pays_one_end_of_day_penalty() {
    let split = unpayable(splitting(), 5, "carry");
    let fifo = unpayable(json!({"type": "Fifo"}), 5, "carry");
    assert_eq!(total(&fifo, EOD), 500_000.0);
    assert_eq!(total(&split, EOD), 500_000.0);
}

/// Whether payment record `p` (an original or a part) was in a queue at tick `t`, after the
/// steps that come before the one charging (`dropped_before` says which drop reasons those are).
fn queued_at(p: &Payment, t: u32, dropped_before: &[DropReason]) -> bool {
    let created = if p.parent == NONE { p.arrival_tick } else { p.release_tick };
    if created > t {
        return false;
    }
    match p.status {
        // A split original stays in Queue 1 until the tick it is cut (step 2).
        Status::Split => p.release_tick > t,
        Status::Settled => p.settle_tick > t,
        Status::Dropped => p.drop_tick > t || (p.drop_tick == t && !dropped_before.contains(&p.drop_reason)),
        Status::Queue1 | Status::Queue2 => true,
    }
}

/// How many original payments had themselves or a part queued at tick `t` (per `queued_at`),
/// among the originals `eligible` accepts.
fn originals_queued(o: &Orchestrator, t: u32, before: &[DropReason], eligible: impl Fn(&Payment) -> bool) -> usize {
    let ps = o.payments();
    let mut open = vec![false; ps.len()];
    for (i, p) in ps.iter().enumerate() {
        let original = if p.parent == NONE { i } else { p.parent as usize };
        if eligible(&ps[original]) && queued_at(p, t, before) {
            open[original] = true;
        }
    }
    open.iter().filter(|x| **x).count()
}

prop_compose! {
    fn penalty_scenario()(n in 2usize..5, seed in 0u64..1000, carry in any::<bool>(), drop_expired in any::<bool>(),
                          days in 1u32..3, offset in 0u32..8,
                          banks in prop::collection::vec((0i64..3000, any::<bool>(), 2u32..6, 0.2f64..1.5), 5))
                          -> Value {
        let agents: Vec<Value> = (0..n).map(|i| {
            let (bal, split, parts, rate) = banks[i];
            let policy = if split { json!({"type": "Splitting", "max_parts": parts, "min_part": 50}) }
                         else { json!({"type": "Fifo"}) };
            json!({"id": format!("B{i}"), "opening_balance": bal, "policy": policy,
                   "arrival_config": {"rate_per_tick": rate, "distribution": {"type": "LogNormal", "mean_log": 6.5, "std_dev_log": 1.0},
                                      "deadline_offset": offset, "divisible": true}})
        }).collect();
        json!({"ticks_per_day": 6, "num_days": days, "rng_seed": seed, "agent_configs": agents,
               "lsm": {"mode": "none"}, "drop_expired": drop_expired,
               "end_of_day": {"unsettled": if carry {"carry"} else {"drop"}}})
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

    /// Recomputed from the payments alone: the deadline penalty is charged once for each original
    /// payment still open after its deadline tick's settlement, and the end-of-day penalty once
    /// for each original open at each close, however many parts it was cut into.
    #[test]
    fn penalties_are_counted_per_original_payment(cfg in penalty_scenario()) {
        let mut o = engine(cfg);
        o.run(|| true).unwrap();
        let ticks = o.total_ticks() as u32;
        let mut expired = 0;
        for d in 0..ticks {
            // Step 7 comes after policy drops; a payment is charged once, at its own deadline.
            expired += originals_queued(&o, d, &[DropReason::Policy], |p| p.deadline_tick == d);
        }
        let tpd = o.config().ticks_per_day;
        let mut open_at_close = 0;
        for close in (tpd - 1..ticks).step_by(tpd as usize) {
            // Step 8 comes after policy drops and deadline drops.
            open_at_close += originals_queued(&o, close, &[DropReason::Policy, DropReason::Deadline], |_| true);
        }
        let rates = &o.config().cost_rates;
        prop_assert_eq!(total(&o, DEADLINE), rates.deadline_penalty * expired as f64);
        prop_assert_eq!(total(&o, EOD), rates.eod_penalty * open_at_close as f64);
    }
}
