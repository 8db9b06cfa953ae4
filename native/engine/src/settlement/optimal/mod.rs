//! The optimal LSM (`lsm.mode: optimal`) and the optimum as a figure of every run
//! (`lsm.measure_optimum`): the maximum-value subset of Queue 2 that can settle at once under the
//! rules every LSM honours, after Bech & Soramäki (2001) (docs/semantics.md#the-optimal-lsm).
//!
//! A pass takes the payments the LSM may offset ([`in_scope`]); if they all settle together it
//! settles them (T2's algorithm 1). Otherwise it splits them into the connected components of the
//! graph of queued payments between banks: a bank's cover, limits and queue order involve only
//! its own payments, so components are independent and each is solved on its own (one that can
//! settle whole needs no solver). The solver's answer is re-checked exactly ([`check`]); a breach
//! halts the run as an invariant violation, and nothing of it settles.
//!
//! A queue longer than `lsm.optimal.max_queue`, or a solve left with no feasible answer at the
//! time limit, falls back to `t2` and then `cycles`; a feasible answer at the time limit settles
//! unless that fallback would settle more.

mod check;
mod model;

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use check::violation;

use super::lsm::{self, in_scope, Scope};
use super::{Ledger, Queued};
use crate::config::{LsmConfig, LsmMode, QueueDiscipline};
use crate::error::{EngineError, Result};
use crate::model::{SettledVia, TxIdx};

/// What the solver did over the run (metrics `lsm_optimal_*`, `lsm_optimum_share`); saved with
/// the state, so a restored run reports the same figures.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct OptimalStats {
    /// Passes solved to proven optimality.
    pub solved: u64,
    /// Passes whose solve hit the time limit with a feasible answer (which was used).
    pub time_limited: u64,
    /// Passes that fell back: queue over `max_queue`, or no feasible answer in time.
    pub fallbacks: u64,
    /// The largest relative gap, (bound − value) / bound, a time-limited pass proved.
    pub max_gap: f64,
    /// Under `measure_optimum`: value the LSM settled over the run's passes, and the best value
    /// known feasible on the same queues.
    pub share_settled: i128,
    pub share_best: i128,
    /// This pass's best known value under `optimal`, read by [`run_pass`] (scratch).
    #[serde(skip)]
    pass_best: Option<i128>,
    /// A solver answer that failed the exact check in this pass (scratch, halts the run).
    #[serde(skip)]
    breach: Option<String>,
}

impl OptimalStats {
    /// Whether the figures can come from a run of `ticks` ticks (one LSM pass each at most).
    pub fn plausible(&self, ticks: u64) -> bool {
        let passes = self.solved + self.time_limited + self.fallbacks;
        passes <= ticks && (0.0..=1.0).contains(&self.max_gap) && (0..=self.share_best).contains(&self.share_settled)
    }
}

/// A pass's answer: the entries to settle at once, and what is known of the optimum.
struct Choice {
    txs: Vec<TxIdx>,
    value: i128,
    bound: f64,
    proven: bool,
}

/// Step 5 with the optimum measured when `lsm.measure_optimum` asks: solve on the queue as it
/// stands, run the configured LSM, and add what it settled and the best known value to the
/// share's sums. A solver answer failing the exact check is an invariant violation.
pub fn run_pass(
    ledger: &mut Ledger,
    lsm_cfg: &LsmConfig,
    discipline: QueueDiscipline,
    rank: &[u32],
    now: u32,
) -> Result<usize> {
    let measuring = lsm_cfg.measure_optimum && ledger.queue2.len > 0;
    let before = ledger.acc.value_settled;
    let mut best = None;
    if measuring && lsm_cfg.mode != LsmMode::Optimal {
        let scope = Scope { discipline, urgent: lsm_cfg.offsets_urgent(discipline) };
        let choice = solve_pass(ledger, lsm_cfg, scope, rank).map_err(EngineError::Invariant)?;
        ledger.optimal.record(choice.as_ref(), false);
        best = choice.map(|c| c.value);
    }
    let settled = lsm::run(ledger, lsm_cfg, discipline, rank, now);
    if let Some(breach) = ledger.optimal.breach.take() {
        return Err(EngineError::Invariant(breach));
    }
    if lsm_cfg.mode == LsmMode::Optimal {
        best = ledger.optimal.pass_best.take();
    }
    if measuring {
        let value = ledger.acc.value_settled - before;
        // The LSM's own set is feasible too (it may beat a time-limited answer, or even the
        // simultaneous optimum when it settles in rounds, as `t2` does).
        ledger.optimal.share_settled += value;
        ledger.optimal.share_best += best.unwrap_or(0).max(value);
    }
    Ok(settled)
}

/// `lsm.mode: optimal`, called by [`lsm::run`]: settle the solver's answer, or fall back.
///
/// A time-limited answer can be far from the optimum (on a gridlock of thousands of payments the
/// solver may have little more than the empty set), so it settles only if `t2` then `cycles`,
/// tried on a copy of the ledger, would not settle more; otherwise the pass falls back.
pub fn settle(ledger: &mut Ledger, lsm_cfg: &LsmConfig, scope: Scope, rank: &[u32], now: u32) -> usize {
    let choice = match solve_pass(ledger, lsm_cfg, scope, rank) {
        Ok(choice) => choice,
        Err(breach) => {
            ledger.optimal.breach = Some(breach);
            return 0;
        }
    };
    let beaten = choice.as_ref().is_some_and(|c| {
        !c.proven && {
            let mut trial = ledger.clone();
            let before = trial.acc.value_settled;
            fallback(&mut trial, lsm_cfg, scope, rank, now);
            trial.acc.value_settled - before > c.value
        }
    });
    ledger.optimal.record(choice.as_ref(), beaten);
    match choice {
        Some(c) if !beaten => {
            ledger.optimal.pass_best = Some(c.value);
            if !c.txs.is_empty() {
                ledger.settle_batch(&c.txs, SettledVia::Multilateral, now);
            }
            c.txs.len()
        }
        other => {
            ledger.optimal.pass_best = other.map(|c| c.value);
            fallback(ledger, lsm_cfg, scope, rank, now)
        }
    }
}

