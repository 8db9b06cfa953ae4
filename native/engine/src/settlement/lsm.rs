//! Liquidity-saving mechanisms (step 5): offset queued payments so that only net positions need
//! covering. Every payment still settles at full value, simultaneously with the others in its set.
//!
//! Each algorithm reads a snapshot of Queue 2 and settles through [`Ledger::settle_batch`]; the
//! caller compacts the queue afterwards. Sums of queued amounts (net positions, per-pair totals,
//! shortfalls) are `i128`: a queue may hold more than `i64::MAX` in total, and a wrapped sum would
//! let a bank pay what it cannot cover.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

pub use super::cycles::cycles;
use super::rules::LimitDeltas;
pub use super::t2::t2;
use super::{Ledger, Queued};
use crate::config::{LsmConfig, LsmMode, QueueDiscipline};
use crate::model::{BankIdx, RtgsClass, SettledVia, TxIdx, N_CLASSES};

/// Run the configured LSM on Queue 2; returns the number of payments it settled.
pub fn run(ledger: &mut Ledger, lsm: &LsmConfig, discipline: QueueDiscipline, bank_rank: &[u32], now: u32) -> usize {
    if ledger.queue2.len == 0 {
        return 0;
    }
    let scope = Scope { discipline, urgent: lsm.offsets_urgent(discipline) };
    let settled = match lsm.mode {
        LsmMode::None => 0,
        LsmMode::Bilateral => bilateral(ledger, scope, now),
        LsmMode::Cycles => cycles(ledger, lsm.max_cycle_length as usize, scope, bank_rank, now),
        LsmMode::Multilateral => multilateral(ledger, scope, bank_rank, now),
        LsmMode::T2 => t2(ledger, lsm.max_cycle_length as usize, scope, bank_rank, now),
        LsmMode::T2Classic => t2_classic(ledger, scope, bank_rank, now),
        LsmMode::Optimal => super::optimal::settle(ledger, lsm, scope, bank_rank, now),
    };
    ledger.compact_queue2();
    settled
}

/// `lsm.mode: t2_classic`, paysim's `t2` before issue 10: multilateral, then bilateral on what is
/// left. Kept so that published comparisons stay reproducible; leaves the queue stale.
pub fn t2_classic(ledger: &mut Ledger, scope: Scope, bank_rank: &[u32], now: u32) -> usize {
    let m = multilateral(ledger, scope, bank_rank, now);
    ledger.compact_queue2();
    m + bilateral(ledger, scope, now)
}

/// What an LSM pass may offset: the queue discipline it must honour, and whether highly urgent
/// and urgent payments take part (`lsm.include_urgent`).
#[derive(Clone, Copy, Debug)]
pub struct Scope {
    pub discipline: QueueDiscipline,
    pub urgent: bool,
}

/// The Queue 2 entries (in queue order) the LSM may offset at all: every one, or only the normal
/// class when urgent payments are left out.
pub fn in_scope(ledger: &Ledger, scope: Scope) -> impl Iterator<Item = &Queued> + '_ {
    let first = if scope.urgent { 0 } else { RtgsClass::Normal as usize };
    ledger.queue2.entries_from(first)
}

