//! What `load_state` checks before it trusts a decoded state (docs/semantics.md#python-api-of-the-extension).
//! The checksum only finds damage: a file edited and re-summed passes it. So every index, queue,
//! counter and balance is checked against the payments, and the config is validated as at
//! construction, before the engine is assembled: what is accepted is a state a run can reach,
//! and the next tick can neither panic nor break an invariant.

use std::collections::HashSet;

use super::{config_json, SimState};
use crate::config::{EngineConfig, NoFiles};
use crate::error::{EngineError, Result};
use crate::model::{queue2_class, DropReason, Payment, SettledVia, Status, MAX_AMOUNT, NONE};

/// A one-line error naming what is inconsistent.
fn corrupt(what: impl std::fmt::Display) -> EngineError {
    EngineError::State(format!("corrupt state: {what}"))
}

/// Every check, cheapest and most basic first: later ones index with what earlier ones vouched for.
pub(super) fn check(config: &EngineConfig, st: &SimState) -> Result<()> {
    check_config(config)?;
    check_shape(config, st)?;
    check_banks(st)?;
    for (i, p) in st.ledger.payments.iter().enumerate() {
        check_payment(config, st, i, p).map_err(|e| corrupt(format!("payments[{i}]: {e}")))?;
    }
    check_splits(st)?;
    check_queues(st)?;
    check_deadlines(config, st)?;
    check_counters(config, st)
}

/// The config must read back as itself through the parser that validated it at construction.
fn check_config(config: &EngineConfig) -> Result<()> {
    let reread = config_json::engine_dict(config)
        .and_then(|dict| EngineConfig::from_value(&dict, &NoFiles))
        .map_err(|e| corrupt(format!("config: {e}")))?;
    // Policies are compared as rebuilt by `assemble`, not as text (their JSON is re-printed).
    let mut same_policies = reread;
    for (r, a) in same_policies.agents.iter_mut().zip(&config.agents) {
        r.policy = a.policy.clone();
    }
    if same_policies != *config {
        return Err(corrupt("config does not read back as itself"));
    }
    Ok(())
}

/// One entry per bank everywhere, the tick within the run, the tick log one row per bank and tick,
/// and this tick's accounts as a tick boundary leaves them.
fn check_shape(config: &EngineConfig, st: &SimState) -> Result<()> {
    let n = config.agents.len();
    let acc = &st.ledger.acc;
    let per_bank = [
        st.ledger.banks.len(),
        st.rngs.len(),
        st.drawn.len(),
        st.submitted.len(),
        st.bank_costs.len(),
        acc.value_sent.len(),
        acc.value_received.len(),
        acc.settled_by.len(),
        acc.costs.len(),
    ];
    if per_bank.iter().any(|&l| l != n) {
        return Err(corrupt(format!("per-bank lists {per_bank:?} do not all have the {n} banks of the config")));
    }
    for (i, (b, a)) in st.ledger.banks.iter().zip(&config.agents).enumerate() {
        if b.id != a.id
            || b.opening_balance != a.opening_balance
            || b.credit_limit != super::scenario::credit_limit_at(config, i, st.now)
        {
            return Err(corrupt(format!("banks[{i}] ('{}') disagrees with agent_configs[{i}]", b.id)));
        }
    }
    if st.now as u64 > config.total_ticks() {
        return Err(corrupt(format!("tick {} is past the run's {} ticks", st.now, config.total_ticks())));
    }
    if st.ledger.payments.len() >= NONE as usize {
        return Err(corrupt("more payments than tx ids"));
    }
    if st.gridlock_ticks > st.now as u64 {
        return Err(corrupt(format!("gridlock_ticks {} exceeds the {} ticks run", st.gridlock_ticks, st.now)));
    }
    if !st.ledger.optimal.plausible(st.now as u64) {
        return Err(corrupt("the optimal LSM's counts cannot come from the ticks run"));
    }
    if !st.ledger.is_compact() {
        return Err(corrupt("queues hold entries awaiting compaction (saved mid-tick)"));
    }
    check_tick_log(config, st, n)?;
    check_accounts(st)
}

