//! Settlement: the central bank's ledger, gross settlement with Queue 2 ([`rtgs`]) and the
//! liquidity-saving mechanisms ([`lsm`], with the cycle search in [`cycles`] and T2's sequence of
//! algorithms in [`t2`]).

mod close;
pub mod cycles;
pub mod idle;
pub mod lsm;
pub mod optimal;
pub mod rtgs;
pub mod rules;
pub mod t2;

use serde::{Deserialize, Serialize};

use crate::log::TickAccounts;
use crate::model::{queue2_class, Bank, BankIdx, DropReason, Payment, RtgsClass, SettledVia, Status, TxIdx, N_CLASSES};
use rules::SenderRules;

/// A Queue 2 entry, with what settlement checks copied inline so passes over a long queue read
/// memory in order instead of chasing each payment.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Queued {
    pub tx: TxIdx,
    pub sender: BankIdx,
    pub receiver: BankIdx,
    pub amount: i64,
    /// The payment's class (it never changes while queued); fits in the entry's padding.
    pub class: RtgsClass,
}

/// Queue 2: the central RTGS queue, highly urgent class first, then urgent, then normal, each class
/// in the order payments joined.
///
/// Payments leaving it through the LSM or a drop are removed in one pass afterwards
/// ([`Ledger::compact_queue2`]); until then the queue is `stale` and must not be read.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CentralQueue {
    pub classes: [Vec<Queued>; N_CLASSES],
    pub len: usize,
    stale: bool,
}

impl CentralQueue {
    /// Entries in queue order (highly urgent, urgent, then normal; each by join order).
    pub fn entries(&self) -> impl Iterator<Item = &Queued> + '_ {
        debug_assert!(!self.stale, "Queue 2 read before compaction");
        self.classes.iter().flatten()
    }

    /// Entries in queue order from class index `first` on (`RtgsClass::Normal as usize`: normal only).
    pub fn entries_from(&self, first: usize) -> impl Iterator<Item = &Queued> + '_ {
        debug_assert!(!self.stale, "Queue 2 read before compaction");
        self.classes[first..].iter().flatten()
    }
}

/// Balances, payments and queues: everything settlement reads and changes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ledger {
    pub banks: Vec<Bank>,
    pub payments: Vec<Payment>,
    pub queue2: CentralQueue,
    /// This tick's per-bank counters and costs, appended to the tick log at the end of the tick.
    pub acc: TickAccounts,
    /// Banks whose Queue 1 holds dropped entries; [`Ledger::compact_queue1`] removes them in one pass.
    q1_dirty: Vec<BankIdx>,
    /// LSM passes whose cycle search reached its step budget (metric `lsm_cycle_search_truncated`),
    /// so a search that gave up early is reported rather than silent.
    pub lsm_cycle_search_truncated: u64,
    /// What the optimal LSM's solver did (metrics `lsm_optimal_*`, `lsm_optimum_share`).
    pub optimal: optimal::OptimalStats,
    /// Sender limits (with this day's positions) and reservations; none by default.
    pub rules: SenderRules,
    /// Entries that joined or left Queue 2 since the engine was built: how [`idle::IdlePass`]
    /// tells that the queue changed. Not saved: a restored engine starts its cache afresh.
    #[serde(skip)]
    pub queue2_changes: u64,
    /// `rtgs.crediting: deferred`: receipts become usable only from the next tick (set from the
    /// config when the engine is assembled, docs/semantics.md#crediting).
    #[serde(skip)]
    pub deferred_crediting: bool,
    /// Scratch for [`Ledger::settle_batch`]: each bank's net in the batch, and which banks it touched.
    #[serde(skip)]
    batch_net: Vec<i128>,
    #[serde(skip)]
    batch_banks: Vec<BankIdx>,
}

