//! `lsm.mode: t2`: T2's sequence of algorithms on Queue 2, then paysim's cycle search on what is
//! left (docs/semantics.md#lsm-modes).
//!
//! TARGET2 runs algorithm 1 (all-or-nothing); if it fails, algorithm 2 (partial); after a partial
//! run that settled something, algorithm 1 again, otherwise algorithm 3 ("multiple": bilateral
//! pairs, starting from the pair with the smallest difference between the payment orders addressed
//! to each other). paysim's [`multilateral`] is algorithms 1 and 2 in one loop and
//! [`bilateral_by_difference`] is algorithm 3; [`sequence`] repeats them until a round settles
//! nothing. The cycle search ([`cycles`]) is paysim's, not T2's, and runs last.
//!
//! **Why three openings are compared.** Greedy sequences are not monotone: the partial algorithm
//! may take out one payment of a pair that bilateral offsetting would settle and spend the net
//! payer's liquidity elsewhere, so T2's sequence alone can settle less than `bilateral` alone (and,
//! with pairs taken in a different order, less than `t2_classic`). A pass therefore plays three
//! openings, each followed by T2's sequence, on a copy of Queue 2: T2's sequence itself, then
//! `t2_classic` (multilateral, bilateral), then `bilateral` alone. It settles the opening of the
//! largest value, the earliest of them on a tie, on the real queue. The second and third contain
//! `t2_classic` and `bilateral` as prefixes, and what they settle stays settled, so every pass
//! settles at least the value of either on the same queue.

use super::lsm::{bilateral, cycles, multilateral, settle_pairs, t2_classic, two_way_pairs, Scope};
use super::Ledger;
use crate::model::{Bank, Status};

/// `lsm.mode: t2`; returns the number of payments settled. See the module documentation.
pub fn t2(ledger: &mut Ledger, max_cycle_length: usize, scope: Scope, bank_rank: &[u32], now: u32) -> usize {
    let (opening, trial) = best_opening(ledger, scope, bank_rank, now);
    let settled = opening.play(ledger, scope, bank_rank, now);
    // The copy holds everything the algorithms read, so the real queue settles the same.
    debug_assert_eq!(settled, trial, "{opening:?} settled differently on the copy of Queue 2");
    settled + cycles(ledger, max_cycle_length, scope, bank_rank, now)
}

/// T2's sequence: algorithms 1 and 2 ([`multilateral`]) again while they settle something,
/// otherwise algorithm 3 ([`bilateral_by_difference`]); until a round settles nothing. Returns the
/// number of payments settled and leaves Queue 2 compact.
pub fn sequence(ledger: &mut Ledger, scope: Scope, bank_rank: &[u32], now: u32) -> usize {
    let mut settled = 0;
    loop {
        let partial = multilateral(ledger, scope, bank_rank, now);
        ledger.compact_queue2();
        settled += partial;
        if partial > 0 {
            continue;
        }
        let multiple = bilateral_by_difference(ledger, scope, bank_rank, now);
        ledger.compact_queue2();
        if multiple == 0 {
            return settled;
        }
        settled += multiple;
    }
}

/// T2's algorithm 3: bilateral offsetting with the pairs taken by the smallest difference between
/// what the two banks have queued to each other, ties by the banks' id ranks (lower, then higher),
/// so the order does not depend on config positions. Each pair settles as in `bilateral`: when the
/// net payer cannot cover (or a bank would breach a limit), its payment last in queue order is
/// taken out, and the pair is tried again.
pub fn bilateral_by_difference(ledger: &mut Ledger, scope: Scope, bank_rank: &[u32], now: u32) -> usize {
    let mut pairs = two_way_pairs(ledger, scope);
    pairs.sort_by_cached_key(|p| {
        let [there, back] = p.sums();
        let [a, b] = p.banks.map(|x| bank_rank[x as usize]);
        ((there - back).unsigned_abs(), a.min(b), a.max(b))
    });
    settle_pairs(ledger, pairs, now)
}

/// What a pass plays before T2's sequence (see the module documentation), in tie-break order.
#[derive(Clone, Copy, Debug)]
enum Opening {
    Sequence,
    Classic,
    Bilateral,
}

impl Opening {
    const ALL: [Opening; 3] = [Opening::Sequence, Opening::Classic, Opening::Bilateral];

    /// Play the opening, then T2's sequence; returns the number of payments settled and leaves
    /// Queue 2 compact.
    fn play(self, ledger: &mut Ledger, scope: Scope, bank_rank: &[u32], now: u32) -> usize {
        let opened = match self {
            Opening::Sequence => 0,
            Opening::Classic => t2_classic(ledger, scope, bank_rank, now),
            Opening::Bilateral => bilateral(ledger, scope, now),
        };
        ledger.compact_queue2();
        opened + sequence(ledger, scope, bank_rank, now)
    }
}

/// The opening that settles the largest value on a copy of Queue 2 (the earliest on a tie), and
/// how many payments it settled there.
fn best_opening(ledger: &Ledger, scope: Scope, bank_rank: &[u32], now: u32) -> (Opening, usize) {
    let copy = queue_copy(ledger);
    let queued: i128 = copy.payments.iter().map(|p| p.amount as i128).sum();
    let mut best: Option<(Opening, usize, i128)> = None;
    for opening in Opening::ALL {
        let mut trial = copy.clone();
        let settled = opening.play(&mut trial, scope, bank_rank, now);
        let value: i128 = trial.payments.iter().filter(|p| p.status == Status::Settled).map(|p| p.amount as i128).sum();
        if best.map_or(true, |b| value > b.2) {
            best = Some((opening, settled, value));
        }
        // Nothing settles more than the whole queue.
        if value == queued {
            break;
        }
    }
    let (opening, settled, _) = best.expect("three openings were played");
    (opening, settled)
}

/// A ledger holding only Queue 2 (in queue order) and what settling from it reads: balances,
/// credit lines, this tick's unusable receipts, the day's limit positions and the reservations.
/// It costs O(queue + banks) however many payments the day has seen.
fn queue_copy(ledger: &Ledger) -> Ledger {
    let banks = ledger.banks.iter().map(|b| {
        // Every field named, so that a new one is a decision here. The queues stay out: Queue 1
        // is not read, and Queue 2's counts are rebuilt by enqueueing below.
        let Bank {
            id,
            opening_balance,
            credit_limit,
            balance,
            min_balance,
            min_headroom,
            unusable,
            min_tick_balance,
            queue1: _,
            queue1_value: _,
            queue2_count: _,
            queue2_value: _,
            queue2_class_count: _,
        } = b;
        let mut copy = Bank::new(id.clone(), *opening_balance, *credit_limit);
        (copy.balance, copy.min_balance, copy.min_headroom, copy.unusable, copy.min_tick_balance) =
            (*balance, *min_balance, *min_headroom, *unusable, *min_tick_balance);
        copy
    });
    let mut copy = Ledger::new(banks.collect());
    copy.rules = ledger.rules.clone();
    copy.deferred_crediting = ledger.deferred_crediting;
    for e in ledger.queue2.entries() {
        let tx = copy.create(ledger.payments[e.tx as usize].clone());
        copy.enqueue2(tx);
    }
    copy
}