/// `t2` exactly as `lsm.mode: t2` runs it: T2's algorithms, then the cycle search on what is left
/// (the "t2 followed by cycles"; `t2` ends with the cycle search itself).
fn fallback(ledger: &mut Ledger, lsm_cfg: &LsmConfig, scope: Scope, rank: &[u32], now: u32) -> usize {
    let t2 = LsmConfig { mode: LsmMode::T2, ..lsm_cfg.clone() };
    lsm::run(ledger, &t2, scope.discipline, rank, now)
}

/// An answer of the solver that failed the exact check, described.
type Breach = String;

impl OptimalStats {
    /// Count a pass: proven optimal, time-limited with its answer used (and the gap it proved),
    /// or fallen back (no answer, or one `beaten` by the fallback).
    fn record(&mut self, choice: Option<&Choice>, beaten: bool) {
        match choice {
            Some(c) if c.proven => self.solved += 1,
            Some(c) => {
                if c.bound > 0.0 {
                    self.max_gap = self.max_gap.max(((c.bound - c.value as f64) / c.bound).clamp(0.0, 1.0));
                }
                match beaten {
                    true => self.fallbacks += 1,
                    false => self.time_limited += 1,
                }
            }
            None => self.fallbacks += 1,
        }
    }
}

/// The maximum-value feasible subset of the in-scope queue, component by component, checked
/// exactly; `None` when the queue is too long or a component found no answer in time.
fn solve_pass(
    ledger: &Ledger,
    lsm_cfg: &LsmConfig,
    scope: Scope,
    rank: &[u32],
) -> std::result::Result<Option<Choice>, Breach> {
    let entries: Vec<Queued> = in_scope(ledger, scope).copied().collect();
    if entries.len() > lsm_cfg.optimal.max_queue as usize {
        return Ok(None);
    }
    let everything = vec![true; entries.len()];
    if violation(ledger, scope, &entries, &everything).is_none() {
        let value = entries.iter().map(|e| e.amount as i128).sum();
        return Ok(Some(Choice {
            txs: entries.iter().map(|e| e.tx).collect(),
            value,
            bound: value as f64,
            proven: true,
        }));
    }
    let deadline = Instant::now() + Duration::from_millis(lsm_cfg.optimal.time_limit_ms as u64);
    let mut chosen = vec![false; entries.len()];
    let (mut bound, mut proven) = (0.0, true);
    for members in components(ledger.banks.len(), &entries) {
        let part: Vec<Queued> = members.iter().map(|&j| entries[j]).collect();
        let whole = vec![true; part.len()];
        let solution = if violation(ledger, scope, &part, &whole).is_none() {
            let value: i128 = part.iter().map(|e| e.amount as i128).sum();
            model::Solution { chosen: whole, bound: value as f64, proven: true }
        } else {
            let left = deadline.saturating_duration_since(Instant::now()).as_secs_f64();
            match (left > 0.0).then(|| model::solve(ledger, scope, &part, rank, left)).flatten() {
                Some(s) => s,
                None => return Ok(None),
            }
        };
        members.iter().zip(&solution.chosen).for_each(|(&j, &c)| chosen[j] = c);
        bound += solution.bound;
        proven &= solution.proven;
    }
    if let Some(breach) = violation(ledger, scope, &entries, &chosen) {
        return Err(format!("the optimal LSM's solver chose an infeasible set: {breach}"));
    }
    let picked = || entries.iter().zip(&chosen).filter(|(_, c)| **c).map(|(e, _)| e);
    let value: i128 = picked().map(|e| e.amount as i128).sum();
    Ok(Some(Choice { txs: picked().map(|e| e.tx).collect(), value, bound, proven }))
}

/// The connected components of the queued-payment graph (banks joined by a payment either way),
/// each as indexes into `entries` in queue order; components ordered by their first entry.
fn components(n: usize, entries: &[Queued]) -> Vec<Vec<usize>> {
    let mut parent: Vec<u32> = (0..n as u32).collect();
    fn root(parent: &mut [u32], mut b: u32) -> u32 {
        while parent[b as usize] != b {
            parent[b as usize] = parent[parent[b as usize] as usize];
            b = parent[b as usize];
        }
        b
    }
    for e in entries {
        let (a, b) = (root(&mut parent, e.sender), root(&mut parent, e.receiver));
        parent[a.max(b) as usize] = a.min(b);
    }
    let mut index_of_root = vec![u32::MAX; n];
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (j, e) in entries.iter().enumerate() {
        let r = root(&mut parent, e.sender) as usize;
        if index_of_root[r] == u32::MAX {
            index_of_root[r] = out.len() as u32;
            out.push(Vec::new());
        }
        out[index_of_root[r] as usize].push(j);
    }
    out
}