impl Ledger {
    pub fn new(banks: Vec<Bank>) -> Self {
        let n = banks.len();
        Ledger {
            banks,
            payments: Vec::new(),
            queue2: CentralQueue::default(),
            acc: TickAccounts::new(n),
            q1_dirty: Vec::new(),
            lsm_cycle_search_truncated: 0,
            optimal: optimal::OptimalStats::default(),
            rules: SenderRules::default(),
            queue2_changes: 0,
            deferred_crediting: false,
            batch_net: Vec::new(),
            batch_banks: Vec::new(),
        }
    }

    /// Whether no compaction is pending, as at every tick boundary: `load_state` refuses a
    /// state that is not, since pending entries are trusted to index banks and payments.
    pub fn is_compact(&self) -> bool {
        self.q1_dirty.is_empty() && !self.queue2.stale
    }

    /// Create a payment; its index is its tx_id, so ids follow creation order.
    pub fn create(&mut self, p: Payment) -> TxIdx {
        let tx = self.payments.len() as TxIdx;
        self.payments.push(p);
        tx
    }

    /// Put a payment into its sender's Queue 1, keeping policy order.
    pub fn enqueue1(&mut self, tx: TxIdx) {
        let p = &self.payments[tx as usize];
        let key = p.queue1_key(tx);
        let bank = &mut self.banks[p.sender as usize];
        let payments = &self.payments;
        let pos = bank.queue1.partition_point(|t| payments[*t as usize].queue1_key(*t) < key);
        bank.queue1.insert(pos, tx);
        bank.queue1_value += p.amount as i128;
        self.payments[tx as usize].status = Status::Queue1;
    }

    /// Put a released payment at the back of its class in Queue 2.
    pub fn enqueue2(&mut self, tx: TxIdx) {
        let p = &mut self.payments[tx as usize];
        p.status = Status::Queue2;
        let class = queue2_class(p);
        let bank = &mut self.banks[p.sender as usize];
        bank.queue2_count += 1;
        bank.queue2_value += p.amount as i128;
        bank.queue2_class_count[class] += 1;
        let entry = Queued { tx, sender: p.sender, receiver: p.receiver, amount: p.amount, class: p.class() };
        self.queue2.classes[class].push(entry);
        self.queue2.len += 1;
        self.queue2_changes += 1;
    }

    /// Take a payment out of Queue 2's per-bank accounting; its entry goes at the next compaction
    /// (gross settlement from Queue 2 removes entries itself).
    pub(crate) fn leave_queue2(&mut self, tx: TxIdx) {
        self.queue2.stale = true;
        let p = &self.payments[tx as usize];
        let class = queue2_class(p);
        let bank = &mut self.banks[p.sender as usize];
        bank.queue2_count -= 1;
        bank.queue2_value -= p.amount as i128;
        bank.queue2_class_count[class] -= 1;
        self.queue2.len -= 1;
        self.queue2_changes += 1;
    }

    /// Move value and record the settlement. Callers have checked coverage.
    pub(crate) fn transfer(&mut self, tx: TxIdx, via: SettledVia, now: u32) {
        let (s, r, amount) = self.mark_settled(tx, via, now);
        self.banks[s].balance -= amount;
        self.banks[r].balance += amount;
        if self.deferred_crediting {
            self.banks[r].unusable += amount;
        }
    }

    /// Track a bank's lows after it paid out; `allowed` is what the central bank lent it for
    /// this settlement (non-zero only at a close with borrowing).
    pub(crate) fn note_outflow(&mut self, bank: usize, allowed: i128) {
        let b = &mut self.banks[bank];
        b.min_balance = b.min_balance.min(b.balance);
        b.min_headroom = b.min_headroom.min(b.headroom() + allowed);
    }

    /// Record a payment as settled (status, Queue 2 accounting, this tick's accounts); the
    /// balances are the caller's to move. Returns (sender, receiver, amount).
    fn mark_settled(&mut self, tx: TxIdx, via: SettledVia, now: u32) -> (usize, usize, i64) {
        if self.payments[tx as usize].status == Status::Queue2 {
            self.leave_queue2(tx);
        }
        let p = &mut self.payments[tx as usize];
        p.status = Status::Settled;
        p.settle_tick = now;
        p.settled_via = via;
        let (s, r, amount) = (p.sender as usize, p.receiver as usize, p.amount);
        self.rules.record(p.sender, p.receiver, amount, p.class());
        self.acc.record_settlement(s, r, amount, via);
        (s, r, amount)
    }

