//! The new `lsm.mode: t2` against `t2_classic` and `bilateral` (issue 10): the 3-ring queued behind
//! a stuck payment, the queue on which T2's sequence alone settles less than `bilateral`, and
//! proptests of the guarantees per LSM pass on the same queue (at least the value of `t2_classic`
//! and of `bilateral`, the same settled set on every run), with limits, reservations, classes and
//! both queue disciplines switched on at random.

mod common;
use common::*;
use paysim_engine::config::{EngineConfig, LsmConfig, LsmMode, NoFiles, QueueDiscipline};
use paysim_engine::model::{Bank, BankIdx, Payment, RtgsClass, Status, TxIdx};
use paysim_engine::settlement::lsm::{bilateral, Scope};
use paysim_engine::settlement::rules::SenderRules;
use paysim_engine::settlement::{lsm, rtgs, t2, Ledger};
use proptest::prelude::*;
use serde_json::{json, Value};

/// A owes E 500 it cannot cover, queued first; behind it the ring A→B 100, B→C 101, C→A 102 with
/// balances A 0, B 1, C 2, which is feasible on its own (each bank pays at most 1 net).
fn ring_behind_a_stuck_payment(mode: &str, queue: &str) -> Vec<Status> {
    let mut o = engine(json!({"lsm": {"mode": mode}, "rtgs": {"queue": queue},
        "agent_configs": banks(&[("A", 0, 0), ("B", 1, 0), ("C", 2, 0), ("E", 0, 0)]),
        "scheduled_payments": [pay("A", "E", 500), pay("A", "B", 100), pay("B", "C", 101), pay("C", "A", 102)]}));
    o.tick().unwrap();
    statuses(&o)
}

#[test]
fn t2_classic_settles_nothing_of_the_ring_behind_a_stuck_payment() {
    // The partial algorithm takes the ring apart: A gives up its 100 to B first, then B and C
    // are short, and bilateral offsetting has no two-way pair.
    assert_eq!(ring_behind_a_stuck_payment("t2_classic", "fifo_bypass"), vec![Status::Queue2; 4]);
}

#[test]
fn t2_settles_the_ring_behind_a_stuck_payment() {
    let expected = vec![Status::Queue2, Status::Settled, Status::Settled, Status::Settled];
    assert_eq!(ring_behind_a_stuck_payment("t2", "fifo_bypass"), expected);
}

#[test]
fn under_strict_fifo_the_ring_waits_behind_the_stuck_payment() {
    // A's 100 to B may not leave Queue 2 before A's earlier 500 to E.
    assert_eq!(ring_behind_a_stuck_payment("t2", "strict_fifo"), vec![Status::Queue2; 4]);
}

const BYPASS: Scope = Scope { discipline: QueueDiscipline::FifoBypass, urgent: true };

/// Banks `B0`, `B1`, … with (balance, credit) and the payments (sender, receiver, amount) in Queue 2.
fn queued(banks: &[(i64, i64)], payments: &[(BankIdx, BankIdx, i64)]) -> Ledger {
    let mut l = Ledger::new(banks.iter().enumerate().map(|(i, (b, c))| Bank::new(format!("B{i}"), *b, *c)).collect());
    for &(s, r, amount) in payments {
        let tx = l.create(Payment::new(s, r, amount, 0, 9));
        l.enqueue2(tx);
    }
    l
}

fn settled_value(l: &Ledger) -> i128 {
    l.payments.iter().filter(|p| p.status == Status::Settled).map(|p| p.amount as i128).sum()
}

/// B0 holds 50 and queues 50 to B2, then 100 to B1; B1 queues 60 back. The partial algorithm
/// takes out B0's 100 (its last payment), then B1's 60, and settles the 50 to B2, which leaves B0
/// nothing to pay the net 40 of the pair; `bilateral` alone settles the pair, 160. A proptest of
/// T2's sequence against `bilateral` (on the cases below) finds such queues at once; this is one
/// minimised by hand, and the reason `t2` compares openings.
fn pair_behind_a_payment_multilateral_can_cover() -> Ledger {
    queued(&[(50, 0), (0, 0), (0, 0)], &[(0, 2, 50), (0, 1, 100), (1, 0, 60)])
}

