//! Reproductions of LSM defects (issue 8), each failing on the engine before its fix: `cycles`
//! missing cycles on dense queues and depending on bank order, offsets overtaking a stuck payment
//! under `strict_fifo`, and queue sums overflowing `i64` inside the LSM (the same queues through
//! the whole engine are in `money.rs`).

mod common;
use common::*;
use paysim_engine::config::{LsmConfig, LsmMode, QueueDiscipline};
use paysim_engine::model::{Bank, BankIdx, Payment, Status, TxIdx};
use paysim_engine::settlement::{lsm, Ledger};
use serde_json::{json, Value};

/// `n` banks without liquidity, one payment on every ordered pair: bank 0 pays 1,000 to everyone
/// and receives 1 from everyone, every other payment is a distinct amount in 100–1,099, and the
/// pair `pair` pays each other 50. With no liquidity only equal-valued cycles are covered, and
/// the amounts are distinct, so the 50/50 pair is the only thing any LSM can settle.
fn dense_queue(n: usize, pair: (usize, usize), order: &[usize], max_cycle_length: u32) -> Value {
    let id = |i: usize| format!("B{i:02}");
    let amount = |s: usize, r: usize| match (s, r) {
        (0, _) => 1_000,
        (_, 0) => 1,
        _ if (s, r) == pair || (r, s) == pair => 50,
        _ => 100 + (s * n + r) as i64,
    };
    let mut payments = Vec::new();
    for s in 0..n {
        for r in (0..n).filter(|r| *r != s) {
            payments.push(pay(&id(s), &id(r), amount(s, r)));
        }
    }
    let agents: Vec<(String, i64, i64)> = order.iter().map(|&i| (id(i), 0, 0)).collect();
    let specs: Vec<(&str, i64, i64)> = agents.iter().map(|(id, b, c)| (id.as_str(), *b, *c)).collect();
    json!({"lsm": {"mode": "cycles", "max_cycle_length": max_cycle_length}, "agent_configs": banks(&specs),
           "scheduled_payments": payments})
}

/// (sender id, receiver id, amount) of every payment settled in the first tick.
fn settled_in_first_tick(cfg: Value) -> Vec<(String, String, i64)> {
    let mut o = engine(cfg);
    o.tick().unwrap();
    let id = |b: BankIdx| o.banks()[b as usize].id.clone();
    let mut out: Vec<_> =
        o.payments().iter().filter(|p| settled(p)).map(|p| (id(p.sender), id(p.receiver), p.amount)).collect();
    out.sort();
    out
}

fn the_pair(a: usize, b: usize) -> Vec<(String, String, i64)> {
    vec![(format!("B{a:02}"), format!("B{b:02}"), 50), (format!("B{b:02}"), format!("B{a:02}"), 50)]
}

#[test]
fn cycles_finds_the_pair_of_the_last_banks_on_a_dense_queue() {
    let order: Vec<usize> = (0..13).collect();
    assert_eq!(settled_in_first_tick(dense_queue(13, (11, 12), &order, 6)), the_pair(11, 12));
}

#[test]
fn cycles_settles_the_same_whichever_banks_hold_the_pair() {
    let order: Vec<usize> = (0..13).collect();
    assert_eq!(settled_in_first_tick(dense_queue(13, (1, 2), &order, 6)), the_pair(1, 2));
}

#[test]
fn cycles_settles_the_same_whatever_the_config_order_of_the_banks() {
    let reversed: Vec<usize> = (0..13).rev().collect();
    let shuffled: Vec<usize> = (0..13).map(|i| (i * 5 + 3) % 13).collect();
    for order in [reversed, shuffled] {
        assert_eq!(settled_in_first_tick(dense_queue(13, (11, 12), &order, 6)), the_pair(11, 12), "{order:?}");
    }
}

