//! The tick loop end to end: policies, costs, expiry, end of day, multi-day, common random
//! numbers, state round trips.

mod common;
use common::*;
use paysim_engine::config::{EngineConfig, NoFiles};
use paysim_engine::metrics::{compute, MetricValue};
use paysim_engine::model::{DropReason, Status};
use paysim_engine::orchestrator::Submission;
use paysim_engine::{EngineError, Orchestrator};
use serde_json::{json, Value};

fn metric(o: &Orchestrator, name: &str) -> MetricValue {
    compute(o).unwrap().into_iter().find(|(n, _)| *n == name).unwrap().1
}

fn f(o: &Orchestrator, name: &str) -> f64 {
    match metric(o, name) {
        MetricValue::Float(x) => x,
        MetricValue::Int(i) => i as f64,
        other => panic!("{name}: {other:?}"),
    }
}

fn random_banks(n: usize) -> Value {
    Value::Array(
        (0..n)
            .map(|i| {
                json!({"id": format!("B{i}"), "opening_balance": 5_000, "credit_limit": 1_000,
        "policy": {"type": "Fifo"},
        "arrival_config": {"rate_per_tick": 0.7, "distribution": {"type": "Exponential", "mean": 800.0}}})
            })
            .collect(),
    )
}

fn arrivals(o: &Orchestrator) -> Vec<(u32, u32, i64, u32, u32, u8)> {
    o.payments()
        .iter()
        .filter(|p| p.parent == u32::MAX)
        .map(|p| (p.sender, p.receiver, p.amount, p.arrival_tick, p.deadline_tick, p.priority))
        .collect()
}

fn run_all(o: &mut Orchestrator) {
    o.run(|| true).unwrap();
}

#[test]
fn common_random_numbers_survive_policy_lsm_credit_and_schedule_changes() {
    let base = json!({"ticks_per_day": 50, "rng_seed": 9, "agent_configs": random_banks(5)});
    let mut o = engine(base.clone());
    run_all(&mut o);
    let reference = arrivals(&o);
    assert!(reference.len() > 100);
    let mut variants = Vec::new();
    let mut v = base.clone();
    v["agent_configs"][2]["policy"] = json!({"type": "LiquidityAware", "target_buffer": 4000, "urgency_threshold": 3});
    variants.push(v);
    let mut v = base.clone();
    v["lsm"] = json!({"mode": "none"});
    variants.push(v);
    let mut v = base.clone();
    v["agent_configs"][0]["credit_limit"] = json!(0);
    variants.push(v);
    let mut v = base.clone();
    v["scheduled_payments"] =
        json!([pay("B0", "B1", 123), {"sender": "B3", "receiver": "B4", "amount": 9, "arrival_tick": 7}]);
    variants.push(v);
    for v in variants {
        let mut o = engine(v.clone());
        run_all(&mut o);
        let mut got = arrivals(&o);
        got.retain(|a| !((a.2 == 123 && a.3 == 0 && a.0 == 0) || (a.2 == 9 && a.3 == 7)));
        assert_eq!(got, reference, "config {v}");
    }
    let mut other = base.clone();
    other["rng_seed"] = json!(10);
    let mut o = engine(other);
    run_all(&mut o);
    assert_ne!(arrivals(&o), reference);
}

#[test]
fn deadline_expiry_charges_once_and_drops_or_keeps() {
    for drop_expired in [true, false] {
        let mut o = engine(json!({"ticks_per_day": 10, "drop_expired": drop_expired, "lsm": {"mode": "none"},
            "cost_rates": {"deadline_penalty": 7.0, "eod_penalty": 0.0, "liquidity_cost_per_unit_per_tick": 0.0,
                           "delay_cost_per_tick": 0.0, "collateral_cost_per_unit_per_tick": 0.0},
            "agent_configs": banks(&[("A", 0, 0), ("B", 0, 0)]),
            "scheduled_payments": [{"sender": "A", "receiver": "B", "amount": 5, "arrival_tick": 0, "deadline_tick": 3}]}));
        for _ in 0..4 {
            o.tick().unwrap();
        }
        let p = &o.payments()[0];
        if drop_expired {
            assert_eq!((p.status, p.drop_reason, p.drop_tick), (Status::Dropped, DropReason::Deadline, 3));
        } else {
            assert_eq!((p.status, p.late), (Status::Queue2, true));
        }
        run_all(&mut o);
        assert_eq!(f(&o, "cost_deadline"), 7.0);
    }
}

