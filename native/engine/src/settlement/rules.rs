//! Sender limits and liquidity reservations as settlement applies them
//! (docs/semantics.md#t2-settlement-rules).
//!
//! A bank's net sending position towards a counterparty is the normal payments it settled to it
//! minus every payment it received from it, since the start of the day. Each limit bounds one
//! position: a bilateral limit the position towards its bank, the multilateral limit the sum over
//! the banks without a bilateral limit ("slots" below). Receiving only lowers a position, so a
//! position that starts the day at 0 stays within its limit as long as every settlement is checked.
//! Reservations are floors: a payment of a class may not take its sender's headroom (balance plus
//! credit line) below what is reserved for the classes above it.

use serde::{Deserialize, Serialize};

use crate::config::AgentConfig;
use crate::model::{BankIdx, RtgsClass};

/// One bank's limits and its positions against them.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BankLimits {
    /// Bilateral limits by counterparty index, sorted; their slots come first, in this order.
    bilateral: Vec<(BankIdx, i64)>,
    /// The multilateral limit; its slot is the last one.
    multilateral: Option<i64>,
    /// Net sending position per slot, this day.
    position: Vec<i128>,
}

impl BankLimits {
    /// The slot counting payments with `counterparty`, if a limit covers it.
    pub fn slot(&self, counterparty: BankIdx) -> Option<usize> {
        match self.bilateral.binary_search_by_key(&counterparty, |x| x.0) {
            Ok(i) => Some(i),
            Err(_) => self.multilateral.map(|_| self.bilateral.len()),
        }
    }

    pub fn slots(&self) -> usize {
        self.position.len()
    }

    fn limit(&self, slot: usize) -> i128 {
        match self.bilateral.get(slot) {
            Some(x) => x.1 as i128,
            None => self.multilateral.expect("a slot past the bilateral ones is multilateral") as i128,
        }
    }

    /// How much position `slot` may still grow today: the optimal LSM's limit rows.
    pub fn room(&self, slot: usize) -> i128 {
        self.limit(slot) - self.position[slot]
    }

    /// How far position `slot` would exceed its limit after changing by `delta` (0 if within).
    pub fn excess(&self, slot: usize, delta: i128) -> i128 {
        (self.position[slot] + delta - self.limit(slot)).max(0)
    }
}

/// The rules of every bank; empty vectors when no bank uses them, so settlement without rules
/// does no extra work.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct SenderRules {
    /// Per bank, when any bank has limits.
    pub limits: Vec<Option<BankLimits>>,
    /// Per bank (highly urgent, urgent), when any bank reserves liquidity.
    reservations: Vec<[i64; 2]>,
    /// How often the positions may have changed (settlements booked, days started): how
    /// [`super::idle::IdlePass`] tells that limit room changed. Not saved, as a cache's key.
    #[serde(skip)]
    pub changes: u64,
}

impl SenderRules {
    pub fn new(agents: &[AgentConfig], index_of: impl Fn(&str) -> Option<usize>) -> Self {
        let mut rules = SenderRules::default();
        if agents.iter().any(|a| a.limits.is_some()) {
            rules.limits = agents
                .iter()
                .map(|a| {
                    a.limits.as_ref().map(|l| {
                        let mut bilateral: Vec<(BankIdx, i64)> = l
                            .bilateral
                            .iter()
                            .map(|(id, x)| (index_of(id).expect("validated") as BankIdx, *x))
                            .collect();
                        bilateral.sort_unstable();
                        let slots = bilateral.len() + usize::from(l.multilateral.is_some());
                        BankLimits { bilateral, multilateral: l.multilateral, position: vec![0; slots] }
                    })
                })
                .collect();
        }
        if agents.iter().any(|a| a.reservations.is_some()) {
            rules.reservations =
                agents.iter().map(|a| a.reservations.map_or([0, 0], |r| [r.highly_urgent, r.urgent])).collect();
        }
        rules
    }

    /// Whether `self` holds the same limits and reservations as `other` (positions aside).
    pub fn same_rules(&self, other: &SenderRules) -> bool {
        let layout =
            |l: &Option<BankLimits>| l.as_ref().map(|l| (l.bilateral.clone(), l.multilateral, l.position.len()));
        self.reservations == other.reservations
            && self.limits.len() == other.limits.len()
            && self.limits.iter().zip(&other.limits).all(|(a, b)| layout(a) == layout(b))
    }

    pub fn has_limits(&self) -> bool {
        !self.limits.is_empty()
    }

    pub fn has_reservations(&self) -> bool {
        !self.reservations.is_empty()
    }

    pub fn bank_limits(&self, bank: BankIdx) -> Option<&BankLimits> {
        self.limits.get(bank as usize).and_then(Option::as_ref)
    }