/// The Queue 2 entries (in queue order) that a bilateral or cycle offset may include.
///
/// In a strict FIFO class a payment may leave Queue 2 only together with every earlier queued
/// payment of its sender in its class, as in gross processing (docs/semantics.md). A bilateral or
/// cycle offset takes a sender's payments to one receiver only, so what it may include is, per
/// sender and strict class, the leading run of payments to the receiver of the first one.
/// Multilateral needs no filter: it gives up each sender's payments from the back of its queue,
/// which keeps every selection a prefix.
pub fn offsettable(ledger: &Ledger, scope: Scope) -> Vec<Queued> {
    if scope.discipline == QueueDiscipline::FifoBypass {
        return in_scope(ledger, scope).copied().collect();
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Run {
        NotStarted,
        To(BankIdx),
        Over,
    }
    let mut runs = vec![[Run::NotStarted; N_CLASSES]; ledger.banks.len()];
    let mut out = Vec::new();
    for e in in_scope(ledger, scope) {
        let class = e.class;
        if !scope.discipline.strict(class) {
            out.push(*e);
            continue;
        }
        let run = &mut runs[e.sender as usize][class as usize];
        match *run {
            Run::NotStarted => *run = Run::To(e.receiver),
            Run::To(r) if r == e.receiver => {}
            _ => {
                *run = Run::Over;
                continue;
            }
        }
        out.push(*e);
    }
    out
}

/// A fast, fixed hash for integer keys (pairs of banks); SipHash's DoS resistance is not needed.
#[derive(Default)]
struct PairHasher(u64);
impl Hasher for PairHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(5) ^ *b as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}
type PairMap<V> = HashMap<u64, V, BuildHasherDefault<PairHasher>>;

fn pair_key(e: &Queued) -> u64 {
    let (lo, hi) = (e.sender.min(e.receiver), e.sender.max(e.receiver));
    (lo as u64) << 32 | hi as u64
}

/// Bilateral offsetting. For each pair of banks with queued payments both ways (pairs in bank
/// index order), settle all of them if the net payer covers the net; otherwise take the net
/// payer's payments out, last in queue order first, until covered or one direction is empty.
/// Under strict FIFO only [`offsettable`] payments take part.
pub fn bilateral(ledger: &mut Ledger, scope: Scope, now: u32) -> usize {
    let pairs = two_way_pairs(ledger, scope);
    settle_pairs(ledger, pairs, now)
}

/// The queued payments between two banks that both pay the other: `banks` lower index first,
/// `dirs[0]` low→high and `dirs[1]` high→low, each as (tx, amount, class) in queue order, so
/// within a direction the classes run highly urgent, urgent, normal.
pub struct Pair {
    pub banks: [BankIdx; 2],
    pub dirs: [Vec<(TxIdx, i64, RtgsClass)>; 2],
}

impl Pair {
    /// What each direction sums to, exactly.
    pub fn sums(&self) -> [i128; 2] {
        self.dirs.each_ref().map(|d| d.iter().map(|x| x.1 as i128).sum())
    }
}

/// The [`offsettable`] payments of every two-way pair, pairs in bank-index order.
pub fn two_way_pairs(ledger: &Ledger, scope: Scope) -> Vec<Pair> {
    let entries = offsettable(ledger, scope);
    // Which directions each pair has queued: bit 1 = low→high, bit 2 = high→low.
    let mut directions: PairMap<u8> = PairMap::with_capacity_and_hasher(entries.len(), Default::default());
    for e in &entries {
        *directions.entry(pair_key(e)).or_default() |= if e.sender < e.receiver { 1 } else { 2 };
    }
    // Payments of two-way pairs, grouped by pair, in queue order within each pair (stable sort).
    let mut order: Vec<(u64, bool, TxIdx, i64, RtgsClass)> = entries
        .iter()
        .filter(|e| directions[&pair_key(e)] == 3)
        .map(|e| (pair_key(e), e.sender > e.receiver, e.tx, e.amount, e.class))
        .collect();
    order.sort_by_key(|x| x.0);
    let mut pairs = Vec::new();
    let mut start = 0;
    while start < order.len() {
        let key = order[start].0;
        let end = start + order[start..].iter().take_while(|x| x.0 == key).count();
        let mut pair =
            Pair { banks: [(key >> 32) as BankIdx, (key & 0xffff_ffff) as BankIdx], dirs: Default::default() };
        for x in &order[start..end] {
            pair.dirs[usize::from(x.1)].push((x.2, x.3, x.4));
        }
        pairs.push(pair);
        start = end;
    }
    pairs
}

/// Offset each pair in turn, in the given order; returns the number of payments settled.
pub fn settle_pairs(ledger: &mut Ledger, pairs: Vec<Pair>, now: u32) -> usize {
    pairs.into_iter().map(|p| offset_pair(ledger, p.banks, p.dirs, now)).sum()
}

