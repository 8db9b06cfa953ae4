//! T2 priority classes (docs/semantics.md#t2-settlement-rules): Queue 2 order, `rtgs.queue: t2`
//! and `lsm.include_urgent`, on hand-computed cases.

mod common;

use common::*;
use paysim_engine::config::QueueDiscipline;
use paysim_engine::model::{Bank, Payment, RtgsClass, SettledVia, Status, TxIdx};
use paysim_engine::settlement::{rtgs, Ledger};
use serde_json::json;

fn ledger(balances: &[i64]) -> Ledger {
    Ledger::new(balances.iter().enumerate().map(|(i, b)| Bank::new(format!("B{i}"), *b, 0)).collect())
}

fn queue(l: &mut Ledger, s: u32, r: u32, amount: i64, priority: u8, class: Option<RtgsClass>) -> TxIdx {
    let mut p = Payment::new(s, r, amount, 0, 10);
    p.priority = priority;
    p.rtgs_class = class;
    let tx = l.create(p);
    l.enqueue2(tx);
    tx
}

#[test]
fn classes_come_from_priority_unless_named() {
    let class = |priority, named| {
        let mut p = Payment::new(0, 1, 1, 0, 0);
        p.priority = priority;
        p.rtgs_class = named;
        p.class()
    };
    assert_eq!(class(10, None), RtgsClass::HighlyUrgent);
    assert_eq!(class(9, None), RtgsClass::Urgent);
    assert_eq!(class(8, None), RtgsClass::Urgent);
    assert_eq!(class(7, None), RtgsClass::Normal);
    assert_eq!(class(10, Some(RtgsClass::Normal)), RtgsClass::Normal);
    assert_eq!(class(0, Some(RtgsClass::HighlyUrgent)), RtgsClass::HighlyUrgent);
}

#[test]
fn queue2_serves_highly_urgent_then_urgent_then_normal() {
    // B0 holds 100 and queues, in this order, a normal, an urgent and a highly urgent payment of
    // 100 each (the last named highly urgent despite priority 5): only the highly urgent one settles.
    let mut l = ledger(&[100, 0, 0]);
    let normal = queue(&mut l, 0, 1, 100, 5, None);
    let urgent = queue(&mut l, 0, 2, 100, 9, None);
    let highly = queue(&mut l, 0, 1, 100, 5, Some(RtgsClass::HighlyUrgent));
    assert_eq!(rtgs::process_queue(&mut l, QueueDiscipline::FifoBypass, 0), 1);
    assert_eq!(l.payments[highly as usize].status, Status::Settled);
    assert_eq!(l.payments[urgent as usize].status, Status::Queue2);
    assert_eq!(l.payments[normal as usize].status, Status::Queue2);
    // With 100 more, the urgent one goes next, ahead of the earlier normal one.
    let mut l = ledger(&[200, 0, 0]);
    let normal = queue(&mut l, 0, 1, 100, 5, None);
    let urgent = queue(&mut l, 0, 2, 100, 8, None);
    let highly = queue(&mut l, 0, 1, 100, 10, None);
    assert_eq!(rtgs::process_queue(&mut l, QueueDiscipline::FifoBypass, 0), 2);
    assert_eq!(l.payments[normal as usize].status, Status::Queue2);
    assert_eq!(l.payments[urgent as usize].status, Status::Settled);
    assert_eq!(l.payments[highly as usize].status, Status::Settled);
}