#[test]
fn a_longer_allowed_cycle_never_settles_less() {
    let order: Vec<usize> = (0..10).collect();
    let six = settled_in_first_tick(dense_queue(10, (8, 9), &order, 6));
    assert_eq!(six, the_pair(8, 9));
    for longer in [8, 12] {
        assert_eq!(settled_in_first_tick(dense_queue(10, (8, 9), &order, longer)), six, "max {longer}");
    }
}

#[test]
fn a_cycle_search_cut_short_by_its_budget_is_reported_in_the_metrics() {
    // 100 banks, one payment of 100 per pair in one direction only (a tournament) and no
    // liquidity: every one of the millions of cycles is covered, more than one pass can list.
    let ids: Vec<String> = (0..100).map(|i| format!("B{i:02}")).collect();
    let mut payments = Vec::new();
    for s in 0..100 {
        for r in (0..100).filter(|&r| r != s && ((s + r) % 2 == 0) == (s < r)) {
            payments.push(pay(&ids[s], &ids[r], 100));
        }
    }
    let specs: Vec<(&str, i64, i64)> = ids.iter().map(|id| (id.as_str(), 0, 0)).collect();
    let mut o = engine(json!({"ticks_per_day": 2, "lsm": {"mode": "cycles"}, "agent_configs": banks(&specs),
                              "scheduled_payments": payments}));
    let first = o.tick().unwrap();
    assert!(first.lsm_cycle_releases > 0);
    let metric = |o: &paysim_engine::Orchestrator| {
        paysim_engine::metrics::compute(o).unwrap().into_iter().find(|m| m.0 == "lsm_cycle_search_truncated").unwrap().1
    };
    assert_eq!(metric(&o), paysim_engine::metrics::MetricValue::Int(1));
    // A queue the search covers in full adds nothing to the count.
    let mut small = engine(json!({"lsm": {"mode": "cycles"}, "agent_configs": banks(&[("A", 0, 0), ("B", 0, 0)]),
                                  "scheduled_payments": [pay("A", "B", 5), pay("B", "A", 5)]}));
    small.tick().unwrap();
    assert_eq!(metric(&small), paysim_engine::metrics::MetricValue::Int(0));
}

/// Under `strict_fifo`, A's payment to C (which A cannot cover) blocks A's later payment to B, so
/// the A↔B pair must not offset; under `fifo_bypass` it does.
fn blocked_pair(mode: &str, queue: &str) -> Vec<Status> {
    let mut o = engine(json!({"lsm": {"mode": mode}, "rtgs": {"queue": queue},
        "agent_configs": banks(&[("A", 0, 0), ("B", 0, 0), ("C", 0, 0)]),
        "scheduled_payments": [pay("A", "C", 100), pay("A", "B", 50), pay("B", "A", 50)]}));
    o.tick().unwrap();
    statuses(&o)
}

#[test]
fn under_strict_fifo_no_offset_overtakes_a_stuck_payment_of_the_same_sender() {
    for mode in ["bilateral", "cycles", "multilateral", "t2", "t2_classic"] {
        assert_eq!(blocked_pair(mode, "strict_fifo"), vec![Status::Queue2; 3], "mode {mode}");
    }
}

#[test]
fn under_fifo_bypass_the_pair_behind_a_stuck_payment_offsets() {
    for mode in ["bilateral", "cycles", "t2", "t2_classic"] {
        let expected = vec![Status::Queue2, Status::Settled, Status::Settled];
        assert_eq!(blocked_pair(mode, "fifo_bypass"), expected, "mode {mode}");
    }
}

/// The largest payment amount the config accepts.
const E15: i64 = 1_000_000_000_000_000;

fn ledger(banks: &[(i64, i64)]) -> Ledger {
    Ledger::new(banks.iter().enumerate().map(|(i, (bal, credit))| Bank::new(format!("B{i}"), *bal, *credit)).collect())
}

/// Put a payment into Queue 2 through the ordinary path (the sender's queue value is an `i128`,
/// so these queues of more than `i64` are held exactly).
fn queue(l: &mut Ledger, sender: BankIdx, receiver: BankIdx, amount: i64) -> TxIdx {
    let tx = l.create(Payment::new(sender, receiver, amount, 0, 9));
    l.enqueue2(tx);
    tx
}

