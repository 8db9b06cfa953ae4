//! `lsm.mode: t2`: T2's sequence of algorithms on Queue 2, then paysim's cycle search on what is
//! left (docs/semantics.md#lsm-modes).
//!
//! TARGET2 runs algorithm 1 (all-or-nothing); if it fails, algorithm 2 (partial); after a partial
//! run that settled something, algorithm 1 again, otherwise algorithm 3 ("multiple": bilateral
//! pairs, starting from the pair with the smallest difference between the payment orders addressed
//! to each other). paysim's [`multilateral`] is algorithms 1 and 2 in one loop and
//! [`bilateral_by_difference`] is algorithm 3, so [`sequence`] is: algorithms 1 and 2 while they
//! settle something, then algorithm 3, again while algorithm 3 settles something. Without
//! reservations, algorithms 1 and 2 right after themselves settle nothing (they settle the greatest
//! covered set of per-sender queue prefixes, and what they could settle next would have made a
//! greater one with it), so that repeat is skipped. With reservations it is not idle: a bank left
//! below its urgent reservation by a highly urgent payment may still offset at a net of zero. The
//! cycle search ([`cycles`]) is paysim's, not T2's, and runs last.
//!
//! **Why `t2_classic` and `bilateral` are played too.** Greedy sequences are not monotone: the
//! partial algorithm may take out one payment of a pair that bilateral offsetting would settle and
//! spend the net payer's liquidity elsewhere, so T2's sequence alone can settle less than
//! `bilateral` alone (and, with pairs taken in another order, less than `t2_classic`). A pass
//! therefore plays T2's sequence, `t2_classic` and `bilateral` on copies of Queue 2. If one of the
//! latter settled a larger value than the best copy so far (T2's sequence first), it is continued
//! with T2's sequence and becomes the best; the ledger adopts the best copy. So every pass settles
//! at least the value either would on the same queue, and plays T2's own sequence whenever that
//! does as well.

use super::lsm::{bilateral, cycles, multilateral, settle_pairs, two_way_pairs, Scope};
use super::{Ledger, Queued};
use crate::model::{Bank, SettledVia, Status, TxIdx};

/// `lsm.mode: t2`; returns the number of payments settled. See the module documentation.
pub fn t2(ledger: &mut Ledger, max_cycle_length: usize, scope: Scope, bank_rank: &[u32], now: u32) -> usize {
    let (copy, txs) = queue_copy(ledger);
    let best = best_opening(copy, scope, bank_rank, now);
    let settled = adopt(ledger, &best, &txs, now);
    ledger.compact_queue2();
    settled + cycles(ledger, max_cycle_length, scope, bank_rank, now)
}

/// T2's sequence: algorithms 1 and 2 ([`multilateral`]) while they settle something, then
/// algorithm 3 ([`bilateral_by_difference`]), again while algorithm 3 settles something. Returns
/// the number of payments settled and leaves Queue 2 compact.
pub fn sequence(ledger: &mut Ledger, scope: Scope, bank_rank: &[u32], now: u32) -> usize {
    sequence_from(ledger, None, scope, bank_rank, now)
}

