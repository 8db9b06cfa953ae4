//! Skipping LSM passes that would settle nothing (issue 11): on a gridlocked day Queue 2 can hold
//! hundreds of thousands of payments, and a tick in which nothing the LSM reads changed would
//! re-examine all of them only to settle nothing again.
//!
//! Every LSM mode but `optimal` is a deterministic function of what it reads: Queue 2 (entries,
//! order, classes), each bank's headroom (balance, credit line, receipts not yet usable under
//! deferred crediting), the sender-limit positions, and the config (mode, scope, cycle length,
//! reservations, bank ranks), which never changes during a run. It reads `now` only to stamp the
//! payments it settles. So a pass that settled nothing, on the same inputs, settles nothing again,
//! and changes nothing but the count of truncated cycle searches, which a skipped pass adds as the
//! pass it repeats did. A new day or a scenario event matters only through these inputs (the limit
//! positions restart, drops empty the queue, money moves, credit lines change), and so does
//! anything else.
//!
//! The `optimal` mode and `lsm.measure_optimum` run a solver under a wall-clock time limit and
//! count every pass in their metrics, so their passes always run.

use super::Ledger;
use crate::config::{LsmConfig, LsmMode, QueueDiscipline};
use crate::error::Result;

/// The inputs of the last LSM pass, kept only when it settled nothing. A cache: it is not saved
/// with the state, and a restored engine runs its first pass, which settles what a skipped one
/// would (nothing), so restored runs stay identical.
#[derive(Debug, Default)]
pub struct IdlePass {
    /// The last pass's inputs and the cycle searches it truncated, if it settled nothing.
    last: Option<(Inputs, u64)>,
    /// Passes skipped by this engine object (not saved either): what tests check skipping by.
    pub skipped: u64,
}

/// What a pass reads that can change during a run.
#[derive(Debug)]
struct Inputs {
    /// [`Ledger::queue2_changes`]: entries joined or left since the engine was built.
    queue2_changes: u64,
    /// [`super::rules::SenderRules::changes`]: settlements booked and days started.
    rule_changes: u64,
    /// Per bank: balance, credit line, receipts not yet usable.
    headroom: Vec<[i64; 3]>,
}

impl Inputs {
    fn of(ledger: &Ledger, reuse: Vec<[i64; 3]>) -> Self {
        let mut headroom = reuse;
        headroom.clear();
        headroom.extend(ledger.banks.iter().map(|b| [b.balance, b.credit_limit, b.unusable]));
        Inputs { queue2_changes: ledger.queue2_changes, rule_changes: ledger.rules.changes, headroom }
    }

    fn same_as_now(&self, ledger: &Ledger) -> bool {
        self.queue2_changes == ledger.queue2_changes
            && self.rule_changes == ledger.rules.changes
            && self.headroom.iter().zip(&ledger.banks).all(|(h, b)| *h == [b.balance, b.credit_limit, b.unusable])
    }
}

impl IdlePass {
    /// Step 5: run the LSM pass ([`super::optimal::run_pass`]) unless the last one settled
    /// nothing on the very inputs this one would read; returns the number of payments settled.
    pub fn run(
        &mut self,
        ledger: &mut Ledger,
        lsm: &LsmConfig,
        discipline: QueueDiscipline,
        rank: &[u32],
        now: u32,
    ) -> Result<usize> {
        if lsm.mode == LsmMode::Optimal || lsm.measure_optimum {
            return super::optimal::run_pass(ledger, lsm, discipline, rank, now);
        }
        if let Some((inputs, truncated)) = &self.last {
            if inputs.same_as_now(ledger) {
                ledger.lsm_cycle_search_truncated += truncated;
                self.skipped += 1;
                return Ok(0);
            }
        }
        let reuse = self.last.take().map(|(i, _)| i.headroom).unwrap_or_default();
        let inputs = Inputs::of(ledger, reuse);
        let truncated_before = ledger.lsm_cycle_search_truncated;
        let settled = super::optimal::run_pass(ledger, lsm, discipline, rank, now)?;
        if settled == 0 {
            self.last = Some((inputs, ledger.lsm_cycle_search_truncated - truncated_before));
        }
        Ok(settled)
    }
}
