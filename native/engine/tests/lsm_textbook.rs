//! Textbook LSM cases with exact expected balances. Every case has liquidity too short for gross
//! settlement, so whatever settles, settles through the LSM.

mod common;
use common::*;
use paysim_engine::model::{SettledVia, Status};
use serde_json::json;

#[test]
fn two_banks_without_liquidity_gridlock_under_none() {
    let mut o = engine(json!({"lsm": {"mode": "none"}, "agent_configs": banks(&[("A", 0, 0), ("B", 0, 0)]),
        "scheduled_payments": [pay("A", "B", 100), pay("B", "A", 100)]}));
    let r = o.tick().unwrap();
    assert_eq!(r.num_settlements, 0);
    assert_eq!(r.queue2_size, 2);
    assert_eq!(balances(&o), vec![0, 0]);
    assert_eq!(o.gridlock_ticks(), 1);
}

#[test]
fn two_banks_without_liquidity_settle_bilaterally_same_tick() {
    let mut o = engine(json!({"lsm": {"mode": "bilateral"}, "agent_configs": banks(&[("A", 0, 0), ("B", 0, 0)]),
        "scheduled_payments": [pay("A", "B", 100), pay("B", "A", 100)]}));
    let r = o.tick().unwrap();
    assert_eq!((r.num_settlements, r.lsm_bilateral_releases, r.queue2_size), (2, 2, 0));
    assert_eq!(balances(&o), vec![0, 0]);
    assert_eq!(via(&o), vec![SettledVia::Bilateral; 2]);
}

#[test]
fn unequal_bilateral_offset_needs_only_the_net() {
    // A owes 300, B owes 200: A's net debit is 100 and A has exactly 100.
    let mut o = engine(json!({"lsm": {"mode": "bilateral"}, "agent_configs": banks(&[("A", 100, 0), ("B", 0, 0)]),
        "scheduled_payments": [pay("A", "B", 300), pay("B", "A", 200)]}));
    o.tick().unwrap();
    assert_eq!(balances(&o), vec![0, 100]);
    assert!(o.payments().iter().all(settled));
}

#[test]
fn bilateral_takes_out_net_payers_last_payments_until_covered() {
    // A owes 300 then 250; B owes 200. All three net: A −350 with 100 → not covered.
    // Remove A's last (250): A nets −100, covered → settle A→B 300 and B→A 200.
    let mut o = engine(json!({"lsm": {"mode": "bilateral"}, "agent_configs": banks(&[("A", 100, 0), ("B", 0, 0)]),
        "scheduled_payments": [pay("A", "B", 300), pay("A", "B", 250), pay("B", "A", 200)]}));
    o.tick().unwrap();
    assert_eq!(statuses(&o), vec![Status::Settled, Status::Queue2, Status::Settled]);
    assert_eq!(balances(&o), vec![0, 100]);
}

#[test]
fn three_bank_unequal_cycle_each_covers_only_its_net() {
    // A→B 500, B→C 400, C→A 300. Nets: A −200, B +100, C +100. A holds exactly 200.
    for mode in ["cycles", "multilateral", "t2"] {
        let mut o =
            engine(json!({"lsm": {"mode": mode}, "agent_configs": banks(&[("A", 200, 0), ("B", 0, 0), ("C", 0, 0)]),
            "scheduled_payments": [pay("A", "B", 500), pay("B", "C", 400), pay("C", "A", 300)]}));
        let r = o.tick().unwrap();
        assert_eq!(balances(&o), vec![0, 100, 100], "mode {mode}");
        assert_eq!(r.lsm_cycle_releases, 3, "mode {mode}");
        assert_eq!(via(&o), vec![SettledVia::Multilateral; 3], "mode {mode}");
    }
    // One cent less and nobody's net is covered: nothing settles.
    let mut o =
        engine(json!({"lsm": {"mode": "cycles"}, "agent_configs": banks(&[("A", 199, 0), ("B", 0, 0), ("C", 0, 0)]),
        "scheduled_payments": [pay("A", "B", 500), pay("B", "C", 400), pay("C", "A", 300)]}));
    o.tick().unwrap();
    assert_eq!(balances(&o), vec![199, 0, 0]);
}

#[test]
fn cycles_found_in_the_other_orientation() {
    // A→C→B→A (against index order), no liquidity at all, equal values.
    let mut o =
        engine(json!({"lsm": {"mode": "cycles"}, "agent_configs": banks(&[("A", 0, 0), ("B", 0, 0), ("C", 0, 0)]),
        "scheduled_payments": [pay("A", "C", 70), pay("C", "B", 70), pay("B", "A", 70)]}));
    let r = o.tick().unwrap();
    assert_eq!(r.lsm_cycle_releases, 3);
}

#[test]
fn four_bank_ring_settles_in_the_tick_it_completes() {
    // The design notes' ring, with liquidity too short for gross settlement (docs/testing.md#errors-in-the-design-notes).
    for mode in ["cycles", "multilateral", "t2"] {
        let mut o = engine(json!({"lsm": {"mode": mode},
            "agent_configs": banks(&[("A", 10_000, 0), ("B", 10_000, 0), ("C", 10_000, 0), ("D", 10_000, 0)]),
            "scheduled_payments": [pay("A", "B", 50_000), pay("B", "C", 50_000), pay("C", "D", 50_000),
                {"sender": "D", "receiver": "A", "amount": 50_000, "arrival_tick": 2}]}));
        let r0 = o.tick().unwrap();
        assert_eq!((r0.num_settlements, r0.queue2_size), (0, 3), "mode {mode}");
        o.tick().unwrap();
        let r2 = o.tick().unwrap();
        assert_eq!((r2.num_settlements, r2.lsm_cycle_releases, r2.queue2_size), (4, 4, 0), "mode {mode}");
        assert_eq!(balances(&o), vec![10_000; 4]);
    }
}