/// [`sequence`], when algorithms 1 and 2 have just run and settled `partial` payments (`None`:
/// they have not).
fn sequence_from(ledger: &mut Ledger, mut partial: Option<usize>, scope: Scope, bank_rank: &[u32], now: u32) -> usize {
    // Without reservations, repeating algorithms 1 and 2 at once settles nothing (module docs).
    let repeat = ledger.rules.has_reservations();
    let mut settled = 0;
    loop {
        if partial.is_none_or(|k| k > 0 && repeat) {
            let k = multilateral(ledger, scope, bank_rank, now);
            ledger.compact_queue2();
            settled += k;
            partial = Some(k);
            continue;
        }
        let multiple = bilateral_by_difference(ledger, scope, bank_rank, now);
        ledger.compact_queue2();
        if multiple == 0 {
            return settled;
        }
        settled += multiple;
        partial = None;
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

/// Play T2's sequence on a copy of Queue 2, and `t2_classic` and `bilateral` alone on two more;
/// return the copy to adopt (see the module documentation). T2's sequence and `t2_classic` share
/// their first step. An opening that settled more than the best copy so far is continued with
/// T2's sequence and becomes the best; on a tie the earlier copy stays. Once a copy has settled
/// the whole queue, nothing can settle more and the rest is not played.
fn best_opening(base: Ledger, scope: Scope, bank_rank: &[u32], now: u32) -> Ledger {
    let queued = queue_value(&base);
    let mut best = base.clone();
    let partial = multilateral(&mut best, scope, bank_rank, now);
    best.compact_queue2();
    let classic = (best.queue2.len > 0).then(|| best.clone());
    sequence_from(&mut best, Some(partial), scope, bank_rank, now);
    let mut best_value = settled_value(&best);
    for opening in [classic, Some(base)] {
        let Some(mut copy) = opening.filter(|_| best_value < queued) else { continue };
        // An opening whose bilateral step settles nothing settles no more than the best so far.
        if bilateral(&mut copy, scope, now) == 0 {
            continue;
        }
        copy.compact_queue2();
        let value = settled_value(&copy);
        if value > best_value {
            best_value = value + sequence_value(&mut copy, scope, bank_rank, now);
            best = copy;
        }
    }
    best
}

/// Run T2's sequence on `copy` and return the value it settled.
fn sequence_value(copy: &mut Ledger, scope: Scope, bank_rank: &[u32], now: u32) -> i128 {
    let before = settled_value(copy);
    sequence_from(copy, None, scope, bank_rank, now);
    settled_value(copy) - before
}

fn settled_value(l: &Ledger) -> i128 {
    l.payments.iter().filter(|p| p.status == Status::Settled).map(|p| p.amount as i128).sum()
}

/// The value of every payment of a copy of Queue 2: the most any opening can settle.
fn queue_value(l: &Ledger) -> i128 {
    l.payments.iter().map(|p| p.amount as i128).sum()
}

/// A ledger holding only Queue 2 (its payment `i` is the queue's entry `i` in queue order) and
/// what settling from it reads: balances, credit lines, this tick's unusable receipts, the day's
/// limit positions and the reservations; with the real tx of each of its payments. It costs
/// O(queue + banks) however many payments the day has seen.
fn queue_copy(ledger: &Ledger) -> (Ledger, Vec<TxIdx>) {
    let banks = ledger.banks.iter().map(|b| {
        // Every field named, so that a new one is a decision here. Settlement never reads a
        // bank's id (ties go by `bank_rank`) or Queue 1, so neither is copied.
        let Bank {
            id: _,
            opening_balance,
            credit_limit,
            balance,
            min_balance,
            min_headroom,
            unusable,
            min_tick_balance,
            queue1: _,
            queue1_value,
            queue2_count,
            queue2_value,
            queue2_class_count,
        } = b;
        Bank {
            id: String::new(),
            opening_balance: *opening_balance,
            credit_limit: *credit_limit,
            balance: *balance,
            min_balance: *min_balance,
            min_headroom: *min_headroom,
            unusable: *unusable,
            min_tick_balance: *min_tick_balance,
            queue1: Vec::new(),
            queue1_value: *queue1_value,
            queue2_count: *queue2_count,
            queue2_value: *queue2_value,
            queue2_class_count: *queue2_class_count,
        }
    });
    let mut copy = Ledger::new(banks.collect());
    copy.rules = ledger.rules.clone();
    copy.deferred_crediting = ledger.deferred_crediting;
    let mut txs = Vec::with_capacity(ledger.queue2.len);
    copy.payments.reserve(ledger.queue2.len);
    for (class, entries) in ledger.queue2.classes.iter().enumerate() {
        copy.queue2.classes[class] = entries
            .iter()
            .map(|e| {
                txs.push(e.tx);
                copy.payments.push(ledger.payments[e.tx as usize].clone());
                Queued { tx: (txs.len() - 1) as TxIdx, ..*e }
            })
            .collect();
    }
    copy.queue2.len = ledger.queue2.len;
    (copy, txs)
}

/// Settle on `ledger` what `copy` settled (its payment `i` is `txs[i]`), by the same means. The
/// copy settled them in batches from the same balances, so the balances, lows, unusable receipts
/// and limit positions it reached are the ledger's own; they are taken over as they stand.
/// Returns the number of payments settled.
fn adopt(ledger: &mut Ledger, copy: &Ledger, txs: &[TxIdx], now: u32) -> usize {
    let mut released = [0u32; 2];
    for (p, &tx) in copy.payments.iter().zip(txs) {
        if p.status == Status::Settled {
            ledger.mark_settled(tx, p.settled_via, now);
            released[usize::from(p.settled_via == SettledVia::Multilateral)] += 1;
        }
    }
    for (bank, reached) in ledger.banks.iter_mut().zip(&copy.banks) {
        (bank.balance, bank.min_balance, bank.min_headroom, bank.unusable) =
            (reached.balance, reached.min_balance, reached.min_headroom, reached.unusable);
    }
    ledger.acc.lsm_released(SettledVia::Bilateral, released[0]);
    ledger.acc.lsm_released(SettledVia::Multilateral, released[1]);
    (released[0] + released[1]) as usize
}
