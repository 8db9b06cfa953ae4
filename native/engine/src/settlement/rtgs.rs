//! Gross settlement (step 3) and Queue 2 processing (step 4).

use super::Ledger;
use crate::config::QueueDiscipline;
use crate::model::{queue2_class, RtgsClass, SettledVia, TxIdx, N_CLASSES};

/// Step 3: a released payment settles gross if its sender covers it; otherwise it joins Queue 2.
/// In a strict FIFO class it may not overtake its sender's payments already queued in its class.
pub fn release(ledger: &mut Ledger, tx: TxIdx, discipline: QueueDiscipline, now: u32) {
    let p = &ledger.payments[tx as usize];
    let blocked =
        discipline.strict(p.class()) && ledger.banks[p.sender as usize].queue2_class_count[queue2_class(p)] > 0;
    if blocked || !ledger.try_settle_gross(tx, SettledVia::Rtgs, now) {
        ledger.enqueue2(tx);
    }
}

/// Step 4: pass over Queue 2 in order, settling what fits, until a pass settles nothing.
/// Returns the number of payments settled.
pub fn process_queue(ledger: &mut Ledger, discipline: QueueDiscipline, now: u32) -> usize {
    ledger.compact_queue2();
    let mut settled = 0;
    // Strict FIFO: (bank, class) pairs already blocked in this pass, stamped with the pass number.
    let mut blocked_at = vec![0u32; ledger.banks.len() * N_CLASSES];
    let mut pass = 0u32;
    loop {
        pass += 1;
        let mut settled_this_pass = 0;
        for class in 0..N_CLASSES {
            let rtgs_class = RtgsClass::ALL[class];
            let strict = discipline.strict(rtgs_class);
            let mut entries = std::mem::take(&mut ledger.queue2.classes[class]);
            entries.retain(|e| {
                let slot = e.sender as usize * N_CLASSES + class;
                if strict && blocked_at[slot] == pass {
                    return true;
                }
                if ledger.gross_ok(e.sender, e.receiver, e.amount, rtgs_class) {
                    ledger.transfer(e.tx, SettledVia::Queue, now);
                    ledger.note_outflow(e.sender as usize, 0);
                    settled_this_pass += 1;
                    false
                } else {
                    blocked_at[slot] = pass;
                    true
                }
            });
            ledger.queue2.classes[class] = entries;
        }
        // Settled entries were removed by the passes themselves.
        ledger.queue2.stale = false;
        settled += settled_this_pass;
        if settled_this_pass == 0 {
            return settled;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Bank, Payment, Status};

    fn ledger(balances: &[i64]) -> Ledger {
        Ledger::new(balances.iter().enumerate().map(|(i, b)| Bank::new(format!("B{i}"), *b, 0)).collect())
    }

    fn queue(l: &mut Ledger, s: u32, r: u32, amount: i64, priority: u8) -> TxIdx {
        let mut p = Payment::new(s, r, amount, 0, 10);
        p.priority = priority;
        let tx = l.create(p);
        l.enqueue2(tx);
        tx
    }

    #[test]
    fn bypass_settles_later_payment_that_fits() {
        // A owes B 100 (does not fit) then C 30 (fits): FIFO-bypass lets the 30 pass.
        let mut l = ledger(&[50, 0, 0]);
        let big = queue(&mut l, 0, 1, 100, 5);
        let small = queue(&mut l, 0, 2, 30, 5);
        assert_eq!(process_queue(&mut l, QueueDiscipline::FifoBypass, 0), 1);
        assert_eq!(l.payments[small as usize].status, Status::Settled);
        assert_eq!(l.payments[big as usize].status, Status::Queue2);
        assert_eq!(l.banks[0].balance, 20);
    }

    #[test]
    fn strict_fifo_blocks_behind_first() {
        let mut l = ledger(&[50, 0, 0]);
        queue(&mut l, 0, 1, 100, 5);
        queue(&mut l, 0, 2, 30, 5);
        assert_eq!(process_queue(&mut l, QueueDiscipline::StrictFifo, 0), 0);
        assert_eq!(l.banks[0].balance, 50);
    }

    #[test]
    fn repeated_passes_use_incoming_liquidity() {
        // B's payment to A sits first but B has nothing until A pays B later in the queue.
        let mut l = ledger(&[100, 0]);
        let b_to_a = queue(&mut l, 1, 0, 60, 5);
        let a_to_b = queue(&mut l, 0, 1, 80, 5);
        assert_eq!(process_queue(&mut l, QueueDiscipline::FifoBypass, 0), 2);
        assert_eq!(l.payments[b_to_a as usize].settled_via, SettledVia::Queue);
        assert_eq!(l.payments[a_to_b as usize].status, Status::Settled);
        assert_eq!((l.banks[0].balance, l.banks[1].balance), (80, 20));
    }

    #[test]
    fn urgent_class_served_first() {
        let mut l = ledger(&[100, 0, 0]);
        let normal = queue(&mut l, 0, 1, 100, 5);
        let urgent = queue(&mut l, 0, 2, 100, 9);
        process_queue(&mut l, QueueDiscipline::FifoBypass, 0);
        assert_eq!(l.payments[urgent as usize].status, Status::Settled);
        assert_eq!(l.payments[normal as usize].status, Status::Queue2);
    }
}