    /// Whether a payment may settle gross now: its sender covers it without touching what is
    /// reserved for higher classes, and stays within its limits (docs/semantics.md#t2-settlement-rules).
    pub fn gross_ok(&self, sender: BankIdx, receiver: BankIdx, amount: i64, class: RtgsClass) -> bool {
        let headroom = self.banks[sender as usize].headroom() - amount as i128;
        headroom >= self.rules.floor(sender, class) && self.rules.gross_within(sender, receiver, amount, class)
    }

    /// Gross settlement of one payment if [`Ledger::gross_ok`].
    pub fn try_settle_gross(&mut self, tx: TxIdx, via: SettledVia, now: u32) -> bool {
        let p = &self.payments[tx as usize];
        let s = p.sender as usize;
        if !self.gross_ok(p.sender, p.receiver, p.amount, p.class()) {
            return false;
        }
        self.transfer(tx, via, now);
        self.note_outflow(s, 0);
        true
    }

    /// Simultaneous settlement (LSM): the caller checked that every net position is covered, so
    /// only final balances matter; intermediate ones never exist in the real system.
    ///
    /// Balances move by each bank's net, summed in `i128`: a bank's gross flows in one batch can
    /// exceed `i64` while its net is covered, and moving payment by payment would pass through
    /// balances `i64` cannot hold.
    pub fn settle_batch(&mut self, txs: &[TxIdx], via: SettledVia, now: u32) {
        self.settle_net(txs, via, now, &[]);
    }

    /// [`Ledger::settle_batch`], with `lent[bank]` the central bank's loan to each bank for the
    /// batch (empty: none). Under deferred crediting a positive net is this tick's receipt.
    pub(crate) fn settle_net(&mut self, txs: &[TxIdx], via: SettledVia, now: u32, lent: &[i128]) {
        let mut net = std::mem::take(&mut self.batch_net);
        let mut touched = std::mem::take(&mut self.batch_banks);
        net.resize(self.banks.len(), 0);
        for &tx in txs {
            let (s, r, amount) = self.mark_settled(tx, via, now);
            for (bank, delta) in [(s, -(amount as i128)), (r, amount as i128)] {
                if net[bank] == 0 {
                    touched.push(bank as BankIdx);
                }
                net[bank] += delta;
            }
        }
        // A net can return to 0 and be pushed again; the second visit finds it already applied.
        for &bank in &touched {
            let b = &mut self.banks[bank as usize];
            let moved = std::mem::take(&mut net[bank as usize]);
            b.balance = i64::try_from(b.balance as i128 + moved)
                .expect("a covered net within conserved money leaves a balance i64 holds");
            if moved > 0 && self.deferred_crediting {
                b.unusable += moved as i64;
            }
            b.min_balance = b.min_balance.min(b.balance);
            if moved < 0 {
                self.note_outflow(bank as usize, lent.get(bank as usize).copied().unwrap_or(0));
            }
        }
        touched.clear();
        (self.batch_net, self.batch_banks) = (net, touched);
        self.acc.lsm_released(via, txs.len() as u32);
    }

    /// Drop a queued payment (from either queue) for `reason`. Call [`Ledger::compact_queue1`]
    /// after a batch of drops so Queue 1 loses the entries.
    pub fn drop_payment(&mut self, tx: TxIdx, reason: DropReason, now: u32) {
        match self.payments[tx as usize].status {
            Status::Queue2 => self.leave_queue2(tx),
            Status::Queue1 => {
                let p = &self.payments[tx as usize];
                self.banks[p.sender as usize].queue1_value -= p.amount as i128;
                self.q1_dirty.push(p.sender);
            }
            _ => return,
        }
        let p = &mut self.payments[tx as usize];
        p.status = Status::Dropped;
        p.drop_reason = reason;
        p.drop_tick = now;
        self.acc.record_drop(p.amount);
    }