#[test]
fn end_of_day_drop_and_carry() {
    let cfg = |eod: &str| {
        json!({"ticks_per_day": 5, "num_days": 2, "lsm": {"mode": "none"}, "end_of_day": {"unsettled": eod},
        "cost_rates": {"eod_penalty": 11.0},
        "agent_configs": banks(&[("A", 0, 0), ("B", 5, 0)]),
        "scheduled_payments": [{"sender": "A", "receiver": "B", "amount": 5, "arrival_tick": 0, "deadline_tick": 9},
                               {"sender": "B", "receiver": "A", "amount": 5, "arrival_tick": 6}]})
    };
    let mut o = engine(cfg("drop"));
    run_all(&mut o);
    let p = &o.payments()[0];
    assert_eq!((p.status, p.drop_reason, p.drop_tick), (Status::Dropped, DropReason::Eod, 4));
    assert_eq!(f(&o, "cost_eod"), 11.0);
    // Carry: A's payment survives the night; B's payment on day 2 gives A the liquidity.
    let mut o = engine(cfg("carry"));
    run_all(&mut o);
    assert!(o.payments().iter().all(settled));
    assert_eq!(o.payments()[0].settle_tick, 6);
    assert_eq!(f(&o, "cost_eod"), 11.0);
}

#[test]
fn scheduled_payment_without_deadline_expires_at_its_days_last_tick() {
    let mut o = engine(json!({"ticks_per_day": 5, "num_days": 2, "agent_configs": banks(&[("A", 0, 0), ("B", 0, 0)]),
        "scheduled_payments": [{"sender": "A", "receiver": "B", "amount": 5, "arrival_tick": 6}]}));
    run_all(&mut o);
    assert_eq!(o.payments()[0].deadline_tick, 9);
}

#[test]
fn balances_carry_over_days() {
    let mut o =
        engine(json!({"ticks_per_day": 3, "num_days": 2, "agent_configs": banks(&[("A", 100, 0), ("B", 0, 0)]),
        "scheduled_payments": [pay("A", "B", 60), {"sender": "B", "receiver": "A", "amount": 10, "arrival_tick": 4}]}));
    for _ in 0..3 {
        o.tick().unwrap();
    }
    assert_eq!((o.current_day(), balances(&o)), (1, vec![40, 60]));
    run_all(&mut o);
    assert_eq!(balances(&o), vec![50, 50]);
}

#[test]
fn each_cost_component_hand_computed() {
    // A: balance 0, credit 1000, pays B 400 at tick 0 → credit used 400 for 2 ticks.
    // C holds a payment (Deadline policy) for 2 ticks of delay; C has no credit line.
    let mut agents = banks(&[("A", 0, 1000), ("B", 0, 0), ("C", 100, 0)]);
    agents[2]["policy"] = json!({"type": "Deadline", "urgency_threshold": 0});
    let mut o = engine(json!({"ticks_per_day": 2, "lsm": {"mode": "none"}, "agent_configs": agents,
        "cost_rates": {"liquidity_cost_per_unit_per_tick": 0.01, "delay_cost_per_tick": 0.1,
                       "collateral_cost_per_unit_per_tick": 0.001, "split_friction_cost": 0.0,
                       "deadline_penalty": 0.0, "eod_penalty": 0.0},
        "scheduled_payments": [pay("A", "B", 400), {"sender": "C", "receiver": "B", "amount": 50, "arrival_tick": 0, "deadline_tick": 1}]}));
    run_all(&mut o);
    assert!((f(&o, "cost_liquidity") - 2.0 * 0.01 * 400.0).abs() < 1e-9);
    // C's payment waits in Queue 1 during tick 0 only (released at its deadline, tick 1).
    assert!((f(&o, "cost_delay") - 0.1 * 50.0).abs() < 1e-9);
    assert!((f(&o, "cost_collateral") - 2.0 * 0.001 * 1000.0).abs() < 1e-9);
    assert_eq!(o.payments()[1].settle_tick, 1);
}

#[test]
fn splitting_releases_equal_parts_and_charges_friction() {
    let mut agents = banks(&[("A", 100, 0), ("B", 0, 0)]);
    agents[0]["policy"] = json!({"type": "Splitting", "max_parts": 4, "min_part": 30});
    let mut o = engine(json!({"ticks_per_day": 3, "lsm": {"mode": "none"}, "agent_configs": agents,
        "cost_rates": {"split_friction_cost": 5.0},
        "scheduled_payments": [{"sender": "A", "receiver": "B", "amount": 250, "arrival_tick": 0, "divisible": true}]}));
    o.tick().unwrap();
    let ps = o.payments();
    assert_eq!(ps[0].status, Status::Split);
    assert_eq!(ps[1..].iter().map(|p| p.amount).collect::<Vec<_>>(), vec![63, 63, 62, 62]);
    assert!(ps[1..].iter().all(|p| p.parent == 0));
    // 100 covers one part of 63; the other three queue.
    assert_eq!(ps[1..].iter().filter(|p| settled(p)).count(), 1);
    assert_eq!(f(&o, "cost_split"), 15.0);
    // Counts are per original payment: one payment, split, not yet wholly settled.
    assert_eq!(f(&o, "n_payments"), 1.0);
    assert_eq!(f(&o, "n_settled"), 0.0);
    assert_eq!(f(&o, "n_split"), 1.0);
    assert_eq!(f(&o, "value_settled"), 63.0);
    assert_eq!(f(&o, "n_settled_rtgs"), 1.0);
}

