//! The invariants of docs/semantics.md#invariants, checked cheaply at the end of a run and on
//! every restored state: a breach is a bug, and becomes an error rather than a wrong figure.

use super::Orchestrator;
use crate::error::{EngineError, Result};
use crate::model::Status;

impl Orchestrator {
    /// Cheap checks of the invariants of docs/semantics.md#invariants; a breach is a bug and becomes an error.
    pub fn check_invariants(&self) -> Result<()> {
        let ledger = &self.state.ledger;
        // Scenario transfers and central-bank injections made so far, counted exactly.
        let (event_flows, injected) = self.event_flows(self.state.now);
        // Sums in i128: payments can move more than i64 holds over a run.
        let money: i128 = ledger.banks.iter().map(|b| b.balance as i128).sum();
        let expected = self.initial_money as i128 + injected;
        if money != expected {
            return Err(EngineError::Invariant(format!("balances sum to {money}, not {expected}")));
        }
        // Every payment out was covered by usable balance plus the credit line then in force, or
        // by exactly what the central bank lent at a close (docs/semantics.md#invariants).
        for b in &ledger.banks {
            if b.min_headroom < 0 {
                return Err(EngineError::Invariant(format!(
                    "bank '{}' paid {} beyond its usable balance and credit line",
                    b.id, -b.min_headroom
                )));
            }
        }
        // Every bank exactly, not only the sum: opening + received − sent over the settled
        // payments, plus what events moved.
        if let Some((b, excess)) = ledger.rules.worst_breach() {
            return Err(EngineError::Invariant(format!(
                "bank '{}' is {excess} over a sender limit",
                ledger.banks[b as usize].id
            )));
        }
        let mut flows: Vec<i128> =
            ledger.banks.iter().zip(&event_flows).map(|(b, e)| b.opening_balance as i128 + e).collect();
        let (mut settled_value, mut queued) = (0i128, 0usize);
        for p in &ledger.payments {
            match p.status {
                Status::Settled => {
                    settled_value += p.amount as i128;
                    flows[p.sender as usize] -= p.amount as i128;
                    flows[p.receiver as usize] += p.amount as i128;
                }
                Status::Queue1 | Status::Queue2 => queued += 1,
                _ => {}
            }
        }
        if let Some((b, flow)) = ledger.banks.iter().zip(&flows).find(|(b, flow)| b.balance as i128 != **flow) {
            return Err(EngineError::Invariant(format!(
                "bank '{}' has balance {} but opening + received − sent (events included) is {flow}",
                b.id, b.balance
            )));
        }
        if settled_value != self.state.value_settled_total {
            return Err(EngineError::Invariant(format!(
                "settled payments sum to {settled_value} but settlements moved {}",
                self.state.value_settled_total
            )));
        }
        let in_queues = ledger.banks.iter().map(|b| b.queue1.len()).sum::<usize>() + ledger.queue2.len;
        if in_queues != queued {
            return Err(EngineError::Invariant(format!(
                "{queued} payments are queued but the queues hold {in_queues}"
            )));
        }
        Ok(())
    }
}