    /// Remove the entries of payments that left Queue 2.
    pub fn compact_queue2(&mut self) {
        if self.queue2.stale {
            let payments = &self.payments;
            for c in &mut self.queue2.classes {
                c.retain(|e| payments[e.tx as usize].status == Status::Queue2);
            }
            self.queue2.stale = false;
        }
    }

    pub fn compact_queue1(&mut self) {
        let payments = &self.payments;
        for b in self.q1_dirty.drain(..) {
            self.banks[b as usize].queue1.retain(|t| payments[*t as usize].status == Status::Queue1);
        }
    }

    /// How far `bank` would fall below its credit limit with net position `net` (0 if covered).
    /// Net positions are sums over a whole queue, which can exceed `i64` (payments go up to
    /// `MAX_AMOUNT` each, in any number), so they and the shortfall are `i128`: nothing wraps.
    pub fn shortfall(&self, bank: BankIdx, net: i128) -> i128 {
        // A bank already below its line (a squeeze) may still receive on net; it only may not pay.
        (-(self.banks[bank as usize].headroom().max(0) + net)).max(0)
    }

    /// [`Ledger::shortfall`] for a bank whose lowest class paying in the offset is `class`: a net
    /// payer must also leave what is reserved for the classes above it.
    pub fn shortfall_as(&self, bank: BankIdx, net: i128, class: RtgsClass) -> i128 {
        if net >= 0 {
            return self.shortfall(bank, net);
        }
        (self.rules.floor(bank, class) - (self.banks[bank as usize].headroom().max(0) + net)).max(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> Ledger {
        Ledger::new(vec![Bank::new("A".into(), 100, 50), Bank::new("B".into(), 0, 0)])
    }

    #[test]
    fn queue1_keeps_policy_order() {
        let mut l = ledger();
        let mut mk = |priority: u8, arrival: u32| {
            let mut p = Payment::new(0, 1, 10, arrival, 9);
            p.priority = priority;
            let tx = l.create(p);
            l.enqueue1(tx);
            tx
        };
        let (low_early, high_late, low_late, high_early) = (mk(5, 0), mk(9, 3), mk(5, 3), mk(9, 1));
        assert_eq!(l.banks[0].queue1, vec![high_early, high_late, low_early, low_late]);
        assert_eq!(l.banks[0].queue1_value, 40);
    }

    #[test]
    fn batches_settle_on_net_and_track_the_low() {
        let mut l = ledger();
        let a = l.create(Payment::new(0, 1, 140, 0, 9));
        let b = l.create(Payment::new(1, 0, 20, 0, 9));
        l.enqueue2(a);
        l.enqueue2(b);
        l.settle_batch(&[a, b], SettledVia::Multilateral, 0);
        assert_eq!((l.banks[0].balance, l.banks[0].min_balance), (-20, -20));
        assert_eq!((l.banks[0].queue2_count, l.queue2.len), (0, 0));
        l.compact_queue2();
        assert_eq!(l.queue2.entries().count(), 0);
    }

    #[test]
    fn drops_leave_both_queues_accounted() {
        let mut l = ledger();
        let q1 = l.create(Payment::new(0, 1, 7, 0, 9));
        l.enqueue1(q1);
        let q2 = l.create(Payment::new(0, 1, 5, 0, 9));
        l.enqueue2(q2);
        l.drop_payment(q1, DropReason::Eod, 3);
        l.drop_payment(q2, DropReason::Deadline, 3);
        l.compact_queue1();
        l.compact_queue2();
        assert_eq!((l.banks[0].queue1.len(), l.banks[0].queue1_value, l.banks[0].queue2_value), (0, 0, 0));
        assert_eq!((l.acc.num_drops, l.acc.value_dropped), (2, 12));
        assert_eq!(l.payments[q2 as usize].drop_reason, DropReason::Deadline);
    }
}