/// The log has one row per bank at each logged tick run so far, in tick and bank order, and
/// flows pending only since the last logged tick (docs/semantics.md#tick-log-sampling).
fn check_tick_log(config: &EngineConfig, st: &SimState, n: usize) -> Result<()> {
    let log = &st.tick_log;
    let logs = |t: u32| config.tick_log.logs(t, config.ticks_per_day);
    let logged = config.tick_log.logged_ticks(config.ticks_per_day).take_while(|&t| t < st.now);
    let logged_ticks = logged.clone().count();
    let rows = n as u64 * logged_ticks as u64;
    let mut lens = vec![log.tick.len(), log.bank.len(), log.balance.len(), log.credit_used.len()];
    lens.extend([log.queue1_count.len(), log.queue1_value.len(), log.queue2_count.len(), log.queue2_value.len()]);
    lens.extend([log.value_sent.len(), log.value_received.len()]);
    lens.extend(log.settled.iter().map(Vec::len).chain(log.costs.iter().map(Vec::len)));
    if lens.iter().any(|&l| l as u64 != rows) {
        return Err(corrupt(format!(
            "tick log columns {lens:?} are not {rows} rows ({n} banks × {logged_ticks} logged ticks)"
        )));
    }
    let expected = logged.flat_map(|t| (0..n).map(move |b| (t, b)));
    let misplaced = expected.enumerate().find(|&(r, (t, b))| log.tick[r] != t || log.bank[r] as usize != b);
    if let Some((r, (t, b))) = misplaced {
        return Err(corrupt(format!("tick log row {r} is not tick {t}, bank {b}")));
    }
    let p = &log.pending;
    let pending_lens = [p.value_sent.len(), p.value_received.len(), p.settled_by.len(), p.costs.len()];
    if pending_lens.iter().any(|&l| l != n) {
        return Err(corrupt(format!("tick log pending flows {pending_lens:?} do not have the {n} banks")));
    }
    if (st.now == 0 || logs(st.now - 1)) && !p.is_zero() {
        return Err(corrupt("tick log holds flows pending right after a logged tick"));
    }
    let negative = p.value_sent.iter().chain(&p.value_received).any(|&v| v < 0);
    if negative || p.costs.iter().flatten().any(|c| !c.is_finite() || *c < 0.0) {
        return Err(corrupt("tick log pending flows are not finite non-negative flows"));
    }
    Ok(())
}

/// Between ticks the accounts are reset; only payments submitted since the last tick are in them.
fn check_accounts(st: &SimState) -> Result<()> {
    let acc = &st.ledger.acc;
    let moved = acc.value_sent.iter().chain(&acc.value_received).any(|&v| v != 0)
        || acc.settled_by.iter().flatten().any(|&c| c != 0)
        || acc.costs.iter().flatten().any(|&c| c != 0.0)
        || (acc.num_settlements, acc.num_drops, acc.lsm_bilateral_releases, acc.lsm_cycle_releases) != (0, 0, 0, 0)
        || (acc.value_settled, acc.value_dropped) != (0, 0);
    if moved {
        return Err(corrupt("this tick's accounts record settlements, drops or costs between ticks"));
    }
    let submitted = st.ledger.payments.iter().filter(|p| p.arrival_tick == st.now && p.parent == NONE);
    let (count, value) = submitted.fold((0u64, 0i128), |(c, v), p| (c + 1, v + p.amount as i128));
    if (acc.num_arrivals as u64, acc.value_arrived) != (count, value) {
        return Err(corrupt(format!(
            "this tick's accounts record {} arrivals of {}, but {count} payments of {value} arrived since the last tick",
            acc.num_arrivals, acc.value_arrived
        )));
    }
    for (b, costs) in st.bank_costs.iter().enumerate() {
        if costs.iter().any(|c| !c.is_finite() || *c < 0.0) {
            return Err(corrupt(format!("bank_costs[{b}] {costs:?} are not finite non-negative costs")));
        }
    }
    Ok(())
}

/// Headroom never overdrawn, and the lowest balances no higher than what they are the lowest of.
/// A balance may sit below the credit line by what a close lent or after a squeeze, so the floor is
/// the bank's lowest headroom, not −credit_limit. (That each balance is exactly opening + received
/// − sent, events included, is [`super::Orchestrator::check_invariants`].)
fn check_banks(st: &SimState) -> Result<()> {
    for (i, b) in st.ledger.banks.iter().enumerate() {
        let low = b.opening_balance.min(b.balance);
        let ok =
            b.min_headroom >= 0 && b.unusable >= 0 && b.min_balance <= b.min_tick_balance && b.min_tick_balance <= low;
        if !ok {
            return Err(corrupt(format!(
                "banks[{i}] ('{}'): balance {}, lowest {}, lowest at a tick's end {}, lowest headroom {} are not consistent with opening {}",
                b.id, b.balance, b.min_balance, b.min_tick_balance, b.min_headroom, b.opening_balance
            )));
        }
    }
    Ok(())
}