#[test]
fn t2_sequence_alone_settles_less_than_bilateral_on_a_pair_behind_a_covered_payment() {
    let mut sequence = pair_behind_a_payment_multilateral_can_cover();
    t2::sequence(&mut sequence, BYPASS, &[0, 1, 2], 0);
    let mut pairs = pair_behind_a_payment_multilateral_can_cover();
    bilateral(&mut pairs, BYPASS, 0);
    assert_eq!((settled_value(&sequence), settled_value(&pairs)), (50, 160));
}

#[test]
fn t2_settles_what_bilateral_settles_on_a_pair_behind_a_covered_payment() {
    let mut l = pair_behind_a_payment_multilateral_can_cover();
    t2::t2(&mut l, 6, BYPASS, &[0, 1, 2], 0);
    assert_eq!(settled_value(&l), 160);
}

#[test]
fn algorithm_3_takes_the_pair_with_the_smallest_difference_first() {
    // B0 holds 10: enough for the net 5 towards B2 or the net 10 towards B1, not both. Bank
    // order would take the B0–B1 pair first; T2's algorithm 3 takes B0–B2 (difference 5).
    let mut l = queued(&[(10, 0), (0, 0), (0, 0)], &[(0, 1, 30), (1, 0, 20), (0, 2, 15), (2, 0, 10)]);
    assert_eq!(t2::bilateral_by_difference(&mut l, BYPASS, &[0, 1, 2], 0), 2);
    let settled: Vec<bool> = l.payments.iter().map(|p| p.status == Status::Settled).collect();
    assert_eq!(settled, vec![false, false, true, true]);
}

#[test]
fn algorithm_3_breaks_equal_differences_by_the_banks_id_ranks() {
    // Both pairs differ by 10 and B0 covers one: the pair whose banks rank first by id goes first.
    let payments = [(0, 1, 30), (1, 0, 20), (0, 2, 30), (2, 0, 20)];
    for (rank, first_pair) in [([0, 1, 2], [true, true, false, false]), ([0, 2, 1], [false, false, true, true])] {
        let mut l = queued(&[(10, 0), (0, 0), (0, 0)], &payments);
        t2::bilateral_by_difference(&mut l, BYPASS, &rank, 0);
        let settled: Vec<bool> = l.payments.iter().map(|p| p.status == Status::Settled).collect();
        assert_eq!(settled, first_pair, "rank {rank:?}");
    }
}

/// B1 holds 100 and reserves 50 for highly urgent payments; B0 and B2 hold nothing. Queue 2: B1's
/// highly urgent 100 to B0 and urgent 150 to B2, and the normal 150s B2→B0 and B0→B1. All at once,
/// B1 pays 100 net with an urgent payment among them and breaks its reservation, so it gives up
/// its 150; then B2 and B0 are short in turn and give up theirs; the highly urgent 100 settles.
/// Left: the ring of 150s, a net of zero for every bank, which needs no liquidity and leaves no
/// reservation to keep: algorithms 1 and 2 run again settle it (algorithm 3 has no pair to offset).
fn reservation_broken_by_urgent_then_net_zero() -> Ledger {
    let case = Case {
        n: 3,
        banks: vec![(0, 0, None, None, None), (100, 0, None, None, Some((50, 0))), (0, 0, None, None, None)],
        payments: vec![(1, 0, 100, 1), (1, 2, 150, 2), (2, 0, 150, 0), (0, 1, 150, 0)],
        discipline: QueueDiscipline::FifoBypass,
        include_urgent: true,
        deferred_crediting: false,
    };
    case.build(false)
}