/// One pair of bilateral offsetting: take the net payer's last payment out while it cannot cover
/// the net (leaving its reservations), or a bank's last payment while its normal payments would
/// breach its limit towards the other; settle the rest once both hold.
fn offset_pair(
    ledger: &mut Ledger,
    banks: [BankIdx; 2],
    mut dirs: [Vec<(TxIdx, i64, RtgsClass)>; 2],
    now: u32,
) -> usize {
    let total = |d: &Vec<(TxIdx, i64, RtgsClass)>, normal_only: bool| {
        d.iter().filter(|x| !normal_only || x.2 == RtgsClass::Normal).map(|x| x.1 as i128).sum::<i128>()
    };
    let mut sums = [total(&dirs[0], false), total(&dirs[1], false)];
    let mut normal = [total(&dirs[0], true), total(&dirs[1], true)];
    while !dirs[0].is_empty() && !dirs[1].is_empty() {
        let outflow0 = sums[0] - sums[1];
        let payer = if outflow0 > 0 { 0 } else { 1 };
        let lowest = dirs[payer].last().expect("non-empty").2;
        let remove = if ledger.shortfall_as(banks[payer], -outflow0.abs(), lowest) > 0 {
            Some(payer)
        } else {
            // The normal payments come last, so a bank over its limit gives up a normal one.
            (0..2).find(|&d| !ledger.rules.offset_within(banks[d], banks[1 - d], normal[d], banks[1 - d], sums[1 - d]))
        };
        let Some(d) = remove else {
            let all: Vec<TxIdx> = dirs[0].iter().chain(dirs[1].iter()).map(|x| x.0).collect();
            ledger.settle_batch(&all, SettledVia::Bilateral, now);
            return all.len();
        };
        let (_, amount, class) = dirs[d].pop().expect("non-empty");
        sums[d] -= amount as i128;
        if class == RtgsClass::Normal {
            normal[d] -= amount as i128;
        }
    }
    0
}

