//! The close with borrowing (`end_of_day.unsettled: borrow`, docs/semantics.md#end-of-day): the
//! central bank settles every unsettled payment at once, lending each sender what its unsettled
//! payments exceed its headroom by. What a bank receives in the same closing settlement does not
//! reduce its loan (as in Castro et al., where period-2 receipts come too late to pay with).

use super::Ledger;
use crate::error::{EngineError, Loc, Result};
use crate::model::{SettledVia, TxIdx};

impl Ledger {
    /// Settle both queues via `eod_borrowing`; returns what the central bank lent each bank (0 for
    /// most). A balance or loan too large for `i64` is an error, and then nothing has changed.
    pub fn close_with_borrowing(&mut self, now: u32) -> Result<Vec<i64>> {
        let n = self.banks.len();
        let mut txs: Vec<TxIdx> = self.queue2.entries().map(|e| e.tx).collect();
        txs.extend(self.banks.iter().flat_map(|b| b.queue1.iter().copied()));
        let (mut out, mut net) = (vec![0i128; n], vec![0i128; n]);
        for &tx in &txs {
            let p = &self.payments[tx as usize];
            out[p.sender as usize] += p.amount as i128;
            net[p.sender as usize] -= p.amount as i128;
            net[p.receiver as usize] += p.amount as i128;
        }
        // A bank already below its line (a squeeze, an earlier close) borrows only for these payments.
        let have: Vec<i128> = self.banks.iter().map(|b| b.headroom().max(0)).collect();
        let mut lent = vec![0i64; n];
        for b in 0..n {
            let too_large = |what: &str| {
                EngineError::config(
                    Loc::from("agent_configs").index(b),
                    format!(
                        "tick {now}: bank '{}' {what} at the close does not fit a 64-bit balance",
                        self.banks[b].id
                    ),
                )
            };
            lent[b] = i64::try_from((out[b] - have[b]).max(0)).map_err(|_| too_large("borrowing"))?;
            i64::try_from(self.banks[b].balance as i128 + net[b]).map_err(|_| too_large("balance"))?;
        }
        for b in &mut self.banks {
            for &tx in &b.queue1 {
                self.payments[tx as usize].release_tick = now;
            }
            b.queue1.clear();
            b.queue1_value = 0;
        }
        // What the invariant allows each payer below its line: the loan, and where it already was.
        let allowed: Vec<i128> =
            self.banks.iter().zip(&lent).map(|(b, &l)| l as i128 + (-b.headroom()).max(0)).collect();
        if !txs.is_empty() {
            self.settle_net(&txs, SettledVia::EodBorrowing, now, &allowed);
        }
        self.compact_queue2();
        Ok(lent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Bank, Payment, Status};

    #[test]
    fn each_sender_borrows_what_its_payments_exceed_its_headroom_by() {
        // A has 30 + credit 10 and owes B 70 (Queue 2) and C 5 (Queue 1): it borrows 35. B owes A 20
        // and has 50: no loan, although it receives 70 in the same close.
        let mut l =
            Ledger::new(vec![Bank::new("A".into(), 30, 10), Bank::new("B".into(), 50, 0), Bank::new("C".into(), 0, 0)]);
        let q2 = l.create(Payment::new(0, 1, 70, 0, 9));
        l.enqueue2(q2);
        let q1 = l.create(Payment::new(0, 2, 5, 0, 9));
        l.enqueue1(q1);
        let b = l.create(Payment::new(1, 0, 20, 0, 9));
        l.enqueue2(b);
        assert_eq!(l.close_with_borrowing(9).unwrap(), vec![35, 0, 0]);
        assert_eq!([l.banks[0].balance, l.banks[1].balance, l.banks[2].balance], [-25, 100, 5]);
        assert!([q2, q1, b].iter().all(|&t| l.payments[t as usize].settled_via == SettledVia::EodBorrowing));
        assert_eq!(l.payments[q1 as usize].status, Status::Settled);
        assert_eq!((l.queue2.len, l.banks[0].queue1_value, l.banks[0].queue2_value), (0, 0, 0));
        assert!(l.banks.iter().all(|b| b.min_headroom >= 0));
    }
}