fn run(l: &mut Ledger, mode: LsmMode) -> usize {
    lsm::run(
        l,
        &LsmConfig { mode, max_cycle_length: 6, include_urgent: None, ..LsmConfig::default() },
        QueueDiscipline::FifoBypass,
        &[0, 1, 2],
        0,
    )
}

#[test]
fn multilateral_does_not_settle_queues_summing_past_i64() {
    // A has nothing and queues 9,224 × 1e15 (> i64::MAX in total) to B and C.
    for mode in [LsmMode::Multilateral, LsmMode::T2, LsmMode::T2Classic] {
        let mut l = ledger(&[(0, 0), (0, 0), (0, 0)]);
        for i in 0..9_224 {
            queue(&mut l, 0, 1 + i % 2, E15);
        }
        assert_eq!(l.banks[0].queue2_value, 9_224 * E15 as i128, "{mode:?}");
        assert_eq!(run(&mut l, mode), 0, "{mode:?}");
        assert_eq!(l.banks.iter().map(|b| b.balance).collect::<Vec<_>>(), vec![0, 0, 0], "{mode:?}");
    }
}

#[test]
fn multilateral_with_a_single_receiver_of_more_than_i64_settles_nothing_without_panicking() {
    let mut l = ledger(&[(0, 0), (0, 0), (0, 0)]);
    for _ in 0..9_224 {
        queue(&mut l, 0, 1, E15);
    }
    assert_eq!(run(&mut l, LsmMode::Multilateral), 0);
    assert_eq!(l.queue2.len, 9_224);
}

#[test]
fn bilateral_keeps_the_net_payer_within_its_limit_when_a_direction_sums_past_i64() {
    // A (3e14) owes B 18,448 × 1e15, which wraps an i64 sum to about +1.6e15; B owes A 1e15.
    // A covers a net of at most 3e14, so only its first payment offsets B's.
    let mut l = ledger(&[(300_000_000_000_000, 0), (0, 0), (0, 0)]);
    let first = queue(&mut l, 0, 1, E15);
    for _ in 1..18_448 {
        queue(&mut l, 0, 1, E15);
    }
    let back = queue(&mut l, 1, 0, E15);
    assert_eq!(run(&mut l, LsmMode::Bilateral), 2);
    assert_eq!((l.banks[0].balance, l.banks[1].balance), (300_000_000_000_000, 0));
    assert_eq!(
        (l.payments[first as usize].status, l.payments[back as usize].status),
        (Status::Settled, Status::Settled)
    );
    assert_eq!((l.banks[0].queue2_value, l.banks[1].queue2_value), (18_447 * E15 as i128, 0));
}

#[test]
fn an_offset_whose_gross_flows_exceed_i64_settles_on_its_net_without_overflow() {
    // A and B owe each other 9,224 × 1e15 (each direction > i64::MAX): the net is 0, so every
    // payment offsets, and no balance may pass through a value i64 cannot hold on the way.
    for mode in [LsmMode::Bilateral, LsmMode::Multilateral, LsmMode::T2, LsmMode::T2Classic] {
        let mut l = ledger(&[(0, 0), (0, 0), (0, 0)]);
        for _ in 0..9_224 {
            queue(&mut l, 0, 1, E15);
            queue(&mut l, 1, 0, E15);
        }
        assert_eq!(run(&mut l, mode), 2 * 9_224, "{mode:?}");
        assert_eq!(l.banks.iter().map(|b| b.balance).collect::<Vec<_>>(), vec![0, 0, 0], "{mode:?}");
        assert_eq!((l.banks[0].min_balance, l.banks[1].min_balance), (0, 0), "{mode:?}");
        assert_eq!((l.acc.value_sent[0], l.acc.value_received[0]), (9_224 * E15 as i128, 9_224 * E15 as i128));
    }
}