/// One payment's own fields: indexes in range, amount and priority valid, and ticks and
/// outcome fields as its status says (docs/semantics.md#transaction-log).
fn check_payment(config: &EngineConfig, st: &SimState, i: usize, p: &Payment) -> std::result::Result<(), String> {
    let (n, now) = (st.ledger.banks.len(), st.now);
    if p.sender as usize >= n || p.receiver as usize >= n {
        return Err(format!("bank index out of range (sender {}, receiver {}, {n} banks)", p.sender, p.receiver));
    }
    if p.sender == p.receiver {
        return Err("pays its own sender".into());
    }
    if !(1..=MAX_AMOUNT).contains(&p.amount) || p.priority > 10 {
        return Err(format!("amount {} or priority {} out of range", p.amount, p.priority));
    }
    if p.arrival_tick > now || p.deadline_tick < p.arrival_tick {
        return Err(format!(
            "arrival tick {} or deadline {} out of order (now {now})",
            p.arrival_tick, p.deadline_tick
        ));
    }
    let released = p.release_tick != NONE;
    if released && !(p.arrival_tick..now).contains(&p.release_tick) {
        return Err(format!("release tick {} outside its arrival and now", p.release_tick));
    }
    let settled = (p.settle_tick, p.settled_via) != (NONE, SettledVia::NotSettled);
    let dropped = (p.drop_tick, p.drop_reason) != (NONE, DropReason::NotDropped);
    let shape = match p.status {
        Status::Queue1 => !released && !settled && !dropped,
        Status::Queue2 => released && !settled && !dropped,
        Status::Split => released && !settled && !dropped && p.parent == NONE,
        Status::Settled => {
            released
                && !dropped
                && p.settled_via != SettledVia::NotSettled
                && (p.release_tick..now).contains(&p.settle_tick)
        }
        Status::Dropped => {
            !settled && p.drop_reason != DropReason::NotDropped && (p.arrival_tick..now).contains(&p.drop_tick)
        }
    };
    if !shape {
        return Err(format!("its release, settlement and drop fields do not fit status {:?}", p.status));
    }
    // Late: charged its deadline penalty, so past its deadline; a payment still queued past it
    // only when expired payments are kept. Not late and still queued: its deadline is still ahead.
    if p.late && (p.deadline_tick >= now || (p.is_queued() && config.drop_expired)) {
        return Err(format!("marked late with deadline {} at tick {now}", p.deadline_tick));
    }
    if !p.late && p.is_queued() && p.deadline_tick < now {
        return Err(format!("queued past its deadline {} without being charged", p.deadline_tick));
    }
    if p.parent != NONE {
        check_part(st, i, p)?;
    }
    Ok(())
}

/// A split part: its original comes before it, is split, and is the payment it is part of.
fn check_part(st: &SimState, i: usize, p: &Payment) -> std::result::Result<(), String> {
    let parent = &st.ledger.payments[..i].get(p.parent as usize).ok_or(format!("parent {} out of range", p.parent))?;
    let same = parent.sender == p.sender
        && parent.receiver == p.receiver
        && parent.arrival_tick == p.arrival_tick
        && parent.deadline_tick == p.deadline_tick
        && parent.priority == p.priority
        && parent.pair_key == p.pair_key;
    if parent.status != Status::Split || parent.parent != NONE || p.divisible || !same {
        return Err(format!("is not a part of its parent {}", p.parent));
    }
    Ok(())
}

/// Every split original's parts add up to it.
fn check_splits(st: &SimState) -> Result<()> {
    let ps = &st.ledger.payments;
    let mut parts = vec![0i128; ps.len()];
    for p in ps.iter().filter(|p| p.parent != NONE) {
        parts[p.parent as usize] += p.amount as i128;
    }
    match ps.iter().enumerate().find(|(i, p)| p.status == Status::Split && parts[*i] != p.amount as i128) {
        Some((i, p)) => {
            Err(corrupt(format!("payments[{i}] is split, but its parts sum to {}, not {}", parts[i], p.amount)))
        }
        None => Ok(()),
    }
}