#[test]
fn with_reservations_multilateral_right_after_multilateral_can_settle_more() {
    let mut l = reservation_broken_by_urgent_then_net_zero();
    assert_eq!(lsm::multilateral(&mut l, BYPASS, &[0, 1, 2], 0), 1);
    l.compact_queue2();
    assert_eq!(lsm::multilateral(&mut l, BYPASS, &[0, 1, 2], 0), 3);
}

#[test]
fn with_reservations_t2_sequence_repeats_algorithms_1_and_2() {
    let mut l = reservation_broken_by_urgent_then_net_zero();
    assert_eq!(t2::sequence(&mut l, BYPASS, &[0, 1, 2], 0), 4);
}

/// Per bank: (balance, credit, limit towards the next bank, multilateral limit, HU and U
/// reservations), each rule present or not at random.
type BankRules = (i64, i64, Option<i64>, Option<i64>, Option<(i64, i64)>);

fn bank_rules() -> impl Strategy<Value = BankRules> {
    (
        0i64..1500,
        prop::sample::select(vec![0i64, 0, 200, 600]),
        prop::option::weighted(0.25, 0i64..1500),
        prop::option::weighted(0.25, 0i64..2500),
        prop::option::weighted(0.25, (0i64..400, 0i64..400)),
    )
}

const CLASSES: [Option<RtgsClass>; 4] = [None, Some(RtgsClass::HighlyUrgent), Some(RtgsClass::Urgent), None];

/// A Queue 2 built by releasing the payments (sender, receiver, amount, class) through gross
/// settlement, so the limits carry the positions of what settled gross (and, under deferred
/// crediting, the receipts are unusable this tick).
#[derive(Clone, Debug)]
struct Case {
    n: usize,
    banks: Vec<BankRules>,
    payments: Vec<(usize, usize, i64, usize)>,
    discipline: QueueDiscipline,
    include_urgent: bool,
    deferred_crediting: bool,
}

prop_compose! {
    fn case()(n in 2usize..7)(
        n in Just(n),
        banks in prop::collection::vec(bank_rules(), n),
        payments in prop::collection::vec((0..n, 1..n, 1i64..1200, 0usize..4), 0..40),
        discipline in prop::sample::select(vec![QueueDiscipline::FifoBypass, QueueDiscipline::StrictFifo,
                                                QueueDiscipline::T2]),
        include_urgent in any::<bool>(),
        deferred_crediting in prop::bool::weighted(0.25),
    ) -> Case {
        let payments = payments.into_iter().map(|(s, k, a, c)| (s, (s + k) % n, a, c)).collect();
        Case { n, banks, payments, discipline, include_urgent, deferred_crediting }
    }
}

impl Case {
    fn agents(&self) -> Value {
        let agents: Vec<Value> = (0..self.n)
            .map(|i| {
                let (bal, credit, towards_next, multilateral, reserve) = self.banks[i];
                let mut a = json!({"id": format!("B{i}"), "opening_balance": bal, "credit_limit": credit,
                    "policy": {"type": "Fifo"}});
                let mut limits = json!({});
                if let Some(x) = towards_next {
                    limits["bilateral"] = json!({format!("B{}", (i + 1) % self.n): x});
                }
                if let Some(x) = multilateral {
                    limits["multilateral"] = json!(x);
                }
                if limits != json!({}) {
                    a["limits"] = limits;
                }
                if let Some((hu, u)) = reserve {
                    a["reservations"] = json!({"highly_urgent": hu, "urgent": u});
                }
                a
            })
            .collect();
        Value::Array(agents)
    }

    fn ledger(&self) -> Ledger {
        self.build(true)
    }