#[test]
fn t2_queue_is_strict_for_urgent_classes_and_bypass_for_normal() {
    // B0 holds 50. Urgent: 100 then 30, the 30 must wait behind the 100. Highly urgent: 60 then 10,
    // the 10 waits behind the 60. Normal: 100 then 30, the 30 bypasses and settles: 50 − 30 = 20.
    let mut l = ledger(&[50, 0, 0]);
    let u_big = queue(&mut l, 0, 1, 100, 9, None);
    let u_small = queue(&mut l, 0, 2, 30, 9, None);
    let hu_big = queue(&mut l, 0, 1, 60, 10, None);
    let hu_small = queue(&mut l, 0, 2, 10, 10, None);
    let n_big = queue(&mut l, 0, 1, 100, 5, None);
    let n_small = queue(&mut l, 0, 2, 30, 5, None);
    assert_eq!(rtgs::process_queue(&mut l, QueueDiscipline::T2, 0), 1);
    for tx in [u_big, u_small, hu_big, hu_small, n_big] {
        assert_eq!(l.payments[tx as usize].status, Status::Queue2, "tx {tx}");
    }
    assert_eq!(l.payments[n_small as usize].status, Status::Settled);
    assert_eq!(l.banks[0].balance, 20);
    // The same queue under fifo_bypass: the highly urgent 10 settles first, then the urgent 30;
    // 50 − 10 − 30 = 10 is too little for anything else.
    let mut l = ledger(&[50, 0, 0]);
    for (amount, priority) in [(100, 9), (30, 9), (60, 10), (10, 10), (100, 5), (30, 5)] {
        queue(&mut l, 0, 1, amount, priority, None);
    }
    assert_eq!(rtgs::process_queue(&mut l, QueueDiscipline::FifoBypass, 0), 2);
    assert_eq!(l.banks[0].balance, 10);
}

#[test]
fn t2_queue_release_waits_behind_own_urgent_class_only() {
    // An urgent payment of B0 is queued; a new urgent release of B0 joins the queue untried,
    // a new normal release settles gross.
    let mut l = ledger(&[50, 0]);
    queue(&mut l, 0, 1, 100, 9, None);
    let mut mk = |priority| {
        let mut p = Payment::new(0, 1, 20, 0, 10);
        p.priority = priority;
        let tx = l.create(p);
        rtgs::release(&mut l, tx, QueueDiscipline::T2, 0);
        tx
    };
    let (urgent, normal) = (mk(9), mk(5));
    assert_eq!(l.payments[urgent as usize].status, Status::Queue2);
    assert_eq!(l.payments[normal as usize].settled_via, SettledVia::Rtgs);
    assert_eq!(l.banks[0].balance, 30);
}

/// Two banks without liquidity owing each other 100 in urgent payments: only an offset settles them.
fn urgent_pair(extra: serde_json::Value) -> Vec<Status> {
    let mut cfg = json!({"agent_configs": banks(&[("A", 0, 0), ("B", 0, 0)]),
        "lsm": {"mode": "bilateral"},
        "scheduled_payments": [
            {"sender": "A", "receiver": "B", "amount": 100, "arrival_tick": 0, "priority": 9},
            {"sender": "B", "receiver": "A", "amount": 100, "arrival_tick": 0, "rtgs_class": "urgent"}]});
    for (k, v) in extra.as_object().unwrap() {
        if k == "include_urgent" {
            cfg["lsm"]["include_urgent"] = v.clone();
        } else {
            cfg[k] = v.clone();
        }
    }
    let mut o = engine(cfg);
    o.tick().unwrap();
    statuses(&o)
}

#[test]
fn lsm_leaves_urgent_payments_alone_under_t2_queue_unless_included() {
    let settled = vec![Status::Settled, Status::Settled];
    let queued = vec![Status::Queue2, Status::Queue2];
    // Old disciplines: urgent payments are offset, as before the classes existed.
    assert_eq!(urgent_pair(json!({})), settled);
    assert_eq!(urgent_pair(json!({"rtgs": {"queue": "strict_fifo"}})), settled);
    assert_eq!(urgent_pair(json!({"include_urgent": false})), queued);
    // rtgs.queue: t2 offsets only normal payments unless told otherwise.
    assert_eq!(urgent_pair(json!({"rtgs": {"queue": "t2"}})), queued);
    assert_eq!(urgent_pair(json!({"rtgs": {"queue": "t2"}, "include_urgent": true})), settled);
}

#[test]
fn an_unknown_class_names_its_field() {
    let cfg = json!({"ticks_per_day": 5, "rng_seed": 1, "agent_configs": banks(&[("A", 0, 0), ("B", 0, 0)]),
        "scheduled_payments": [{"sender": "A", "receiver": "B", "amount": 1, "arrival_tick": 0, "rtgs_class": "high"}]});
    let e = paysim_engine::config::EngineConfig::from_value(&cfg, &paysim_engine::config::NoFiles).unwrap_err();
    assert_eq!(
        e.to_string(),
        "scheduled_payments[0].rtgs_class: unknown class 'high' (expected highly_urgent, urgent, normal)"
    );
}
