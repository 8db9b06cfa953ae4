//! The domain: banks (settlement accounts at the central bank) and payments.

use serde::{Deserialize, Serialize};

/// Index of a bank in configuration order.
pub type BankIdx = u32;
/// Index of a payment in creation order; this *is* its `tx_id`.
pub type TxIdx = u32;
/// "No value" for optional ticks and parents, kept as a sentinel so a payment stays small.
pub const NONE: u32 = u32::MAX;
/// Priority at or above which a payment is urgent (served before normal ones in Queue 2, as in T2).
pub const URGENT_PRIORITY: u8 = 8;
/// Priority from which a payment is highly urgent when it names no class (docs/semantics.md#gross-settlement-and-queue-2).
pub const HIGHLY_URGENT_PRIORITY: u8 = 10;
/// Largest payment amount accepted (also the cap on opening balances and credit limits).
/// Any one amount, balance or credit line fits `i64` with room to spare; sums over queues and runs
/// do not (9,224 payments of the cap already exceed it), so those are kept in `i128`
/// (docs/semantics.md#engine-configuration).
pub const MAX_AMOUNT: i64 = 1_000_000_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(u8)]
pub enum Status {
    /// In the sender's internal queue; its cash-manager policy decides when to release it.
    Queue1 = 0,
    /// Released to the central RTGS queue, waiting for liquidity or an LSM offset.
    Queue2 = 1,
    Settled = 2,
    Dropped = 3,
    /// Replaced by its parts (see `parent`); not itself settled or dropped.
    Split = 4,
}
pub const STATUS_NAMES: &[&str] = &["queue1", "queue2", "settled", "dropped", "split"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(u8)]
pub enum SettledVia {
    NotSettled = 0,
    /// Gross, on release.
    Rtgs = 1,
    /// Gross, from Queue 2.
    Queue = 2,
    /// Bilateral offsetting.
    Bilateral = 3,
    /// Cycles or multilateral offsetting.
    Multilateral = 4,
    /// At the close, by the central bank lending the sender what it lacked
    /// (`end_of_day.unsettled: borrow`, docs/semantics.md#end-of-day).
    EodBorrowing = 5,
}
pub const SETTLED_VIA_NAMES: &[&str] = &["", "rtgs", "queue", "bilateral", "multilateral", "eod_borrowing"];
/// How many means of settlement there are (every [`SettledVia`] but `NotSettled`).
pub const N_MEANS: usize = SETTLED_VIA_NAMES.len() - 1;

/// T2's three priority classes, in the order Queue 2 serves them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[repr(u8)]
pub enum RtgsClass {
    HighlyUrgent = 0,
    Urgent = 1,
    Normal = 2,
}
pub const RTGS_CLASS_NAMES: &[&str] = &["highly_urgent", "urgent", "normal"];
/// How many classes Queue 2 holds.
pub const N_CLASSES: usize = RTGS_CLASS_NAMES.len();

impl RtgsClass {
    pub const ALL: [RtgsClass; N_CLASSES] = [RtgsClass::HighlyUrgent, RtgsClass::Urgent, RtgsClass::Normal];

