//! Cycle offsetting (`lsm.mode: cycles`): settle closed chains A→B→…→A of queued payments, each
//! bank covering only its net position in the chain.
//!
//! Only the head payment (earliest queued) of each directed bank pair takes part, so a later
//! payment never offsets ahead of an earlier one on the same relation; under `strict_fifo` only
//! the payments [`offsettable`] allows. Why the search is shaped as it is:
//!
//! - **Bank numbering must not matter.** Permuting the banks in the config (ids unchanged) must
//!   settle the same payments. The search runs over banks ranked by id, and every tie (between
//!   cycles of equal value, in search order) is broken by id, never by config position.
//! - **A longer allowed cycle never settles less.** The search deepens: it settles what cycles of
//!   length 2 can, then cycles of length ≤ 3 on what is left, and so on up to `max_cycle_length`.
//!   Each stage is the same whatever the maximum, so raising it only appends stages, and what the
//!   shorter maximum settled is settled again, and possibly more.
//! - **Largest value first.** Within a stage, feasible cycles (every participant covers its net)
//!   are settled in order of total value, re-checked against the balances the earlier ones left,
//!   and the stage repeats on the new queue heads until a round settles nothing.
//! - **Dense queues stay tractable.** A bank's cover depends only on the payments into and out of
//!   it along the cycle, so a path is cut as soon as one bank on it cannot cover; only feasible
//!   cycles are ever enumerated. A pass still examines at most [`SEARCH_BUDGET`] steps. One that
//!   reaches it settles what it found, stops deepening, and is counted in
//!   [`Ledger::lsm_cycle_search_truncated`] (metric `lsm_cycle_search_truncated`): a search that
//!   gave up is reported, never silent.

use super::lsm::{offsettable, Scope};
use super::rules::SenderRules;
use super::Ledger;
use crate::model::{BankIdx, RtgsClass, SettledVia, Status, TxIdx};

/// Steps (path extensions, closing checks and recorded cycle slots) one LSM pass may spend on the
/// cycle search: tens of milliseconds at most, so a dense queue cannot stall a tick.
pub const SEARCH_BUDGET: u64 = 4_000_000;
/// Steps charged per payment of a found cycle (storing, ranking and re-checking it), so that the
/// budget also bounds the memory and sorting a pass with very many feasible cycles needs.
const RECORD_STEPS: u64 = 8;

/// Cycle offsetting; returns the number of payments settled. See the module documentation.
pub fn cycles(ledger: &mut Ledger, max_len: usize, scope: Scope, bank_rank: &[u32], now: u32) -> usize {
    // Building the graph costs steps too, so many short rounds stay bounded.
    let mut budget = SEARCH_BUDGET.saturating_sub(ledger.queue2.len as u64);
    let mut graph = HeadGraph::new(ledger, scope, bank_rank);
    let mut settled = 0;
    for len in 2..=max_len {
        loop {
            let (found, complete) = graph.feasible_cycles(len, &mut budget);
            let settled_round = settle_largest_first(ledger, &found, now);
            settled += settled_round;
            if settled_round > 0 {
                // New heads and balances: the next round (or stage) needs a new graph.
                ledger.compact_queue2();
                budget = budget.saturating_sub(ledger.queue2.len as u64);
                graph = HeadGraph::new(ledger, scope, bank_rank);
            }
            if !complete {
                ledger.lsm_cycle_search_truncated += 1;
                return settled;
            }
            if settled_round == 0 {
                break;
            }
        }
    }
    settled
}

/// A head payment, as an edge between bank ranks.
#[derive(Clone, Copy)]
struct Edge {
    from: u32,
    to: u32,
    amount: i64,
    tx: TxIdx,
    class: RtgsClass,
}

/// The head payment of every directed bank pair, over banks numbered by id rank.
struct HeadGraph {
    /// Sorted by (from, to); one edge per directed pair.
    edges: Vec<Edge>,
    /// The edges leaving rank `r` are `edges[first[r]..first[r + 1]]`.
    first: Vec<usize>,
    /// Balance plus credit limit, by rank: what a bank may pay out net.
    headroom: Vec<i128>,
    /// Bank index by rank, and the sender rules (limits and reservations) a cycle must respect.
    bank: Vec<BankIdx>,
    rules: SenderRules,
}