    /// Headroom a payment of `class` must leave its sender (docs/semantics.md#t2-settlement-rules).
    pub fn floor(&self, bank: BankIdx, class: RtgsClass) -> i128 {
        let Some(r) = self.reservations.get(bank as usize) else { return 0 };
        match class {
            RtgsClass::HighlyUrgent => 0,
            RtgsClass::Urgent => r[0] as i128,
            RtgsClass::Normal => r[0] as i128 + r[1] as i128,
        }
    }

    /// Whether a gross payment keeps its sender within its limit.
    pub fn gross_within(&self, sender: BankIdx, receiver: BankIdx, amount: i64, class: RtgsClass) -> bool {
        if class != RtgsClass::Normal {
            return true;
        }
        match self.bank_limits(sender) {
            Some(l) => l.slot(receiver).is_none_or(|s| l.excess(s, amount as i128) == 0),
            None => true,
        }
    }

    /// Book a settled payment into both banks' positions.
    pub fn record(&mut self, sender: BankIdx, receiver: BankIdx, amount: i64, class: RtgsClass) {
        if self.limits.is_empty() {
            return;
        }
        self.changes += 1;
        if class == RtgsClass::Normal {
            if let Some(l) = self.limits[sender as usize].as_mut() {
                if let Some(s) = l.slot(receiver) {
                    l.position[s] += amount as i128;
                }
            }
        }
        if let Some(l) = self.limits[receiver as usize].as_mut() {
            if let Some(s) = l.slot(sender) {
                l.position[s] -= amount as i128;
            }
        }
    }

    /// A new business day: every position starts again from 0.
    pub fn start_day(&mut self) {
        self.changes += 1;
        for l in self.limits.iter_mut().flatten() {
            l.position.iter_mut().for_each(|p| *p = 0);
        }
    }

    /// The largest position over its limit anywhere (0 when every limit holds): the invariant check.
    pub fn worst_breach(&self) -> Option<(BankIdx, i128)> {
        self.limits.iter().enumerate().find_map(|(b, l)| {
            let l = l.as_ref()?;
            (0..l.slots()).map(|s| l.excess(s, 0)).find(|x| *x > 0).map(|x| (b as BankIdx, x))
        })
    }
}

/// Net position changes of a set of payments settled together, per bank and slot, and how far
/// they exceed the limits: what an LSM algorithm checks besides liquidity. Updated payment by
/// payment, so an algorithm removing payments pays O(1) per removal.
pub struct LimitDeltas {
    delta: Vec<Vec<i128>>,
    /// Per bank: the sum over its slots of how far each exceeds its limit.
    pub excess: Vec<i128>,
}

impl LimitDeltas {
    pub fn new(rules: &SenderRules, n: usize) -> Self {
        let delta = if rules.has_limits() {
            rules.limits.iter().map(|l| vec![0; l.as_ref().map_or(0, BankLimits::slots)]).collect()
        } else {
            Vec::new()
        };
        LimitDeltas { delta, excess: vec![0; if rules.has_limits() { n } else { 0 }] }
    }

    /// Add (`sign` 1) or take out (`sign` −1) a payment of the set.
    pub fn add(&mut self, rules: &SenderRules, e: (BankIdx, BankIdx, i64, RtgsClass), sign: i128) {
        if self.delta.is_empty() {
            return;
        }
        let (s, r, amount, class) = e;
        if class == RtgsClass::Normal {
            self.shift(rules, s, r, sign * amount as i128);
        }
        self.shift(rules, r, s, -sign * amount as i128);
    }

    fn shift(&mut self, rules: &SenderRules, bank: BankIdx, counterparty: BankIdx, by: i128) {
        let Some(l) = rules.bank_limits(bank) else { return };
        let Some(slot) = l.slot(counterparty) else { return };
        let d = &mut self.delta[bank as usize][slot];
        let before = l.excess(slot, *d);
        *d += by;
        self.excess[bank as usize] += l.excess(slot, *d) - before;
    }

    pub fn excess_of(&self, bank: usize) -> i128 {
        self.excess.get(bank).copied().unwrap_or(0)
    }

    pub fn any_excess(&self) -> bool {
        self.excess.iter().any(|x| *x > 0)
    }
}

impl SenderRules {
    /// Whether `bank`, in an offset where it pays `normal_out` of normal payments to `to` and
    /// receives `received` from `from` (the same bank in a bilateral offset), stays within its limits.
    pub fn offset_within(&self, bank: BankIdx, to: BankIdx, normal_out: i128, from: BankIdx, received: i128) -> bool {
        let Some(l) = self.bank_limits(bank) else { return true };
        match (l.slot(to), l.slot(from)) {
            (Some(a), Some(b)) if a == b => l.excess(a, normal_out - received) == 0,
            // A slot that only receives goes down, so only the paying slot can exceed.
            (Some(a), _) => l.excess(a, normal_out) == 0,
            (None, _) => true,
        }
    }
}
