//! Liquidity-saving mechanisms (step 5): offset queued payments so that only net positions need
//! covering. Every payment still settles at full value, simultaneously with the others in its set.
//!
//! Each algorithm reads a snapshot of Queue 2 and settles through [`Ledger::settle_batch`]; the
//! caller compacts the queue afterwards.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::{Ledger, Queued};
use crate::config::LsmMode;
use crate::model::{BankIdx, SettledVia, Status, TxIdx};

/// Upper bound on cycle-search steps per round, so a dense queue cannot stall a tick.
const MAX_CYCLE_SEARCH_STEPS: usize = 2_000_000;

/// Run the configured LSM on Queue 2; returns the number of payments it settled.
pub fn run(ledger: &mut Ledger, mode: LsmMode, max_cycle_length: u32, bank_rank: &[u32], now: u32) -> usize {
    if ledger.queue2.len == 0 {
        return 0;
    }
    let settled = match mode {
        LsmMode::None => 0,
        LsmMode::Bilateral => bilateral(ledger, now),
        LsmMode::Cycles => cycles(ledger, max_cycle_length as usize, now),
        LsmMode::Multilateral => multilateral(ledger, bank_rank, now),
        LsmMode::T2 => {
            let m = multilateral(ledger, bank_rank, now);
            ledger.compact_queue2();
            m + bilateral(ledger, now)
        }
    };
    ledger.compact_queue2();
    settled
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
pub fn bilateral(ledger: &mut Ledger, now: u32) -> usize {
    // Which directions each pair has queued: bit 1 = low→high, bit 2 = high→low.
    let mut directions: PairMap<u8> = PairMap::default();
    for e in ledger.queue2.entries() {
        *directions.entry(pair_key(e)).or_default() |= if e.sender < e.receiver { 1 } else { 2 };
    }
    // Payments of two-way pairs, grouped by pair, in queue order within each pair (stable sort).
    let mut order: Vec<(u64, bool, TxIdx, i64)> = ledger
        .queue2
        .entries()
        .filter(|e| directions[&pair_key(e)] == 3)
        .map(|e| (pair_key(e), e.sender > e.receiver, e.tx, e.amount))
        .collect();
    if order.is_empty() {
        return 0;
    }
    order.sort_by_key(|x| x.0);
    let mut settled = 0;
    let mut start = 0;
    while start < order.len() {
        let key = order[start].0;
        let end = start + order[start..].iter().take_while(|x| x.0 == key).count();
        let banks = [(key >> 32) as usize, (key & 0xffff_ffff) as usize];
        // Direction 0 = low→high, 1 = high→low; each list in queue order.
        let mut dirs: [Vec<(TxIdx, i64)>; 2] = [Vec::new(), Vec::new()];
        for x in &order[start..end] {
            dirs[usize::from(x.1)].push((x.2, x.3));
        }
        start = end;
        let mut sums = [dirs[0].iter().map(|x| x.1).sum::<i64>(), dirs[1].iter().map(|x| x.1).sum::<i64>()];
        while !dirs[0].is_empty() && !dirs[1].is_empty() {
            let outflow0 = sums[0] - sums[1];
            let payer = if outflow0 > 0 { 0 } else { 1 };
            if ledger.banks[banks[payer]].covers(outflow0.abs()) {
                let all: Vec<TxIdx> = dirs[0].iter().chain(dirs[1].iter()).map(|x| x.0).collect();
                ledger.settle_batch(&all, SettledVia::Bilateral, now);
                settled += all.len();
                break;
            }
            let (_, amount) = dirs[payer].pop().expect("non-empty");
            sums[payer] -= amount;
        }
    }
    settled
}

/// Cycle offsetting. Among the payments at the head of each directed bank pair (the earliest
/// queued), find directed cycles of length 2..=max_len in every orientation, and settle them
/// largest total value first whenever every participant covers its net position. Repeat until a
/// round settles nothing.
pub fn cycles(ledger: &mut Ledger, max_len: usize, now: u32) -> usize {
    let mut settled = 0;
    let n = ledger.banks.len();
    let mut net = vec![0i64; n];
    loop {
        // Head payment of each directed edge, and adjacency in receiver order.
        let mut head: HashMap<(BankIdx, BankIdx), TxIdx> = HashMap::new();
        for e in ledger.queue2.entries() {
            head.entry((e.sender, e.receiver)).or_insert(e.tx);
        }
        if head.len() < 2 {
            return settled;
        }
        let mut adj: Vec<Vec<BankIdx>> = vec![Vec::new(); n];
        for &(s, r) in head.keys() {
            adj[s as usize].push(r);
        }
        adj.iter_mut().for_each(|a| a.sort_unstable());
        // Value of each cycle through its head payments; largest first, ties by bank sequence.
        let mut ranked: Vec<(i64, Vec<BankIdx>)> = find_cycles(&adj, max_len)
            .into_iter()
            .map(|c| {
                let v = c
                    .iter()
                    .enumerate()
                    .map(|(i, &s)| ledger.payments[head[&(s, c[(i + 1) % c.len()])] as usize].amount)
                    .sum();
                (v, c)
            })
            .collect();
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let mut settled_round = 0;
        for (_, c) in ranked {
            let txs: Vec<TxIdx> = (0..c.len()).map(|i| head[&(c[i], c[(i + 1) % c.len()])]).collect();
            if txs.iter().any(|t| ledger.payments[*t as usize].status != Status::Queue2) {
                continue;
            }
            ledger.net_positions(txs.iter().copied(), &mut net);
            if c.iter().all(|&b| ledger.shortfall(b, net[b as usize]) == 0) {
                ledger.settle_batch(&txs, SettledVia::Multilateral, now);
                settled_round += txs.len();
            }
        }
        ledger.compact_queue2();
        if settled_round == 0 {
            return settled;
        }
        settled += settled_round;
    }
}

/// Simple directed cycles of length 2..=max_len, each reported once, starting at its smallest
/// bank (so A→B→C→A and A→C→B→A, the two orientations, are distinct cycles).
fn find_cycles(adj: &[Vec<BankIdx>], max_len: usize) -> Vec<Vec<BankIdx>> {
    let mut out = Vec::new();
    let mut steps = 0usize;
    let mut path: Vec<BankIdx> = Vec::with_capacity(max_len);
    let mut on_path = vec![false; adj.len()];
    for start in 0..adj.len() as BankIdx {
        if adj[start as usize].is_empty() {
            continue;
        }
        path.clear();
        path.push(start);
        on_path[start as usize] = true;
        dfs(adj, start, start, max_len, &mut path, &mut on_path, &mut out, &mut steps);
        on_path[start as usize] = false;
        if steps > MAX_CYCLE_SEARCH_STEPS {
            break;
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn dfs(
    adj: &[Vec<BankIdx>],
    start: BankIdx,
    node: BankIdx,
    max_len: usize,
    path: &mut Vec<BankIdx>,
    on_path: &mut [bool],
    out: &mut Vec<Vec<BankIdx>>,
    steps: &mut usize,
) {
    for &next in &adj[node as usize] {
        *steps += 1;
        if *steps > MAX_CYCLE_SEARCH_STEPS {
            return;
        }
        if next == start && path.len() >= 2 {
            out.push(path.clone());
        } else if next > start && !on_path[next as usize] && path.len() < max_len {
            path.push(next);
            on_path[next as usize] = true;
            dfs(adj, start, next, max_len, path, on_path, out, steps);
            on_path[next as usize] = false;
            path.pop();
        }
    }
}

/// Multilateral offsetting, T2's two algorithms. All-or-nothing: if every bank covers its net
/// position over the whole of Queue 2, settle it all at once. Otherwise partial: repeatedly take
/// the uncovered bank with the largest shortfall (ties by id), remove its outgoing payment that is
/// last in queue order, recompute; when every remaining position is covered, settle the rest at
/// once. The all-or-nothing case is exactly the partial algorithm with nothing to remove, so one
/// loop serves both.
pub fn multilateral(ledger: &mut Ledger, bank_rank: &[u32], now: u32) -> usize {
    let n = ledger.banks.len();
    let entries: Vec<Queued> = ledger.queue2.entries().copied().collect();
    let mut net = vec![0i64; n];
    for e in &entries {
        net[e.sender as usize] -= e.amount;
        net[e.receiver as usize] += e.amount;
    }
    let shortfall_of = |ledger: &Ledger, b: usize, net: i64| ledger.shortfall(b as BankIdx, net);
    let mut shortfall: Vec<i64> = (0..n).map(|b| shortfall_of(ledger, b, net[b])).collect();
    let mut selected = vec![true; entries.len()];
    if shortfall.iter().any(|s| *s > 0) {
        // Each sender's entries in queue order (counting sort), consumed from the back.
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
        let mut short = ShortfallHeap::new(n);
        for b in 0..n {
            short.update(b, &shortfall, bank_rank);
        }
        while let Some(b) = short.top() {
            // The most short bank gives up its outgoing payment that is last in queue order.
            debug_assert!(end[b] > start[b], "an uncovered bank has outgoing payments");
            end[b] -= 1;
            let e = &entries[by_sender[end[b]] as usize];
            selected[by_sender[end[b]] as usize] = false;
            let r = e.receiver as usize;
            net[b] += e.amount;
            net[r] -= e.amount;
            shortfall[b] = shortfall_of(ledger, b, net[b]);
            shortfall[r] = shortfall_of(ledger, r, net[r]);
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
    fn before(a: usize, b: usize, shortfall: &[i64], rank: &[u32]) -> bool {
        (shortfall[a], Reverse(rank[a])) > (shortfall[b], Reverse(rank[b]))
    }

    /// Re-place bank `b` after its shortfall changed (in, out or within the heap).
    fn update(&mut self, b: usize, shortfall: &[i64], rank: &[u32]) {
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

    fn sift_up(&mut self, mut at: usize, shortfall: &[i64], rank: &[u32]) -> usize {
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

    fn sift_down(&mut self, mut at: usize, shortfall: &[i64], rank: &[u32]) {
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
    use crate::model::{Bank, Payment};

    fn ledger(balances: &[i64]) -> Ledger {
        Ledger::new(balances.iter().enumerate().map(|(i, b)| Bank::new(format!("B{i}"), *b, 0)).collect())
    }

    fn queue(l: &mut Ledger, s: u32, r: u32, amount: i64) -> TxIdx {
        let tx = l.create(Payment::new(s, r, amount, 0, 9));
        l.enqueue2(tx);
        tx
    }

    #[test]
    fn find_cycles_reports_each_orientation_once() {
        // 0→1→2→0 and 0→2→1→0, plus the two-cycles 0↔1, 0↔2, 1↔2.
        let adj = vec![vec![1, 2], vec![0, 2], vec![0, 1]];
        let mut found = find_cycles(&adj, 3);
        found.sort();
        assert_eq!(found, vec![vec![0, 1], vec![0, 1, 2], vec![0, 2], vec![0, 2, 1], vec![1, 2]]);
        assert_eq!(find_cycles(&adj, 2).len(), 3);
    }

    #[test]
    fn bilateral_settles_pairs_needing_only_the_net() {
        let mut l = ledger(&[10, 0, 0]);
        queue(&mut l, 0, 1, 50);
        queue(&mut l, 1, 0, 40);
        queue(&mut l, 1, 2, 5); // one-way pair: untouched
        assert_eq!(bilateral(&mut l, 0), 2);
        assert_eq!((l.banks[0].balance, l.banks[1].balance), (0, 10));
        assert_eq!(l.acc.lsm_bilateral_releases, 2);
    }

    #[test]
    fn multilateral_breaks_shortfall_ties_by_id_rank() {
        // Banks 1 and 2 are equally short paying 0; rank says bank 2's id sorts first, so its
        // payment is removed first; then bank 1 is still short and goes too.
        let mut l = ledger(&[0, 0, 0]);
        queue(&mut l, 1, 0, 30);
        queue(&mut l, 2, 0, 30);
        assert_eq!(multilateral(&mut l, &[0, 2, 1], 0), 0);
        // With bank 1 able to cover, removing bank 2's payment leaves bank 1's to settle.
        let mut l = ledger(&[0, 30, 0]);
        let a = queue(&mut l, 1, 0, 30);
        queue(&mut l, 2, 0, 30);
        assert_eq!(multilateral(&mut l, &[0, 2, 1], 0), 1);
        assert_eq!(l.payments[a as usize].status, Status::Settled);
    }
}