impl HeadGraph {
    fn new(ledger: &Ledger, scope: Scope, bank_rank: &[u32]) -> Self {
        let n = ledger.banks.len();
        let mut edges: Vec<Edge> = offsettable(ledger, scope)
            .iter()
            .map(|e| Edge {
                from: bank_rank[e.sender as usize],
                to: bank_rank[e.receiver as usize],
                amount: e.amount,
                tx: e.tx,
                class: e.class,
            })
            .collect();
        // Stable: within a pair, queue order survives and the first entry is the head.
        edges.sort_by_key(|e| (e.from, e.to));
        edges.dedup_by_key(|e| (e.from, e.to));
        let mut first = vec![0usize; n + 1];
        for e in &edges {
            first[e.from as usize + 1] += 1;
        }
        for r in 0..n {
            first[r + 1] += first[r];
        }
        let mut headroom = vec![0i128; n];
        let mut bank = vec![0; n];
        for (b, &r) in bank_rank.iter().enumerate() {
            headroom[r as usize] = ledger.banks[b].headroom().max(0);
            bank[r as usize] = b as BankIdx;
        }
        HeadGraph { edges, first, headroom, bank, rules: ledger.rules.clone() }
    }

    fn out_edges(&self, r: u32) -> &[Edge] {
        &self.edges[self.first[r as usize]..self.first[r as usize + 1]]
    }

    /// Every simple cycle of length 2..=max_len whose participants all cover their net positions,
    /// each once, starting at its lowest-ranked bank, and whether the search completed within
    /// `budget`. Searched from rank 0 upwards, so even a truncated search finds the same cycles
    /// whatever the config order.
    fn feasible_cycles(&self, max_len: usize, budget: &mut u64) -> (Found, bool) {
        let mut search = Search {
            graph: self,
            max_len,
            budget,
            start: 0,
            path: Vec::with_capacity(max_len),
            on_path: vec![false; self.headroom.len()],
            found: Found::default(),
        };
        for start in 0..self.headroom.len() as u32 {
            search.start = start;
            if !search.extend(start) {
                return (search.found, false);
            }
        }
        (search.found, true)
    }
}

/// Cycles found by a search, stored flat: cycle `i` is the payments `txs[ends[i - 1]..ends[i]]`,
/// sent by the banks of id rank `ranks[ends[i - 1]..ends[i]]`.
#[derive(Default)]
struct Found {
    txs: Vec<TxIdx>,
    ranks: Vec<u32>,
    ends: Vec<usize>,
    value: Vec<i128>,
}

impl Found {
    fn span(&self, i: usize) -> std::ops::Range<usize> {
        (if i == 0 { 0 } else { self.ends[i - 1] })..self.ends[i]
    }

    fn cycle(&self, i: usize) -> &[TxIdx] {
        &self.txs[self.span(i)]
    }

    /// Largest value first, then by the id ranks along the cycle: a total order, since a rank
    /// sequence determines the cycle.
    fn settlement_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.ends.len()).collect();
        order.sort_unstable_by(|&a, &b| {
            self.value[b].cmp(&self.value[a]).then_with(|| self.ranks[self.span(a)].cmp(&self.ranks[self.span(b)]))
        });
        order
    }
}

struct Search<'a> {
    graph: &'a HeadGraph,
    max_len: usize,
    budget: &'a mut u64,
    start: u32,
    /// Edges taken from `start` so far.
    path: Vec<Edge>,
    on_path: Vec<bool>,
    found: Found,
}

