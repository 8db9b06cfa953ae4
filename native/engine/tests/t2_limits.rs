//! T2 sender limits and liquidity reservations (docs/semantics.md#t2-settlement-rules), on
//! hand-computed cases, and their config errors.

mod common;

use common::*;
use paysim_engine::config::{EngineConfig, NoFiles};
use paysim_engine::model::{SettledVia, Status};
use serde_json::{json, Value};

/// A scheduled normal payment arriving at `tick`.
fn pay_at(sender: &str, receiver: &str, amount: i64, tick: u32) -> Value {
    json!({"sender": sender, "receiver": receiver, "amount": amount, "arrival_tick": tick})
}

fn with_rules(mut agents: Value, rules: &[(usize, &str, Value)]) -> Value {
    for (i, key, v) in rules {
        agents[*i][*key] = v.clone();
    }
    agents
}

#[test]
fn a_bilateral_limit_holds_a_payment_until_an_incoming_one_releases_it() {
    // A pays B 80 with a limit of 50 towards B: it waits. At tick 1 B pays A 30, which takes A's
    // position to −30, so the 80 fits: −30 + 80 = 50 ≤ 50.
    let agents = banks(&[("A", 100, 0), ("B", 30, 0)]);
    let payments = json!([pay_at("A", "B", 80, 0), pay_at("B", "A", 30, 1)]);
    let mut free =
        engine(json!({"agent_configs": agents.clone(), "lsm": {"mode": "none"}, "scheduled_payments": payments}));
    free.tick().unwrap();
    assert_eq!(free.payments()[0].settled_via, SettledVia::Rtgs);
    let limited = with_rules(agents, &[(0, "limits", json!({"bilateral": {"B": 50}}))]);
    let mut o = engine(json!({"agent_configs": limited, "lsm": {"mode": "none"}, "scheduled_payments": payments}));
    o.tick().unwrap();
    assert_eq!(statuses(&o), vec![Status::Queue2]);
    o.tick().unwrap();
    assert_eq!(via(&o), vec![SettledVia::Queue, SettledVia::Rtgs]);
    assert_eq!(balances(&o), vec![50, 80]);
}

#[test]
fn a_multilateral_limit_bounds_the_banks_without_a_bilateral_one() {
    // A: bilateral 1000 towards B, multilateral 50. A→C 30 fits (30), A→D 30 does not (60),
    // A→B 60 counts against B's limit and fits. C→A 20 at tick 1 brings the multilateral position
    // to 10, and A→D 30 then fits (40).
    let limited = with_rules(
        banks(&[("A", 200, 0), ("B", 0, 0), ("C", 20, 0), ("D", 0, 0)]),
        &[(0, "limits", json!({"bilateral": {"B": 1000}, "multilateral": 50}))],
    );
    let payments =
        json!([pay_at("A", "C", 30, 0), pay_at("A", "D", 30, 0), pay_at("A", "B", 60, 0), pay_at("C", "A", 20, 1)]);
    let mut o = engine(json!({"agent_configs": limited, "lsm": {"mode": "none"}, "scheduled_payments": payments}));
    o.tick().unwrap();
    assert_eq!(statuses(&o), vec![Status::Settled, Status::Queue2, Status::Settled]);
    o.tick().unwrap();
    assert_eq!(via(&o), vec![SettledVia::Rtgs, SettledVia::Queue, SettledVia::Rtgs, SettledVia::Rtgs]);
    assert_eq!(balances(&o), vec![200 - 30 - 30 - 60 + 20, 60, 30 - 20 + 20, 30]);
}

#[test]
fn positions_start_again_each_day() {
    // Limit 50 towards B; 40 settles on day 0, the next 40 would reach 80 and waits, carried into
    // day 1, where the position is 0 again and it settles at the first tick.
    let limited = with_rules(banks(&[("A", 100, 0), ("B", 0, 0)]), &[(0, "limits", json!({"bilateral": {"B": 50}}))]);
    let payments = json!([pay_at("A", "B", 40, 0),
        {"sender": "A", "receiver": "B", "amount": 40, "arrival_tick": 1, "deadline_tick": 3}]);
    let mut o = engine(json!({"agent_configs": limited, "ticks_per_day": 2, "num_days": 2, "lsm": {"mode": "none"},
        "end_of_day": {"unsettled": "carry"}, "scheduled_payments": payments}));
    o.run(|| true).unwrap();
    assert_eq!(o.payments()[1].settle_tick, 2);
    assert_eq!(balances(&o), vec![20, 80]);
}

#[test]
fn every_lsm_mode_respects_a_bilateral_limit() {
    // A (100) owes B 100, B (0) owes A 60. Gross, A's 100 breaches a limit below 100 and B has
    // nothing. Offset, A's position goes to 100 − 60 = 40: a limit of 39 forbids it, 40 allows it.
    for mode in ["bilateral", "cycles", "multilateral", "t2"] {
        for (limit, settles) in [(39, false), (40, true)] {
            let limited =
                with_rules(banks(&[("A", 100, 0), ("B", 0, 0)]), &[(0, "limits", json!({"bilateral": {"B": limit}}))]);
            let mut o = engine(json!({"agent_configs": limited, "lsm": {"mode": mode},
                "scheduled_payments": [pay("A", "B", 100), pay("B", "A", 60)]}));
            o.tick().unwrap();
            let expected = if settles { Status::Settled } else { Status::Queue2 };
            assert_eq!(statuses(&o), vec![expected, expected], "mode {mode}, limit {limit}");
        }
    }
}