    /// The class a payment that names none takes from its priority: 10 highly urgent, 8–9 urgent.
    pub fn of_priority(priority: u8) -> Self {
        match priority {
            p if p >= HIGHLY_URGENT_PRIORITY => RtgsClass::HighlyUrgent,
            p if p >= URGENT_PRIORITY => RtgsClass::Urgent,
            _ => RtgsClass::Normal,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(u8)]
pub enum DropReason {
    NotDropped = 0,
    Deadline = 1,
    Eod = 2,
    Policy = 3,
}
pub const DROP_REASON_NAMES: &[&str] = &["", "deadline", "eod", "policy"];

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Payment {
    pub sender: BankIdx,
    pub receiver: BankIdx,
    pub amount: i64,
    pub arrival_tick: u32,
    /// Last tick at which it may settle.
    pub deadline_tick: u32,
    pub priority: u8,
    /// The class named on the payment or its arrival config; `None` = derived from `priority`.
    pub rtgs_class: Option<RtgsClass>,
    pub divisible: bool,
    pub parent: TxIdx,
    pub status: Status,
    pub release_tick: u32,
    pub settle_tick: u32,
    pub drop_tick: u32,
    pub settled_via: SettledVia,
    pub drop_reason: DropReason,
    /// Past its deadline and still queued (only with `drop_expired: false`); penalty already charged.
    /// On a split original: one of its parts has been charged the deadline penalty for it.
    pub late: bool,
    /// With the sender, names this payment across runs (see [`crate::arrivals::pair_key`]); set
    /// on arrival, and inherited by split parts.
    pub pair_key: i64,
}

impl Payment {
    pub fn new(sender: BankIdx, receiver: BankIdx, amount: i64, arrival_tick: u32, deadline_tick: u32) -> Self {
        Payment {
            sender,
            receiver,
            amount,
            arrival_tick,
            deadline_tick,
            priority: 5,
            rtgs_class: None,
            divisible: false,
            parent: NONE,
            status: Status::Queue1,
            release_tick: NONE,
            settle_tick: NONE,
            drop_tick: NONE,
            settled_via: SettledVia::NotSettled,
            drop_reason: DropReason::NotDropped,
            late: false,
            pair_key: -1,
        }
    }

    /// Its Queue 2 class: the one it names, else the one its priority gives.
    pub fn class(&self) -> RtgsClass {
        self.rtgs_class.unwrap_or_else(|| RtgsClass::of_priority(self.priority))
    }

    pub fn is_queued(&self) -> bool {
        matches!(self.status, Status::Queue1 | Status::Queue2)
    }

    /// Queue 1 order: priority descending, then arrival tick, then tx_id.
    pub fn queue1_key(&self, tx: TxIdx) -> (std::cmp::Reverse<u8>, u32, TxIdx) {
        (std::cmp::Reverse(self.priority), self.arrival_tick, tx)
    }
}

/// A bank's settlement account and what the engine tracks about it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Bank {
    pub id: String,
    pub opening_balance: i64,
    /// Intraday credit: the balance may go down to `-credit_limit`.
    pub credit_limit: i64,
    pub balance: i64,
    /// Lowest balance ever reached, at any settlement: the credit-limit invariant is checked on it.
    pub min_balance: i64,
    /// Lowest headroom (usable balance plus credit line) right after the bank paid out, counting
    /// what the central bank lent it at a close as allowed: the credit-limit invariant is checked
    /// on it, so a limit lowered by an event binds only the settlements made under it.
    pub min_headroom: i128,
    /// This tick's receipts under deferred crediting, not yet usable (docs/semantics.md#crediting).
    /// Always 0 between ticks, so it is not part of the saved state.
    #[serde(skip)]
    pub unusable: i64,
    /// Lowest end-of-tick balance: liquidity used is measured on it (docs/semantics.md#metrics), so it can be
    /// recomputed from the tick log.
    pub min_tick_balance: i64,
    /// Queue 1 in policy order (see [`Payment::queue1_key`]).
    pub queue1: Vec<TxIdx>,
    /// Value in Queue 1; `i128` because a queue can hold more than `i64` of payments.
    pub queue1_value: i128,
    pub queue2_count: u32,
    /// Value in Queue 2; `i128` like `queue1_value`.
    pub queue2_value: i128,
    /// Queue 2 entries per class (indexed by [`RtgsClass`]); strict FIFO needs them.
    pub queue2_class_count: [u32; N_CLASSES],
}

impl Bank {
    pub fn new(id: String, opening_balance: i64, credit_limit: i64) -> Self {
        Bank {
            id,
            opening_balance,
            credit_limit,
            balance: opening_balance,
            min_balance: opening_balance,
            min_headroom: opening_balance as i128 + credit_limit as i128,
            unusable: 0,
            min_tick_balance: opening_balance,
            queue1: Vec::new(),
            queue1_value: 0,
            queue2_count: 0,
            queue2_value: 0,
            queue2_class_count: [0; N_CLASSES],
        }
    }

    /// Whether the bank can pay `outflow` now out of its usable balance without going below its
    /// credit limit.
    pub fn covers(&self, outflow: i64) -> bool {
        self.headroom() >= outflow as i128
    }

    /// What the bank may still pay now: usable balance (balance less this tick's receipts under
    /// deferred crediting) plus credit line. Negative after a squeeze or a close with borrowing.
    pub fn headroom(&self) -> i128 {
        self.balance as i128 - self.unusable as i128 + self.credit_limit as i128
    }

    pub fn credit_used(&self) -> i64 {
        (-self.balance).max(0)
    }
}

/// Queue 2 class of a payment, as an index: highly urgent, urgent, then normal are served in turn.
pub fn queue2_class(p: &Payment) -> usize {
    p.class() as usize
}
