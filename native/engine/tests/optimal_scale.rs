//! `lsm.mode: optimal` on large gridlocked queues: each pass is solved to proven optimality and
//! settles a set the exact check accepts. The solve time is printed (run with `--nocapture`), not
//! asserted: wall time belongs to benchmarks/lsm.py.

use std::time::Instant;

use paysim_engine::config::{LsmConfig, LsmMode, OptimalConfig, QueueDiscipline};
use paysim_engine::model::{Bank, Payment, Status};
use paysim_engine::settlement::{lsm, Ledger};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `payments` random payments among `banks` banks, each bank holding a tenth of what it owes on
/// average: a gridlocked Queue 2.
fn gridlock(banks: usize, payments: usize, seed: u64) -> (Ledger, Vec<u32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let orders: Vec<(u32, u32, i64)> = (0..payments)
        .map(|_| {
            let s = rng.gen_range(0..banks as u32);
            let r = (s + rng.gen_range(1..banks as u32)) % banks as u32;
            (s, r, rng.gen_range(1_000..1_000_000))
        })
        .collect();
    let mut owed = vec![0i64; banks];
    orders.iter().for_each(|o| owed[o.0 as usize] += o.2);
    let mut l = Ledger::new((0..banks).map(|i| Bank::new(format!("B{i:04}"), owed[i] / 10, 0)).collect());
    for &(s, r, amount) in &orders {
        let tx = l.create(Payment::new(s, r, amount, 0, 9));
        l.enqueue2(tx);
    }
    (l, (0..banks as u32).collect())
}

/// One optimal pass on a gridlock of `payments` among `banks`, within `time_limit_ms`; prints the
/// time and returns the ledger.
fn solve(banks: usize, payments: usize, time_limit_ms: u32) -> Ledger {
    let (mut l, rank) = gridlock(banks, payments, 11);
    let money: i64 = l.banks.iter().map(|b| b.balance).sum();
    let cfg = LsmConfig {
        mode: LsmMode::Optimal,
        optimal: OptimalConfig { time_limit_ms, max_queue: 100_000 },
        ..LsmConfig::default()
    };
    let started = Instant::now();
    let settled = lsm::run(&mut l, &cfg, QueueDiscipline::FifoBypass, &rank, 0);
    let s = &l.optimal;
    println!(
        "optimal: {payments} payments on {banks} banks: {settled} settled in {:.1} ms (solved {}, time-limited {}, gap {:.2e}, fallbacks {})",
        started.elapsed().as_secs_f64() * 1e3, s.solved, s.time_limited, s.max_gap, s.fallbacks
    );
    assert_eq!(settled, l.payments.iter().filter(|p| p.status == Status::Settled).count());
    assert_eq!(l.banks.iter().map(|b| b.balance).sum::<i64>(), money, "money is conserved");
    assert!(l.banks.iter().all(|b| b.balance >= 0), "no bank below its (zero) credit line");
    l
}

#[test]
fn a_500_payment_queue_on_1000_banks_is_solved_to_optimality() {
    assert_eq!(solve(1_000, 500, 600_000).optimal.solved, 1);
}

#[test]
fn a_dense_500_payment_queue_settles_a_feasible_answer_in_its_time_limit() {
    // 500 payments among 50 banks: proving optimality takes seconds here, so within 300 ms the
    // pass settles the best answer found so far.
    let l = solve(50, 500, 300);
    assert_eq!(l.optimal.solved + l.optimal.time_limited + l.optimal.fallbacks, 1, "one pass");
}

#[test]
fn a_time_limited_pass_never_settles_less_than_t2_then_cycles() {
    // Without reservations every set t2 and cycles settle in rounds could settle at once, so no
    // answer of `optimal`, however short its time, may settle less than they do.
    let (mut fallback, rank) = gridlock(50, 500, 11);
    let value = |l: &Ledger| l.payments.iter().filter(|p| p.status == Status::Settled).map(|p| p.amount).sum::<i64>();
    let t2 = LsmConfig { mode: LsmMode::T2, ..LsmConfig::default() };
    lsm::run(&mut fallback, &t2, QueueDiscipline::FifoBypass, &rank, 0);
    lsm::cycles(&mut fallback, 6, lsm::Scope { discipline: QueueDiscipline::FifoBypass, urgent: true }, &rank, 0);
    fallback.compact_queue2();
    let optimal = solve(50, 500, 20);
    assert!(value(&optimal) >= value(&fallback), "{} < {}", value(&optimal), value(&fallback));
}