impl Search<'_> {
    /// Spend `steps` of the budget; false once it is exhausted.
    fn spend(&mut self, steps: u64) -> bool {
        *self.budget = self.budget.saturating_sub(steps);
        *self.budget > 0
    }

    /// Whether bank `r`, receiving `input` and paying `out` in the cycle, covers its net (leaving
    /// what is reserved for classes above `out`'s) and stays within its limits.
    fn covers(&self, r: u32, input: &Edge, out: &Edge) -> bool {
        let g = self.graph;
        let net = input.amount as i128 - out.amount as i128;
        let bank = g.bank[r as usize];
        let floor = if net < 0 { g.rules.floor(bank, out.class) } else { 0 };
        let normal_out = if out.class == RtgsClass::Normal { out.amount as i128 } else { 0 };
        g.headroom[r as usize] + net >= floor
            && g.rules.offset_within(
                bank,
                g.bank[out.to as usize],
                normal_out,
                g.bank[input.from as usize],
                input.amount as i128,
            )
    }

    /// Explore from `node`, reached by the last edge of the path (none if it is the start).
    /// Returns false when the budget ran out.
    fn extend(&mut self, node: u32) -> bool {
        let graph = self.graph;
        let out = graph.out_edges(node);
        if let (Some(&first), Some(&input)) = (self.path.first(), self.path.last()) {
            if !self.spend(1) {
                return false;
            }
            // Close the cycle back to the start, if that edge exists and both ends cover.
            if let Ok(i) = out.binary_search_by_key(&self.start, |e| e.to) {
                let close = out[i];
                if self.covers(node, &input, &close) && self.covers(self.start, &close, &first) {
                    self.record(close);
                    // A found cycle is stored, sorted and re-checked: it costs more than a step.
                    if !self.spend(RECORD_STEPS * (self.path.len() as u64 + 1)) {
                        return false;
                    }
                }
            }
        }
        if self.path.len() + 1 >= self.max_len {
            return true;
        }
        // Only banks ranked above the start, so each cycle is found once, from its lowest rank.
        let above = out.partition_point(|e| e.to <= self.start);
        for &e in &out[above..] {
            if !self.spend(1) {
                return false;
            }
            let blocked = match self.path.last() {
                Some(input) => !self.covers(node, input, &e),
                None => false,
            };
            if self.on_path[e.to as usize] || blocked {
                continue;
            }
            self.path.push(e);
            self.on_path[e.to as usize] = true;
            let more = self.extend(e.to);
            self.on_path[e.to as usize] = false;
            self.path.pop();
            if !more {
                return false;
            }
        }
        true
    }

    fn record(&mut self, close: Edge) {
        let found = &mut self.found;
        found.txs.extend(self.path.iter().map(|e| e.tx));
        found.txs.push(close.tx);
        found.ranks.extend(self.path.iter().map(|e| e.from));
        found.ranks.push(close.from);
        found.ends.push(found.txs.len());
        found.value.push(self.path.iter().map(|e| e.amount as i128).sum::<i128>() + close.amount as i128);
    }
}

/// Settle the found cycles, largest value first (ties by the banks' id ranks along the cycle),
/// each only if its payments are all still queued and every participant covers its net now.
fn settle_largest_first(ledger: &mut Ledger, found: &Found, now: u32) -> usize {
    let mut settled = 0;
    for i in found.settlement_order() {
        let txs = found.cycle(i);
        if txs.iter().any(|&tx| ledger.payments[tx as usize].status != Status::Queue2) {
            continue;
        }
        let covered = (0..txs.len()).all(|k| {
            let (input, out) =
                (&ledger.payments[txs[(k + txs.len() - 1) % txs.len()] as usize], &ledger.payments[txs[k] as usize]);
            let normal_out = if out.class() == RtgsClass::Normal { out.amount as i128 } else { 0 };
            ledger.shortfall_as(out.sender, input.amount as i128 - out.amount as i128, out.class()) == 0
                && ledger.rules.offset_within(out.sender, out.receiver, normal_out, input.sender, input.amount as i128)
        });
        if covered {
            ledger.settle_batch(txs, SettledVia::Multilateral, now);
            settled += txs.len();
        }
    }
    settled
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Bank, Payment};

    #[test]
    fn search_reports_each_orientation_once_from_its_lowest_rank() {
        // Every ordered pair among three banks with ample headroom: 0→1→2→0 and 0→2→1→0, plus
        // the two-cycles 0↔1, 0↔2, 1↔2. Ranks reverse the config order.
        let mut l = Ledger::new((0..3).map(|i| Bank::new(format!("B{i}"), 1_000, 0)).collect());
        for (s, r) in [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)] {
            let tx = l.create(Payment::new(s, r, 10, 0, 9));
            l.enqueue2(tx);
        }
        let rank = [2, 1, 0];
        let graph =
            HeadGraph::new(&l, Scope { discipline: crate::config::QueueDiscipline::FifoBypass, urgent: true }, &rank);
        let cycles_of = |max_len: usize| {
            let (found, complete) = graph.feasible_cycles(max_len, &mut SEARCH_BUDGET.clone());
            assert!(complete);
            let mut senders: Vec<Vec<u32>> = (0..found.ends.len())
                .map(|i| found.cycle(i).iter().map(|&tx| l.payments[tx as usize].sender).collect())
                .collect();
            senders.sort();
            senders
        };
        assert_eq!(cycles_of(2), vec![vec![1, 0], vec![2, 0], vec![2, 1]]);
        assert_eq!(cycles_of(3), vec![vec![1, 0], vec![2, 0], vec![2, 0, 1], vec![2, 1], vec![2, 1, 0]]);
    }
}
