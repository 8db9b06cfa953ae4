//! The exact feasibility of a set of Queue 2 entries settled at once, in `i128`: what the solver's
//! answer is checked against before anything settles, since the solver works in floating point
//! with tolerances (docs/semantics.md#the-optimal-lsm).
//!
//! The rules are the other LSMs': every bank covers its net position, leaving what is reserved
//! for the classes above the lowest one it pays in the set ([`Ledger::shortfall_as`]); normal
//! payments keep every limit position within its limit ([`crate::settlement::rules`]); and under
//! a strict class each sender's chosen payments of that class are a prefix of its queue.
//!
//! Work is in the size of the set, not of the system, so checking many small components of a
//! queue on many banks stays cheap.

use crate::model::{BankIdx, RtgsClass, N_CLASSES};
use crate::settlement::lsm::Scope;
use crate::settlement::{Ledger, Queued};

/// The banks a set of entries touches, sorted, so each has a small local index.
pub(super) struct LocalBanks(Vec<BankIdx>);

impl LocalBanks {
    pub(super) fn of<'a>(entries: impl Iterator<Item = &'a Queued>) -> Self {
        let mut banks: Vec<BankIdx> = entries.flat_map(|e| [e.sender, e.receiver]).collect();
        banks.sort_unstable();
        banks.dedup();
        LocalBanks(banks)
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    pub(super) fn bank(&self, local: usize) -> BankIdx {
        self.0[local]
    }

    pub(super) fn local(&self, bank: BankIdx) -> usize {
        self.0.binary_search(&bank).expect("a bank of the set")
    }
}

/// Why settling the chosen `entries` (those whose flag in `chosen` is set; `entries` in queue
/// order) all at once would break a settlement rule; `None` when it is feasible.
pub fn violation(ledger: &Ledger, scope: Scope, entries: &[Queued], chosen: &[bool]) -> Option<String> {
    let picked = || entries.iter().zip(chosen).filter(|(_, c)| **c).map(|(e, _)| e);
    let banks = LocalBanks::of(picked());
    let mut net = vec![0i128; banks.len()];
    // The least urgent class each bank pays in the set (`RtgsClass` orders most urgent first).
    let mut lowest: Vec<Option<RtgsClass>> = vec![None; banks.len()];
    for e in picked() {
        let (s, r) = (banks.local(e.sender), banks.local(e.receiver));
        net[s] -= e.amount as i128;
        net[r] += e.amount as i128;
        lowest[s] = Some(lowest[s].map_or(e.class, |c| c.max(e.class)));
    }
    for (b, (net, lowest)) in net.iter().zip(&lowest).enumerate() {
        let bank = banks.bank(b);
        let short = ledger.shortfall_as(bank, *net, lowest.unwrap_or(RtgsClass::HighlyUrgent));
        if short > 0 {
            return Some(format!("bank '{}' would be {short} short of its cover", ledger.banks[bank as usize].id));
        }
    }
    limit_breach(ledger, picked()).or_else(|| overtaking(ledger, scope, entries, chosen, &banks))
}

/// The first limit position the set would take over its limit, as a message.
fn limit_breach<'a>(ledger: &Ledger, picked: impl Iterator<Item = &'a Queued>) -> Option<String> {
    if !ledger.rules.has_limits() {
        return None;
    }
    // (bank, slot, change of its position), merged by (bank, slot) after sorting.
    let mut moves: Vec<(BankIdx, usize, i128)> = Vec::new();
    let mut shift = |bank: BankIdx, counterparty: BankIdx, by: i128| {
        if let Some(slot) = ledger.rules.bank_limits(bank).and_then(|l| l.slot(counterparty)) {
            moves.push((bank, slot, by));
        }
    };
    for e in picked {
        if e.class == RtgsClass::Normal {
            shift(e.sender, e.receiver, e.amount as i128);
        }
        shift(e.receiver, e.sender, -(e.amount as i128));
    }
    moves.sort_unstable_by_key(|m| (m.0, m.1));
    let mut i = 0;
    while i < moves.len() {
        let (bank, slot) = (moves[i].0, moves[i].1);
        let same = moves[i..].iter().take_while(|m| (m.0, m.1) == (bank, slot)).count();
        let delta: i128 = moves[i..i + same].iter().map(|m| m.2).sum();
        let limits = ledger.rules.bank_limits(bank).expect("a bank with a slot has limits");
        let excess = limits.excess(slot, delta);
        if excess > 0 {
            return Some(format!("bank '{}' would be {excess} over a sender limit", ledger.banks[bank as usize].id));
        }
        i += same;
    }
    None
}

/// Whether a chosen payment of a strict class would leave before an earlier one of its sender
/// and class that stays queued.
fn overtaking(
    ledger: &Ledger,
    scope: Scope,
    entries: &[Queued],
    chosen: &[bool],
    banks: &LocalBanks,
) -> Option<String> {
    let mut blocked = vec![[false; N_CLASSES]; banks.len()];
    for (e, &c) in entries.iter().zip(chosen) {
        if !scope.discipline.strict(e.class) {
            continue;
        }
        // A sender with nothing chosen is not among `banks`; it has nothing to overtake with.
        let Ok(s) = banks.0.binary_search(&e.sender) else { continue };
        let blocked = &mut blocked[s][e.class as usize];
        if c && *blocked {
            return Some(format!(
                "tx {} of bank '{}' would overtake an earlier queued payment of its class",
                e.tx, ledger.banks[e.sender as usize].id
            ));
        }
        *blocked |= !c;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::QueueDiscipline;
    use crate::model::{Bank, Payment};

    fn queued(l: &mut Ledger, s: u32, r: u32, amount: i64, class: RtgsClass) -> Queued {
        let mut p = Payment::new(s, r, amount, 0, 9);
        p.rtgs_class = Some(class);
        let tx = l.create(p);
        l.enqueue2(tx);
        *l.queue2.entries().find(|e| e.tx == tx).expect("queued")
    }

    const STRICT: Scope = Scope { discipline: QueueDiscipline::StrictFifo, urgent: true };

    #[test]
    fn a_set_is_checked_for_cover_and_order() {
        let mut l = Ledger::new(vec![Bank::new("A".into(), 50, 0), Bank::new("B".into(), 0, 0)]);
        let first = queued(&mut l, 0, 1, 40, RtgsClass::Normal);
        let second = queued(&mut l, 0, 1, 30, RtgsClass::Normal);
        let entries = [first, second];
        assert_eq!(violation(&l, STRICT, &entries, &[true, false]), None);
        assert_eq!(violation(&l, STRICT, &entries, &[true, true]).unwrap(), "bank 'A' would be 20 short of its cover");
        let overtakes = violation(&l, STRICT, &entries, &[false, true]).unwrap();
        assert!(overtakes.contains("would overtake"), "{overtakes}");
        let bypass = Scope { discipline: QueueDiscipline::FifoBypass, urgent: true };
        assert_eq!(violation(&l, bypass, &entries, &[false, true]), None);
    }
}
