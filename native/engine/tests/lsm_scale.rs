//! The cycle search at t2_day scale: 1,000 banks and 5,000 queued payments, one LSM pass. It must
//! complete within its budget (so nothing is missed for lack of steps), find a cycle planted among
//! the last banks, and print how long a pass takes (run with `--nocapture` to see the figures;
//! docs/performance.md).

use std::time::Instant;

use paysim_engine::config::{LsmConfig, LsmMode, QueueDiscipline};
use paysim_engine::model::{Bank, Payment, Status, TxIdx};
use paysim_engine::settlement::{lsm, Ledger};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const BANKS: usize = 1_000;
const PAYMENTS: usize = 5_000;
/// The planted cycle runs through the last five banks, which pay nothing else.
const PLANTED: std::ops::Range<usize> = 995..1_000;

/// A t2_day-like Queue 2: lognormal amounts (median ~36,000), two thirds of payments to 50 core
/// banks, and every bank's headroom (balance plus credit) a fraction `tightness` of its smallest
/// queued payment, so that, as after gross settlement, no queued payment fits on its own.
fn queue(seed: u64, tightness: f64) -> (Ledger, Vec<u32>, Vec<TxIdx>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut payments = Vec::with_capacity(PAYMENTS);
    while payments.len() < PAYMENTS - PLANTED.len() {
        let s = rng.gen_range(0..PLANTED.start);
        let r = if rng.gen_bool(2.0 / 3.0) { rng.gen_range(0..50) } else { rng.gen_range(0..BANKS) };
        if r != s {
            // Box-Muller: a standard normal from two uniforms.
            let z = (-2.0 * rng.gen::<f64>().max(1e-12).ln()).sqrt() * (std::f64::consts::TAU * rng.gen::<f64>()).cos();
            payments.push((s, r, (10.5 + 1.2 * z).exp().round().max(1.0) as i64));
        }
    }
    let planted_from = payments.len();
    payments.extend(PLANTED.map(|s| (s, if s + 1 == PLANTED.end { PLANTED.start } else { s + 1 }, 5_000_000)));
    let mut smallest = vec![i64::MAX; BANKS];
    for &(s, _, a) in &payments {
        smallest[s] = smallest[s].min(a);
    }
    let banks = (0..BANKS)
        .map(|i| {
            let headroom = if smallest[i] == i64::MAX { 0 } else { (smallest[i] as f64 * tightness) as i64 };
            Bank::new(format!("B{i:04}"), headroom / 2, headroom - headroom / 2)
        })
        .collect();
    let mut l = Ledger::new(banks);
    let mut planted = Vec::new();
    for (j, &(s, r, a)) in payments.iter().enumerate() {
        let tx = l.create(Payment::new(s as u32, r as u32, a, 0, 9));
        l.enqueue2(tx);
        if j >= planted_from {
            planted.push(tx);
        }
    }
    (l, (0..BANKS as u32).collect(), planted)
}

#[test]
fn a_cycles_pass_over_a_thousand_banks_completes_and_finds_the_planted_cycle() {
    for (seed, tightness) in [(1, 0.5), (2, 0.9), (3, 0.99)] {
        let (mut l, rank, planted) = queue(seed, tightness);
        let started = Instant::now();
        let settled = lsm::run(
            &mut l,
            &LsmConfig { mode: LsmMode::Cycles, max_cycle_length: 6, include_urgent: None, ..LsmConfig::default() },
            QueueDiscipline::FifoBypass,
            &rank,
            0,
        );
        let elapsed = started.elapsed();
        println!(
            "cycles, {BANKS} banks, {PAYMENTS} queued, headroom {tightness} of smallest payment: {:.1} ms, {settled} settled, value {}",
            elapsed.as_secs_f64() * 1e3,
            l.payments.iter().filter(|p| p.status == Status::Settled).map(|p| p.amount).sum::<i64>()
        );
        assert_eq!(l.lsm_cycle_search_truncated, 0, "tightness {tightness}");
        for tx in &planted {
            assert_eq!(l.payments[*tx as usize].status, Status::Settled, "tightness {tightness}");
        }
    }
}

#[test]
fn max_cycle_length_twelve_over_a_thousand_banks_completes_too() {
    let (mut l, rank, planted) = queue(4, 0.9);
    let started = Instant::now();
    let settled = lsm::run(
        &mut l,
        &LsmConfig { mode: LsmMode::Cycles, max_cycle_length: 12, include_urgent: None, ..LsmConfig::default() },
        QueueDiscipline::FifoBypass,
        &rank,
        0,
    );
    println!(
        "cycles max 12, {BANKS} banks, {PAYMENTS} queued: {:.1} ms, {settled} settled",
        started.elapsed().as_secs_f64() * 1e3
    );
    assert_eq!(l.lsm_cycle_search_truncated, 0);
    assert_eq!(l.payments[planted[0] as usize].status, Status::Settled);
}

/// A tournament (one payment per pair of banks, in one direction) of equal amounts: every cycle is
/// covered without liquidity, and there are far more than any pass can list.
fn tournament(n: usize) -> Ledger {
    let mut l = Ledger::new((0..n).map(|i| Bank::new(format!("B{i:04}"), 0, 0)).collect());
    for s in 0..n {
        for r in (0..n).filter(|&r| r != s && ((s + r) % 2 == 0) == (s < r)) {
            let tx = l.create(Payment::new(s as u32, r as u32, 100, 0, 9));
            l.enqueue2(tx);
        }
    }
    l
}

#[test]
fn a_pass_that_exhausts_its_budget_is_counted_and_still_settles() {
    for n in [80, 250] {
        let mut l = tournament(n);
        let rank: Vec<u32> = (0..n as u32).collect();
        let started = Instant::now();
        let settled = lsm::run(
            &mut l,
            &LsmConfig { mode: LsmMode::Cycles, max_cycle_length: 6, include_urgent: None, ..LsmConfig::default() },
            QueueDiscipline::FifoBypass,
            &rank,
            0,
        );
        println!(
            "cycles on a {n}-bank tournament ({} queued, all cycles covered): {:.1} ms, {settled} settled, budget hit",
            n * (n - 1) / 2,
            started.elapsed().as_secs_f64() * 1e3
        );
        assert_eq!(l.lsm_cycle_search_truncated, 1, "{n} banks");
        assert!(settled > 0, "{n} banks");
    }
}