/// Multilateral offsetting, T2's two algorithms. All-or-nothing: if every bank covers its net
/// position over the whole of Queue 2, settle it all at once. Otherwise partial: repeatedly take
/// the uncovered bank with the largest shortfall (ties by id), remove its outgoing payment that is
/// last in queue order, recompute; when every remaining position is covered, settle the rest at
/// once. The all-or-nothing case is exactly the partial algorithm with nothing to remove, so one
/// loop serves both.
///
/// Removing from the back keeps each sender's selection a prefix of its queue, so the algorithm
/// honours `strict_fifo` as it stands; with one class of payments it then settles the
/// FIFO-constrained optimum of Bech & Soramäki (2001), the largest set of per-sender prefixes whose
/// net positions are all covered (such sets are closed under union, so that largest set is unique
/// and never loses a payment to a removal).
pub fn multilateral(ledger: &mut Ledger, scope: Scope, bank_rank: &[u32], now: u32) -> usize {
    let n = ledger.banks.len();
    let entries: Vec<Queued> = in_scope(ledger, scope).copied().collect();
    let mut net = vec![0i128; n];
    let mut limits = LimitDeltas::new(&ledger.rules, n);
    for e in &entries {
        net[e.sender as usize] -= e.amount as i128;
        net[e.receiver as usize] += e.amount as i128;
        limits.add(&ledger.rules, (e.sender, e.receiver, e.amount, e.class), 1);
    }
    // Each sender's entries in queue order (counting sort), consumed from the back; the last one
    // left has the lowest class the sender still pays with.
    let mut start = vec![0usize; n + 1];
    for e in &entries {
        start[e.sender as usize + 1] += 1;
    }
    for b in 0..n {
        start[b + 1] += start[b];
    }
    let mut fill = start.clone();
    let mut by_sender = vec![0u32; entries.len()];
    for (i, e) in entries.iter().enumerate() {
        by_sender[fill[e.sender as usize]] = i as u32;
        fill[e.sender as usize] += 1;
    }
    let mut end: Vec<usize> = fill;
    // A shortfall of liquidity (above the reservations of the sender's lowest class still paying)
    // plus any excess over a limit: a breach is treated like a shortfall.
    let shortfall_of = |ledger: &Ledger, limits: &LimitDeltas, end: &[usize], b: usize, net: i128| {
        let lowest = if end[b] > start[b] { entries[by_sender[end[b] - 1] as usize].class } else { RtgsClass::Normal };
        ledger.shortfall_as(b as BankIdx, net, lowest) + limits.excess_of(b)
    };
    let mut shortfall: Vec<i128> = (0..n).map(|b| shortfall_of(ledger, &limits, &end, b, net[b])).collect();
    let mut selected = vec![true; entries.len()];
    if shortfall.iter().any(|s| *s > 0) {
        let mut short = ShortfallHeap::new(n);
        for b in 0..n {
            short.update(b, &shortfall, bank_rank);
        }
        while let Some(b) = short.top() {
            // The most short bank gives up its outgoing payment that is last in queue order.
            // A bank paying nothing has a net position ≥ 0, a balance ≥ −credit and positions
            // within its limits, so with exact (i128) nets an uncovered bank always has a payment
            // left to give up.
            debug_assert!(end[b] > start[b], "an uncovered bank has outgoing payments");
            end[b] -= 1;
            let e = &entries[by_sender[end[b]] as usize];
            selected[by_sender[end[b]] as usize] = false;
            let r = e.receiver as usize;
            net[b] += e.amount as i128;
            net[r] -= e.amount as i128;
            limits.add(&ledger.rules, (e.sender, e.receiver, e.amount, e.class), -1);
            shortfall[b] = shortfall_of(ledger, &limits, &end, b, net[b]);
            shortfall[r] = shortfall_of(ledger, &limits, &end, r, net[r]);
            short.update(b, &shortfall, bank_rank);
            short.update(r, &shortfall, bank_rank);
        }
    }
    let remaining: Vec<TxIdx> = entries.iter().zip(&selected).filter(|(_, s)| **s).map(|(e, _)| e.tx).collect();
    if !remaining.is_empty() {
        ledger.settle_batch(&remaining, SettledVia::Multilateral, now);
    }
    remaining.len()
}

/// Banks with a shortfall, most short first, ties by id rank: an indexed binary heap with one slot
/// per bank, updated in place, so the partial algorithm pays O(log banks) per removed payment.
struct ShortfallHeap {
    heap: Vec<usize>,
    /// Position of each bank in `heap`, or `usize::MAX` when covered.
    pos: Vec<usize>,
}

impl ShortfallHeap {
    fn new(n: usize) -> Self {
        ShortfallHeap { heap: Vec::new(), pos: vec![usize::MAX; n] }
    }

    fn top(&self) -> Option<usize> {
        self.heap.first().copied()
    }

    /// Whether bank `a` comes before bank `b`: larger shortfall, then earlier id.
    fn before(a: usize, b: usize, shortfall: &[i128], rank: &[u32]) -> bool {
        (shortfall[a], Reverse(rank[a])) > (shortfall[b], Reverse(rank[b]))
    }

    /// Re-place bank `b` after its shortfall changed (in, out or within the heap).
    fn update(&mut self, b: usize, shortfall: &[i128], rank: &[u32]) {
        match (shortfall[b] > 0, self.pos[b]) {
            (true, usize::MAX) => {
                self.heap.push(b);
                self.pos[b] = self.heap.len() - 1;
                self.sift_up(self.heap.len() - 1, shortfall, rank);
            }
            (true, at) => {
                let at = self.sift_up(at, shortfall, rank);
                self.sift_down(at, shortfall, rank);
            }
            (false, usize::MAX) => {}
            (false, at) => {
                let last = self.heap.len() - 1;
                self.swap(at, last);
                self.heap.pop();
                self.pos[b] = usize::MAX;
                if at < self.heap.len() {
                    let at = self.sift_up(at, shortfall, rank);
                    self.sift_down(at, shortfall, rank);
                }
            }
        }
    }