    /// The ledger, with the payments released through gross settlement (`gross`) or put straight
    /// into Queue 2.
    fn build(&self, gross: bool) -> Ledger {
        let cfg = EngineConfig::from_value(
            &json!({"ticks_per_day": 1, "rng_seed": 0, "agent_configs": self.agents()}),
            &NoFiles,
        )
        .unwrap();
        let mut l = Ledger::new(
            cfg.agents.iter().map(|a| Bank::new(a.id.clone(), a.opening_balance, a.credit_limit)).collect(),
        );
        l.rules = SenderRules::new(&cfg.agents, |id| cfg.agents.iter().position(|a| a.id == id));
        l.deferred_crediting = self.deferred_crediting;
        for &(s, r, amount, class) in &self.payments {
            let mut p = Payment::new(s as u32, r as u32, amount, 0, 9);
            p.rtgs_class = CLASSES[class];
            let tx = l.create(p);
            if gross {
                rtgs::release(&mut l, tx, self.discipline, 0);
            } else {
                l.enqueue2(tx);
            }
        }
        l
    }

    /// One LSM pass of `mode` on the case's Queue 2: the ledger after it and the value it settled.
    fn pass(&self, mode: LsmMode) -> (Ledger, i128) {
        let mut l = self.ledger();
        let before = settled_value(&l);
        let lsm =
            LsmConfig { mode, max_cycle_length: 4, include_urgent: Some(self.include_urgent), ..LsmConfig::default() };
        let rank: Vec<u32> = (0..self.n as u32).collect();
        lsm::run(&mut l, &lsm, self.discipline, &rank, 0);
        let value = settled_value(&l) - before;
        (l, value)
    }
}

fn outcome(l: &Ledger) -> Vec<(TxIdx, Status)> {
    l.payments.iter().enumerate().map(|(tx, p)| (tx as TxIdx, p.status)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn t2_settles_at_least_the_value_t2_classic_settles_on_the_same_queue(case in case()) {
        let (_, t2) = case.pass(LsmMode::T2);
        let (_, classic) = case.pass(LsmMode::T2Classic);
        prop_assert!(t2 >= classic, "t2 settled {} against t2_classic's {}", t2, classic);
    }

    #[test]
    fn t2_settles_at_least_the_value_bilateral_settles_on_the_same_queue(case in case()) {
        let (_, t2) = case.pass(LsmMode::T2);
        let (_, pairs) = case.pass(LsmMode::Bilateral);
        prop_assert!(t2 >= pairs, "t2 settled {} against bilateral's {}", t2, pairs);
    }

    #[test]
    fn t2_settles_the_same_set_on_every_run(case in case()) {
        let (first, _) = case.pass(LsmMode::T2);
        let (second, _) = case.pass(LsmMode::T2);
        prop_assert_eq!(outcome(&first), outcome(&second));
        prop_assert_eq!(first.banks.iter().map(|b| b.balance).collect::<Vec<_>>(),
                        second.banks.iter().map(|b| b.balance).collect::<Vec<_>>());
    }

    /// Why T2's sequence goes straight to algorithm 3 after algorithms 1 and 2 when no bank
    /// reserves liquidity (src/settlement/t2.rs): repeating them at once settles nothing.
    #[test]
    fn without_reservations_multilateral_right_after_multilateral_settles_nothing(mut case in case()) {
        case.banks.iter_mut().for_each(|b| b.4 = None);
        let mut l = case.ledger();
        let scope = Scope { discipline: case.discipline, urgent: case.include_urgent };
        let rank: Vec<u32> = (0..case.n as u32).collect();
        lsm::multilateral(&mut l, scope, &rank, 0);
        l.compact_queue2();
        prop_assert_eq!(lsm::multilateral(&mut l, scope, &rank, 0), 0);
    }

    #[test]
    fn t2_leaves_every_limit_and_credit_line(case in case()) {
        let (l, _) = case.pass(LsmMode::T2);
        prop_assert_eq!(l.rules.worst_breach(), None);
        for b in &l.banks {
            prop_assert!(b.min_balance >= -b.credit_limit, "{} reached {}", b.id, b.min_balance);
        }
    }
}