#[test]
fn submitted_payments_enter_queue1_and_settle_next_tick() {
    let mut o = engine(json!({"agent_configs": banks(&[("A", 100, 0), ("B", 0, 0)])}));
    let tx = o
        .submit(&Submission {
            sender: "A".into(),
            receiver: "B".into(),
            amount: 70,
            deadline_offset: 5,
            priority: 5,
            rtgs_class: None,
            divisible: false,
        })
        .unwrap();
    assert_eq!(tx, 0);
    assert_eq!(o.banks()[0].queue1.len(), 1);
    let r = o.tick().unwrap();
    assert_eq!((r.num_arrivals, r.num_settlements), (1, 1));
    assert_eq!(balances(&o), vec![30, 70]);
}

#[test]
fn invalid_submissions_are_errors() {
    let mut o = engine(json!({"agent_configs": banks(&[("A", 100, 0), ("B", 0, 0)])}));
    let sub = |sender: &str, receiver: &str, amount: i64, priority: u8| Submission {
        sender: sender.into(),
        receiver: receiver.into(),
        amount,
        deadline_offset: 1,
        priority,
        rtgs_class: None,
        divisible: false,
    };
    assert_eq!(
        o.submit(&sub("Z", "B", 1, 5)).unwrap_err(),
        EngineError::UnknownBank { loc: "sender".into(), id: "Z".into() }
    );
    assert!(matches!(o.submit(&sub("A", "A", 1, 5)), Err(EngineError::InvalidPayment { .. })));
    assert!(matches!(o.submit(&sub("A", "B", 0, 5)), Err(EngineError::InvalidPayment { .. })));
    assert!(matches!(o.submit(&sub("A", "B", 1, 11)), Err(EngineError::InvalidPayment { .. })));
    run_all(&mut o);
    assert!(matches!(o.submit(&sub("A", "B", 1, 5)), Err(EngineError::Finished(10))));
    assert!(matches!(o.tick(), Err(EngineError::Finished(10))));
}

#[test]
fn liquidity_bounds_and_delay_indicator_hand_computed() {
    // Stream: t0 A→B 100, t1 B→A 40, t2 A→B 30. A: cumulative out 100, 60, 90 → upper 100,
    // net debit 90 → lower 90. B: cumulative −100, −60, −90 → upper 0, lower 0.
    let mut o = engine(
        json!({"ticks_per_day": 5, "lsm": {"mode": "none"}, "agent_configs": banks(&[("A", 100, 0), ("B", 0, 0)]),
        "scheduled_payments": [pay("A", "B", 100), {"sender": "B", "receiver": "A", "amount": 40, "arrival_tick": 1},
                               {"sender": "A", "receiver": "B", "amount": 30, "arrival_tick": 2}]}),
    );
    run_all(&mut o);
    assert_eq!(f(&o, "liquidity_upper_bound"), 100.0);
    assert_eq!(f(&o, "liquidity_lower_bound"), 90.0);
    // All settle on arrival: zero delay; liquidity used by A = 100 (it went to 0).
    assert_eq!(f(&o, "delay_indicator"), 0.0);
    assert_eq!(f(&o, "liquidity_used"), 100.0);
    // Unsettled payments count as maximal delay: with A at 50, the t0 payment never settles
    // (its deadline is the day's end), the others settle on arrival: 100·4 / (100·4 + 40·3 + 30·2).
    let mut o = engine(
        json!({"ticks_per_day": 5, "lsm": {"mode": "none"}, "agent_configs": banks(&[("A", 50, 0), ("B", 40, 0)]),
        "scheduled_payments": [pay("A", "B", 100), {"sender": "B", "receiver": "A", "amount": 40, "arrival_tick": 1},
                               {"sender": "A", "receiver": "B", "amount": 30, "arrival_tick": 2}]}),
    );
    run_all(&mut o);
    assert_eq!(o.payments()[0].status, Status::Dropped);
    assert!((f(&o, "delay_indicator") - 400.0 / 580.0).abs() < 1e-12);
}

#[test]
fn config_file_loader_absent_in_pure_rust() {
    let v = json!({"ticks_per_day": 2, "rng_seed": 0, "agent_configs": banks(&[("A", 1, 0)]), "scheduled_payments_file": "x.csv"});
    let e = EngineConfig::from_value(&v, &NoFiles).unwrap_err();
    assert!(e.to_string().starts_with("scheduled_payments_file: "));
}

#[test]
fn corrupt_state_is_an_error_not_a_crash() {
    let mut o = engine(json!({"ticks_per_day": 5, "agent_configs": random_banks(3)}));
    o.tick().unwrap();
    let bytes = o.save_state().unwrap();
    assert!(matches!(Orchestrator::load_state(b"nonsense"), Err(EngineError::State(_))));
    assert!(matches!(Orchestrator::load_state(&bytes[..bytes.len() / 2]), Err(EngineError::State(_))));
    // The bank list's length prefix (after two u32 and one u64) forged to 2^64 − 1.
    let mut forged = bytes.clone();
    for b in forged.iter_mut().skip(24).take(8) {
        *b = 0xff;
    }
    assert!(matches!(Orchestrator::load_state(&forged), Err(EngineError::State(_))));
}