    fn swap(&mut self, i: usize, j: usize) {
        self.heap.swap(i, j);
        self.pos[self.heap[i]] = i;
        self.pos[self.heap[j]] = j;
    }

    fn sift_up(&mut self, mut at: usize, shortfall: &[i128], rank: &[u32]) -> usize {
        while at > 0 {
            let parent = (at - 1) / 2;
            if !Self::before(self.heap[at], self.heap[parent], shortfall, rank) {
                break;
            }
            self.swap(at, parent);
            at = parent;
        }
        at
    }

    fn sift_down(&mut self, mut at: usize, shortfall: &[i128], rank: &[u32]) {
        loop {
            let mut best = at;
            for child in [2 * at + 1, 2 * at + 2] {
                if child < self.heap.len() && Self::before(self.heap[child], self.heap[best], shortfall, rank) {
                    best = child;
                }
            }
            if best == at {
                return;
            }
            self.swap(at, best);
            at = best;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Bank, Payment, Status};

    const BYPASS: Scope = Scope { discipline: QueueDiscipline::FifoBypass, urgent: true };

    fn ledger(balances: &[i64]) -> Ledger {
        Ledger::new(balances.iter().enumerate().map(|(i, b)| Bank::new(format!("B{i}"), *b, 0)).collect())
    }

    fn queue(l: &mut Ledger, s: u32, r: u32, amount: i64) -> TxIdx {
        let tx = l.create(Payment::new(s, r, amount, 0, 9));
        l.enqueue2(tx);
        tx
    }

    #[test]
    fn bilateral_settles_pairs_needing_only_the_net() {
        let mut l = ledger(&[10, 0, 0]);
        queue(&mut l, 0, 1, 50);
        queue(&mut l, 1, 0, 40);
        queue(&mut l, 1, 2, 5); // one-way pair: untouched
        assert_eq!(bilateral(&mut l, BYPASS, 0), 2);
        assert_eq!((l.banks[0].balance, l.banks[1].balance), (0, 10));
        assert_eq!(l.acc.lsm_bilateral_releases, 2);
    }

    #[test]
    fn strict_fifo_offsets_only_each_senders_leading_run_to_one_receiver() {
        // Sender 0's normal class: 0→1, 0→1, 0→2, 0→1. Only the first two may be offset.
        let mut l = ledger(&[0, 0, 0]);
        let lead = [queue(&mut l, 0, 1, 5), queue(&mut l, 0, 1, 6)];
        queue(&mut l, 0, 2, 7);
        queue(&mut l, 0, 1, 8);
        let from_1 = queue(&mut l, 1, 0, 9);
        let txs =
            |discipline| offsettable(&l, Scope { discipline, urgent: true }).iter().map(|e| e.tx).collect::<Vec<_>>();
        assert_eq!(txs(QueueDiscipline::StrictFifo), vec![lead[0], lead[1], from_1]);
        assert_eq!(txs(QueueDiscipline::FifoBypass).len(), 5);
    }

    #[test]
    fn multilateral_breaks_shortfall_ties_by_id_rank() {
        // Banks 1 and 2 are equally short paying 0; rank says bank 2's id sorts first, so its
        // payment is removed first; then bank 1 is still short and goes too.
        let mut l = ledger(&[0, 0, 0]);
        queue(&mut l, 1, 0, 30);
        queue(&mut l, 2, 0, 30);
        assert_eq!(multilateral(&mut l, BYPASS, &[0, 2, 1], 0), 0);
        // With bank 1 able to cover, removing bank 2's payment leaves bank 1's to settle.
        let mut l = ledger(&[0, 30, 0]);
        let a = queue(&mut l, 1, 0, 30);
        queue(&mut l, 2, 0, 30);
        assert_eq!(multilateral(&mut l, BYPASS, &[0, 2, 1], 0), 1);
        assert_eq!(l.payments[a as usize].status, Status::Settled);
    }
}