#[test]
fn all_or_nothing_fails_atomically_then_partial_removes_short_banks_payments() {
    // Ring A→B→C→A of 100 plus C→A 50 extra. Nets: A +50, B 0, C −50. C has 0: all-or-nothing fails.
    // Partial: C is the only uncovered bank; its last payment (C→A 50) goes; the ring then settles.
    let mut o = engine(
        json!({"lsm": {"mode": "multilateral"}, "agent_configs": banks(&[("A", 0, 0), ("B", 0, 0), ("C", 0, 0)]),
        "scheduled_payments": [pay("A", "B", 100), pay("B", "C", 100), pay("C", "A", 100), pay("C", "A", 50)]}),
    );
    o.tick().unwrap();
    assert_eq!(statuses(&o), vec![Status::Settled, Status::Settled, Status::Settled, Status::Queue2]);
    assert_eq!(balances(&o), vec![0, 0, 0]);
}

#[test]
fn all_or_nothing_settles_everything_when_all_nets_are_covered() {
    let mut o = engine(
        json!({"lsm": {"mode": "multilateral"}, "agent_configs": banks(&[("A", 0, 0), ("B", 50, 0), ("C", 0, 0)]),
        "scheduled_payments": [pay("A", "B", 100), pay("B", "C", 150), pay("C", "A", 100)]}),
    );
    let r = o.tick().unwrap();
    assert_eq!(r.lsm_cycle_releases, 3);
    assert_eq!(balances(&o), vec![0, 0, 50]);
}

#[test]
fn partial_takes_largest_shortfall_first_ties_by_id() {
    // Two short banks: B short by 80, C short by 30 (both pay A). B's last payment goes first;
    // then C is still short and its payment goes; nothing left to offset.
    let mut o = engine(
        json!({"lsm": {"mode": "multilateral"}, "agent_configs": banks(&[("A", 0, 0), ("B", 0, 0), ("C", 0, 0)]),
        "scheduled_payments": [pay("B", "A", 80), pay("C", "A", 30)]}),
    );
    o.tick().unwrap();
    assert_eq!(statuses(&o), vec![Status::Queue2, Status::Queue2]);
}

#[test]
fn t2_runs_bilateral_on_what_multilateral_leaves() {
    // D is short (owes E 500 with nothing) which blocks the all-or-nothing; partial removes D→E,
    // A↔B offset settles inside multilateral; so bilateral has nothing left. Check D→E stays.
    let mut o = engine(
        json!({"lsm": {"mode": "t2"}, "agent_configs": banks(&[("A", 0, 0), ("B", 0, 0), ("D", 0, 0), ("E", 0, 0)]),
        "scheduled_payments": [pay("A", "B", 100), pay("B", "A", 100), pay("D", "E", 500)]}),
    );
    o.tick().unwrap();
    assert_eq!(statuses(&o), vec![Status::Settled, Status::Settled, Status::Queue2]);
}

#[test]
fn fifo_bypass_and_strict_fifo_differ() {
    // A: a big payment it cannot cover, then a small one it can.
    let run = |q: &str| {
        let mut o = engine(json!({"lsm": {"mode": "none"}, "rtgs": {"queue": q},
            "agent_configs": banks(&[("A", 50, 0), ("B", 0, 0), ("C", 0, 0)]),
            "scheduled_payments": [pay("A", "B", 100), pay("A", "C", 30)]}));
        o.tick().unwrap();
        (balances(&o), statuses(&o))
    };
    assert_eq!(run("fifo_bypass"), (vec![20, 0, 30], vec![Status::Queue2, Status::Settled]));
    assert_eq!(run("strict_fifo"), (vec![50, 0, 0], vec![Status::Queue2, Status::Queue2]));
}

#[test]
fn cycles_settles_shorter_cycles_before_longer_ones() {
    // A holds 10, enough for its net in one of two cycles: A↔B (20 out, 10 back; value 30) or
    // A→C→D→A (100, 100, 90; value 290). Cycles of length 2 settle before any of length 3, so
    // that a longer max_cycle_length can only add to what a shorter one settles: A↔B goes.
    let mut o = engine(json!({"lsm": {"mode": "cycles"},
        "agent_configs": banks(&[("A", 10, 0), ("B", 0, 0), ("C", 0, 0), ("D", 0, 0)]),
        "scheduled_payments": [pay("A", "B", 20), pay("B", "A", 10), pay("A", "C", 100), pay("C", "D", 100), pay("D", "A", 90)]}));
    let r = o.tick().unwrap();
    assert_eq!(r.lsm_cycle_releases, 2);
    assert_eq!(balances(&o), vec![0, 10, 0, 0]);
    assert_eq!(statuses(&o), [[Status::Settled; 2].as_slice(), &[Status::Queue2; 3]].concat());
}
