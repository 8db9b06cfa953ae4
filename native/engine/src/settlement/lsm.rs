//! Liquidity-saving mechanisms (step 5): offset queued payments so that only net positions need
//! covering. Every payment still settles at full value, simultaneously with the others in its set.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};

use super::Ledger;
use crate::config::LsmMode;
use crate::model::{BankIdx, SettledVia, Status, TxIdx};

/// Upper bound on cycle-search steps per round, so a dense queue cannot stall a tick.
const MAX_CYCLE_SEARCH_STEPS: usize = 2_000_000;

/// Run the configured LSM on Queue 2; returns the number of payments it settled.
pub fn run(ledger: &mut Ledger, mode: LsmMode, max_cycle_length: u32, bank_rank: &[u32], now: u32) -> usize {
    match mode {
        LsmMode::None => 0,
        LsmMode::Bilateral => bilateral(ledger, now),
        LsmMode::Cycles => cycles(ledger, max_cycle_length as usize, now),
        LsmMode::Multilateral => multilateral(ledger, bank_rank, now),
        LsmMode::T2 => multilateral(ledger, bank_rank, now) + bilateral(ledger, now),
    }
}

/// Bilateral offsetting. For each pair of banks with queued payments both ways (pairs in bank
/// index order), settle all of them if the net payer covers the net; otherwise take the net
/// payer's payments out, last in queue order first, until covered or one direction is empty.
pub fn bilateral(ledger: &mut Ledger, now: u32) -> usize {
    // Per unordered pair (lo, hi): payments lo→hi and hi→lo, each in queue order.
    let mut pairs: HashMap<(BankIdx, BankIdx), [Vec<TxIdx>; 2]> = HashMap::new();
    for tx in ledger.queue2.in_order(&ledger.payments) {
        let p = &ledger.payments[tx as usize];
        let (lo, hi) = (p.sender.min(p.receiver), p.sender.max(p.receiver));
        pairs.entry((lo, hi)).or_default()[usize::from(p.sender != lo)].push(tx);
    }
    let mut keys: Vec<(BankIdx, BankIdx)> = pairs.iter().filter(|(_, d)| !d[0].is_empty() && !d[1].is_empty()).map(|(k, _)| *k).collect();
    keys.sort_unstable();
    let mut settled = 0;
    for key in keys {
        let mut dirs = pairs.remove(&key).expect("key from map");
        let banks = [key.0, key.1];
        let mut sums = [sum(ledger, &dirs[0]), sum(ledger, &dirs[1])];
        while !dirs[0].is_empty() && !dirs[1].is_empty() {
            // Net outflow of banks[0] is what it pays minus what it receives.
            let outflow0 = sums[0] - sums[1];
            let payer = if outflow0 > 0 { 0 } else { 1 };
            let net_out = outflow0.abs();
            if ledger.banks[banks[payer] as usize].covers(net_out) {
                let all: Vec<TxIdx> = dirs[0].iter().chain(dirs[1].iter()).copied().collect();
                ledger.settle_batch(&all, SettledVia::Bilateral, now);
                settled += all.len();
                break;
            }
            let tx = dirs[payer].pop().expect("non-empty");
            sums[payer] -= ledger.payments[tx as usize].amount;
        }
    }
    settled
}

fn sum(ledger: &Ledger, txs: &[TxIdx]) -> i64 {
    txs.iter().map(|t| ledger.payments[*t as usize].amount).sum()
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
        for tx in ledger.queue2.in_order(&ledger.payments) {
            let p = &ledger.payments[tx as usize];
            head.entry((p.sender, p.receiver)).or_insert(tx);
        }
        if head.len() < 2 {
            return settled;
        }
        let mut adj: Vec<Vec<BankIdx>> = vec![Vec::new(); n];
        for &(s, r) in head.keys() {
            adj[s as usize].push(r);
        }
        adj.iter_mut().for_each(|a| a.sort_unstable());
        let found = find_cycles(&adj, max_len);
        // Value of each cycle through its head payments; largest first, ties by bank sequence.
        let mut ranked: Vec<(i64, Vec<BankIdx>)> = found
            .into_iter()
            .map(|c| {
                let v = c.iter().enumerate().map(|(i, &s)| ledger.payments[head[&(s, c[(i + 1) % c.len()])] as usize].amount).sum();
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
    let mut outgoing: Vec<Vec<TxIdx>> = vec![Vec::new(); n];
    let mut net = vec![0i64; n];
    let mut any = false;
    for tx in ledger.queue2.in_order(&ledger.payments) {
        let p = &ledger.payments[tx as usize];
        outgoing[p.sender as usize].push(tx);
        net[p.sender as usize] -= p.amount;
        net[p.receiver as usize] += p.amount;
        any = true;
    }
    if !any {
        return 0;
    }
    // Uncovered banks ordered by largest shortfall, then by id.
    let mut uncovered: BTreeSet<(Reverse<i64>, u32, BankIdx)> = BTreeSet::new();
    let mut shortfall = vec![0i64; n];
    for b in 0..n {
        shortfall[b] = ledger.shortfall(b as BankIdx, net[b]);
        if shortfall[b] > 0 {
            uncovered.insert((Reverse(shortfall[b]), bank_rank[b], b as BankIdx));
        }
    }
    while let Some(&(_, _, b)) = uncovered.first() {
        let tx = outgoing[b as usize].pop().expect("an uncovered bank has outgoing payments");
        let p = &ledger.payments[tx as usize];
        let amount = p.amount;
        for (bank, delta) in [(p.sender, amount), (p.receiver, -amount)] {
            let i = bank as usize;
            if shortfall[i] > 0 {
                uncovered.remove(&(Reverse(shortfall[i]), bank_rank[i], bank));
            }
            net[i] += delta;
            shortfall[i] = ledger.shortfall(bank, net[i]);
            if shortfall[i] > 0 {
                uncovered.insert((Reverse(shortfall[i]), bank_rank[i], bank));
            }
        }
    }
    // What was never taken out: each sender's list keeps its earliest payments.
    let remaining: Vec<TxIdx> = outgoing.into_iter().flatten().collect();
    if !remaining.is_empty() {
        ledger.settle_batch(&remaining, SettledVia::Multilateral, now);
    }
    remaining.len()
}
