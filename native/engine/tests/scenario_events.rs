//! Exact, hand-computed cases for deferred crediting, the close with borrowing and each scenario
//! event (docs/semantics.md#crediting, #end-of-day, #scenario-events).

mod common;
use common::*;
use paysim_engine::events::{EventType, EVENT_TYPE_NAMES};
use paysim_engine::log::{EOD, EOD_BORROWING};
use paysim_engine::model::{SettledVia, Status, NONE};
use paysim_engine::Orchestrator;
use serde_json::{json, Value};

fn at(sender: &str, receiver: &str, amount: i64, tick: u32) -> Value {
    json!({"sender": sender, "receiver": receiver, "amount": amount, "arrival_tick": tick})
}

fn settle_ticks(o: &Orchestrator) -> Vec<u32> {
    o.payments().iter().map(|p| p.settle_tick).collect()
}

fn run(o: &mut Orchestrator) {
    while !o.is_finished() {
        o.tick().unwrap();
    }
}

/// (tick, type name, bank, counterparty, amount) of every event-log row.
fn event_rows(o: &Orchestrator) -> Vec<(u32, &'static str, u32, u32, i64)> {
    let l = o.event_log();
    (0..l.len())
        .map(|i| (l.tick[i], EVENT_TYPE_NAMES[l.event_type[i] as usize], l.bank[i], l.counterparty[i], l.amount[i]))
        .collect()
}

fn deferred_case(crediting: &str) -> Orchestrator {
    // A has nothing and owes C 100; B pays A 100 in the same tick.
    let cfg = json!({"agent_configs": banks(&[("A", 0, 0), ("B", 100, 0), ("C", 0, 0)]),
        "scheduled_payments": [pay("B", "A", 100), pay("A", "C", 100)], "rtgs": {"crediting": crediting}});
    let mut o = engine(cfg);
    run(&mut o);
    o.check_invariants().unwrap();
    o
}

#[test]
fn a_payment_funded_only_by_same_tick_incoming_waits_a_tick_under_deferred_crediting() {
    assert_eq!(settle_ticks(&deferred_case("immediate")), vec![0, 0]);
    let o = deferred_case("deferred");
    assert_eq!(settle_ticks(&o), vec![0, 1]);
    assert_eq!(o.payments()[1].settled_via, SettledVia::Queue);
    // The balance showed the receipt at once: A's row for tick 0 holds 100.
    assert_eq!(o.tick_log().balance[0], 100);
}

#[test]
fn the_close_lends_what_the_sender_lacks_beyond_its_credit_line_and_charges_it() {
    // A holds 30 with a line of 10 and owes B 100: at the close it borrows 60, charged 0.5 per unit.
    let cfg = json!({"ticks_per_day": 2, "agent_configs": banks(&[("A", 30, 10), ("B", 0, 0)]),
        "scheduled_payments": [pay("A", "B", 100)], "end_of_day": {"unsettled": "borrow"},
        "cost_rates": {"eod_borrowing_rate": 0.5, "liquidity_cost_per_unit_per_tick": 0.0, "collateral_cost_per_unit_per_tick": 0.0}});
    let mut o = engine(cfg);
    run(&mut o);
    let p = &o.payments()[0];
    assert_eq!((p.status, p.settled_via, p.settle_tick), (Status::Settled, SettledVia::EodBorrowing, 1));
    assert_eq!(balances(&o), vec![-70, 100]);
    assert_eq!(o.bank_costs()[0][EOD_BORROWING], 30.0);
    assert_eq!(o.bank_costs()[0][EOD], 0.0);
    assert_eq!(event_rows(&o), vec![(1, "eod_borrowing", 0, NONE, 60)]);
    assert_eq!(o.tick_log().settled[SettledVia::EodBorrowing as usize - 1], vec![0, 0, 1, 0]);
    o.check_invariants().unwrap();
}

#[test]
fn an_outage_grows_queue1_and_leaves_its_receivers_short() {
    // A is out in ticks 2..=4; it pays B 10 at ticks 1, 2, 3 and 5, and receives 50 from B at tick 2.
    let sched =
        [at("A", "B", 10, 1), at("A", "B", 10, 2), at("A", "B", 10, 3), at("A", "B", 10, 5), at("B", "A", 50, 2)];
    let outage = json!([{"type": "outage", "bank": "A", "start_tick": 2, "end_tick": 4}]);
    let cfg = |events: Value| json!({"agent_configs": banks(&[("A", 100, 0), ("B", 100, 0)]), "scheduled_payments": sched, "events": events});
    let (mut hit, mut base) = (engine(cfg(outage)), engine(cfg(json!([]))));
    run(&mut hit);
    run(&mut base);
    let (lh, lb) = (hit.tick_log(), base.tick_log());
    let a_q1: Vec<u32> = (0..7).map(|t| lh.queue1_count[t * 2]).collect();
    assert_eq!(a_q1, vec![0, 0, 1, 2, 2, 0, 0]);
    let b_received = |l: &paysim_engine::log::TickLog| (0..7).map(|t| l.value_received[t * 2 + 1]).collect::<Vec<_>>();
    assert_eq!(b_received(lb), vec![0, 10, 10, 10, 0, 10, 0]);
    assert_eq!(b_received(lh), vec![0, 10, 0, 0, 0, 30, 0]);
    // It kept receiving: B's 50 reached A at tick 2.
    assert_eq!(lh.value_received[2 * 2], 50);
    assert_eq!(event_rows(&hit), vec![(2, "outage_start", 0, NONE, -1), (5, "outage_end", 0, NONE, -1)]);
    hit.check_invariants().unwrap();
}