#[test]
fn a_reservation_keeps_a_normal_payment_waiting_while_an_urgent_one_settles() {
    // A holds 100 and reserves 60 for urgent payments. Urgent 50 settles (nothing is reserved above
    // urgent); normal 50 would leave 0 < 60 and waits. Without the reservation both settle.
    let payments = json!([pay("A", "B", 50),
        {"sender": "A", "receiver": "C", "amount": 50, "arrival_tick": 0, "priority": 9}]);
    let agents = banks(&[("A", 100, 0), ("B", 0, 0), ("C", 0, 0)]);
    let mut free = engine(json!({"agent_configs": agents.clone(), "scheduled_payments": payments}));
    free.tick().unwrap();
    assert_eq!(statuses(&free), vec![Status::Settled, Status::Settled]);
    let reserved = with_rules(agents, &[(0, "reservations", json!({"urgent": 60}))]);
    let mut o = engine(json!({"agent_configs": reserved, "scheduled_payments": payments}));
    o.tick().unwrap();
    assert_eq!(statuses(&o), vec![Status::Queue2, Status::Settled]);
    assert_eq!(balances(&o), vec![50, 0, 50]);
}

#[test]
fn urgent_payments_may_not_use_the_highly_urgent_reservation() {
    // A holds 100, 60 reserved for highly urgent payments: urgent 50 would leave 50 < 60 and waits;
    // highly urgent 50 settles.
    let reserved =
        with_rules(banks(&[("A", 100, 0), ("B", 0, 0)]), &[(0, "reservations", json!({"highly_urgent": 60}))]);
    let mut o = engine(json!({"agent_configs": reserved, "scheduled_payments": [
        {"sender": "A", "receiver": "B", "amount": 50, "arrival_tick": 0, "priority": 9},
        {"sender": "A", "receiver": "B", "amount": 50, "arrival_tick": 0, "rtgs_class": "highly_urgent"}]}));
    o.tick().unwrap();
    assert_eq!(statuses(&o), vec![Status::Queue2, Status::Settled]);
}

#[test]
fn offsets_leave_the_reservations_of_net_payers() {
    // A (100, 60 reserved for urgent) and B (0) owe each other 100 and 50 in normal payments: the
    // offset would leave A 50 < 60, so nothing settles in any mode; reserving 50 lets it settle.
    for mode in ["bilateral", "cycles", "multilateral", "t2"] {
        for (reserve, settles) in [(60, false), (50, true)] {
            let reserved =
                with_rules(banks(&[("A", 100, 0), ("B", 0, 0)]), &[(0, "reservations", json!({"urgent": reserve}))]);
            let mut o = engine(json!({"agent_configs": reserved, "lsm": {"mode": mode},
                "scheduled_payments": [pay("A", "B", 100), pay("B", "A", 50)]}));
            o.tick().unwrap();
            let expected = if settles { Status::Settled } else { Status::Queue2 };
            assert_eq!(statuses(&o), vec![expected, expected], "mode {mode}, reserve {reserve}");
        }
    }
}

fn err(rules: &[(usize, &str, Value)]) -> String {
    let cfg = json!({"ticks_per_day": 5, "rng_seed": 1,
        "agent_configs": with_rules(banks(&[("A", 0, 0), ("B", 0, 0), ("C", 0, 0)]), rules)});
    EngineConfig::from_value(&cfg, &NoFiles).unwrap_err().to_string()
}

#[test]
fn bad_limits_and_reservations_name_their_field() {
    assert_eq!(
        err(&[(2, "limits", json!({"bilateral": {"X": 5}}))]),
        "agent_configs[2].limits.bilateral.X: unknown bank 'X'"
    );
    assert_eq!(
        err(&[(1, "limits", json!({"bilateral": {"B": 5}}))]),
        "agent_configs[1].limits.bilateral.B: a bank cannot limit payments to itself"
    );
    assert!(err(&[(0, "limits", json!({"bilateral": {"B": -1}}))])
        .starts_with("agent_configs[0].limits.bilateral.B: must be between 0"));
    assert!(err(&[(0, "limits", json!({"multilateral": -5}))])
        .starts_with("agent_configs[0].limits.multilateral: must be between 0"));
    assert!(err(&[(0, "limits", json!({"multi": 5}))]).starts_with("agent_configs[0].limits.multi: unknown key"));
    assert!(err(&[(0, "reservations", json!({"urgent": -1}))])
        .starts_with("agent_configs[0].reservations.urgent: must be between 0"));
    assert!(err(&[(0, "reservations", json!({"normal": 1}))])
        .starts_with("agent_configs[0].reservations.normal: unknown key"));
}