/// Queue 1 and Queue 2 hold exactly the payments whose status says so, once each, in order, and
/// every bank's queue counts and values are those of the payments it has queued.
fn check_queues(st: &SimState) -> Result<()> {
    let (ps, banks) = (&st.ledger.payments, &st.ledger.banks);
    let mut seen = vec![false; ps.len()];
    let mut entry = |tx: u32, status: Status, sender: usize, at: &dyn Fn() -> String| -> Result<&Payment> {
        let p = ps.get(tx as usize).ok_or_else(|| corrupt(format!("{}: payment {tx} out of range", at())))?;
        if p.status != status || p.sender as usize != sender || std::mem::replace(&mut seen[tx as usize], true) {
            return Err(corrupt(format!(
                "{}: payment {tx} ({:?}, from bank {}) does not belong there, or twice",
                at(),
                p.status,
                p.sender
            )));
        }
        Ok(p)
    };
    for (b, bank) in banks.iter().enumerate() {
        let mut value = 0i128;
        for (k, &tx) in bank.queue1.iter().enumerate() {
            let p = entry(tx, Status::Queue1, b, &|| format!("banks[{b}].queue1[{k}]"))?;
            value += p.amount as i128;
            if k > 0 && ps[bank.queue1[k - 1] as usize].queue1_key(bank.queue1[k - 1]) >= p.queue1_key(tx) {
                return Err(corrupt(format!("banks[{b}].queue1 is not in policy order at {k}")));
            }
        }
        if value != bank.queue1_value {
            return Err(corrupt(format!(
                "banks[{b}].queue1_value is {}, its payments sum to {value}",
                bank.queue1_value
            )));
        }
    }
    let mut tally = vec![(0u32, 0i128, [0u32; crate::model::N_CLASSES]); banks.len()];
    let mut entries = 0usize;
    for (class, queue) in st.ledger.queue2.classes.iter().enumerate() {
        for (k, e) in queue.iter().enumerate() {
            let at = || format!("queue2 class {class} entry {k}");
            let p = entry(e.tx, Status::Queue2, e.sender as usize, &at)?;
            if queue2_class(p) != class || (e.receiver, e.amount, e.class) != (p.receiver, p.amount, p.class()) {
                return Err(corrupt(format!("{}: does not copy payment {}", at(), e.tx)));
            }
            let t = &mut tally[e.sender as usize];
            (t.0, t.1, t.2[class]) = (t.0 + 1, t.1 + p.amount as i128, t.2[class] + 1);
            entries += 1;
        }
    }
    if entries != st.ledger.queue2.len {
        return Err(corrupt(format!("queue2 holds {entries} entries but counts {}", st.ledger.queue2.len)));
    }
    if let Some(b) = (0..banks.len())
        .find(|&b| tally[b] != (banks[b].queue2_count, banks[b].queue2_value, banks[b].queue2_class_count))
    {
        return Err(corrupt(format!("banks[{b}] queue2 count, value or classes disagree with its queued payments")));
    }
    if let Some(i) = ps.iter().enumerate().position(|(i, p)| p.is_queued() && !seen[i]) {
        return Err(corrupt(format!("payments[{i}] is {:?} but in no queue", ps[i].status)));
    }
    Ok(())
}

/// The deadline watch list: ticks still ahead within the run, each payment once at its own
/// deadline, and every queued payment not yet charged watched if its deadline is in the run.
fn check_deadlines(config: &EngineConfig, st: &SimState) -> Result<()> {
    let (ps, total) = (&st.ledger.payments, config.total_ticks());
    let mut watched = HashSet::new();
    for (&tick, txs) in &st.deadlines {
        if tick < st.now || tick as u64 >= total {
            return Err(corrupt(format!("deadlines: tick {tick} is not ahead within the run (now {})", st.now)));
        }
        for &tx in txs {
            let due = ps.get(tx as usize).map(|p| p.deadline_tick);
            if due != Some(tick) || !watched.insert(tx) {
                return Err(corrupt(format!("deadlines[{tick}]: payment {tx} is not due then, or is watched twice")));
            }
        }
    }
    let unwatched = (0..ps.len()).find(|&i| {
        let p = &ps[i];
        p.is_queued() && !p.late && (p.deadline_tick as u64) < total && !watched.contains(&(i as u32))
    });
    match unwatched {
        Some(i) => Err(corrupt(format!("payments[{i}] is queued but its deadline is not watched"))),
        None => Ok(()),
    }
}

/// Each bank's counts of random orders and submissions, and the position in the schedule, are
/// those of the originals by pair-key origin (see [`crate::arrivals::pair_key`]).
fn check_counters(config: &EngineConfig, st: &SimState) -> Result<()> {
    let n = st.ledger.banks.len();
    let (mut drawn, mut submitted, mut scheduled) = (vec![0u64; n], vec![0u64; n], 0u64);
    for (i, p) in st.ledger.payments.iter().enumerate().filter(|(_, p)| p.parent == NONE) {
        match p.pair_key >> 32 {
            0 => drawn[p.sender as usize] += 1,
            1 => scheduled += 1,
            2 => submitted[p.sender as usize] += 1,
            _ => return Err(corrupt(format!("payments[{i}]: pair key {} of no known origin", p.pair_key))),
        }
    }
    let drawn_ok = drawn.iter().zip(&st.drawn).all(|(&a, &b)| a == b as u64);
    let submitted_ok = submitted.iter().zip(&st.submitted).all(|(&a, &b)| a == b as u64);
    if !drawn_ok || !submitted_ok {
        return Err(corrupt("per-bank counts of random orders or submissions disagree with the payments"));
    }
    let due = config.scheduled_payments.iter().filter(|s| s.arrival_tick < st.now).count() as u64;
    if (st.next_scheduled as u64, scheduled) != (due, due) {
        return Err(corrupt(format!(
            "{scheduled} scheduled payments arrived and the schedule is at {}, but {due} were due before tick {}",
            st.next_scheduled, st.now
        )));
    }
    Ok(())
}