#[test]
fn a_squeeze_below_use_keeps_the_balance_and_blocks_until_receipts_restore_headroom() {
    // A uses 60 of a 100 line; at tick 1 the line becomes 20, so A's 10 to B waits until B pays A 50.
    let cfg = json!({"agent_configs": banks(&[("A", 0, 100), ("B", 0, 0)]),
        "scheduled_payments": [pay("A", "B", 60), at("A", "B", 10, 1), at("B", "A", 50, 2)],
        "events": [{"type": "credit_limit", "bank": "A", "tick": 1, "credit_limit": 20}]});
    let mut o = engine(cfg);
    o.tick().unwrap();
    o.tick().unwrap();
    assert_eq!((o.banks()[0].balance, o.banks()[0].credit_limit), (-60, 20));
    assert_eq!(o.payments()[1].status, Status::Queue2);
    // A saved state restores with the squeezed line.
    let mut o = Orchestrator::load_state(&o.save_state().unwrap()).unwrap();
    run(&mut o);
    assert_eq!(settle_ticks(&o), vec![0, 2, 2]);
    assert_eq!(balances(&o), vec![-20, 20]);
    assert_eq!(event_rows(&o), vec![(1, "credit_limit", 0, NONE, 20)]);
    o.check_invariants().unwrap();
}

#[test]
fn an_injection_and_a_transfer_move_money_and_the_books_count_them() {
    // A owes B 100 with nothing; the central bank injects 100 into A at tick 3; B sends A 40 at tick 5.
    let cfg = json!({"agent_configs": banks(&[("A", 0, 0), ("B", 0, 0)]), "scheduled_payments": [pay("A", "B", 100)],
        "events": [{"type": "transfer", "to": "A", "amount": 100, "tick": 3},
                   {"type": "transfer", "from": "B", "to": "A", "amount": 40, "tick": 5}]});
    let mut o = engine(cfg);
    run(&mut o);
    assert_eq!(settle_ticks(&o), vec![3]);
    assert_eq!(balances(&o), vec![40, 60]);
    assert_eq!(event_rows(&o), vec![(3, "injection", 0, NONE, 100), (5, "transfer", 0, 1, 40)]);
    o.check_invariants().unwrap();
    assert_eq!(EVENT_TYPE_NAMES[EventType::Injection as usize], "injection");
}

fn surge_run(events: Value) -> Orchestrator {
    let agents: Vec<Value> = ["A", "B", "C"]
        .iter()
        .map(|id| {
            json!({"id": id, "opening_balance": 1_000_000, "policy": {"type": "Fifo"},
            "arrival_config": {"rate_per_tick": 2.0, "distribution": {"type": "Exponential", "mean": 500.0}}})
        })
        .collect();
    let mut o = engine(json!({"agent_configs": agents, "rng_seed": 7, "events": events}));
    run(&mut o);
    o
}

#[test]
fn a_surge_multiplies_one_banks_arrivals_and_leaves_the_others_draws_unchanged() {
    let surge = json!([{"type": "arrival_surge", "bank": "B", "start_tick": 2, "end_tick": 5, "factor": 3.0}]);
    let (hit, base) = (surge_run(surge), surge_run(json!([])));
    let orders = |o: &Orchestrator, bank: u32| {
        o.payments()
            .iter()
            .filter(|p| p.sender == bank)
            .map(|p| (p.receiver, p.amount, p.arrival_tick, p.pair_key))
            .collect::<Vec<_>>()
    };
    assert_eq!(orders(&hit, 0), orders(&base, 0));
    assert_eq!(orders(&hit, 2), orders(&base, 2));
    let in_window = |o: &Orchestrator| orders(o, 1).iter().filter(|x| (2..=5).contains(&x.2)).count();
    assert!(in_window(&hit) > in_window(&base), "{} vs {}", in_window(&hit), in_window(&base));
    // Before the surge B drew the same orders.
    let before = |o: &Orchestrator| orders(o, 1).into_iter().filter(|x| x.2 < 2).collect::<Vec<_>>();
    assert_eq!(before(&hit), before(&base));
    assert_eq!(event_rows(&hit), vec![(2, "surge_start", 1, NONE, -1), (6, "surge_end", 1, NONE, -1)]);
}
