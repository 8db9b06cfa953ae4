//! The state fuzzer (docs/semantics.md#python-api-of-the-extension, `load_state`). The checksum
//! only detects damage: a file edited and re-summed passes it. So this takes real states saved
//! mid-run, mutates their payload — raw bytes, and decoded fields through the state's own serde
//! types — recomputes the checksum, and requires `load_state` either to refuse the result with
//! [`EngineError::State`] or to give an engine that ticks to the end and reports its metrics and
//! logs with no panic and no broken invariant.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;

use super::state::{decode, encode};
use super::{Orchestrator, SimState};
use crate::config::{EngineConfig, NoFiles};
use crate::error::EngineError;
use crate::model::{DropReason, SettledVia, Status, MAX_AMOUNT, NONE};
use crate::settlement::Queued;

/// Most ticks run on a restored engine: a mutated `num_days` can legally lengthen the run to
/// 2³¹ ticks, which would take hours; the first few hundred show whether it runs cleanly.
const MAX_TICKS: u32 = 400;

thread_local! {
    /// Set while this thread runs fuzz cases: their expected panics (before a fix, or in a
    /// failing case) are reported by the test, not printed once each.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

fn quiet_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let loud = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                loud(info)
            }
        }));
    });
}

/// A busy two-day run saved mid-way: every policy, splitting, LSM, penalties, random arrivals,
/// scheduled and submitted payments. `strict` switches to strict FIFO, dropping at deadline and
/// end of day, and the `cycles` LSM, so both sides of each option are in the saved states.
fn saved_state(strict: bool, stop_at: u32) -> Vec<u8> {
    let policies = [
        json!({"type": "Fifo"}),
        json!({"type": "Deadline", "urgency_threshold": 2}),
        json!({"type": "LiquidityAware", "target_buffer": 2000, "urgency_threshold": 1}),
        json!({"type": "Splitting", "max_parts": 3, "min_part": 300}),
    ];
    let agents: Vec<_> = (0..4)
        .map(|i| {
            json!({"id": format!("B{i}"), "opening_balance": 4000, "credit_limit": 1500, "policy": policies[i],
                "arrival_config": {"rate_per_tick": 0.8, "deadline_offset": 5, "divisible": true, "priority": 3 + 2 * i,
                    "distribution": {"type": "LogNormal", "mean_log": 7.5, "std_dev_log": 0.8}}})
        })
        .collect();
    let cfg = json!({"ticks_per_day": 12, "num_days": 2, "rng_seed": 7, "agent_configs": agents,
        "lsm": {"mode": if strict { "cycles" } else { "t2" }},
        "rtgs": {"queue": if strict { "strict_fifo" } else { "fifo_bypass" }},
        "drop_expired": strict, "end_of_day": {"unsettled": if strict { "drop" } else { "carry" }},
        "scheduled_payments": [
            {"sender": "B0", "receiver": "B3", "amount": 9000, "arrival_tick": 1, "divisible": true},
            {"sender": "B2", "receiver": "B1", "amount": 700, "arrival_tick": 20, "deadline_tick": 22}]});
    let mut o = Orchestrator::new(EngineConfig::from_value(&cfg, &NoFiles).unwrap()).unwrap();
    for _ in 0..stop_at {
        o.tick().unwrap();
    }
    let submission = super::Submission {
        sender: "B1".into(),
        receiver: "B0".into(),
        amount: 1234,
        deadline_offset: 2,
        priority: 9,
        rtgs_class: None,
        divisible: true,
    };
    o.submit(&submission).unwrap();
    o.save_state().unwrap()
}

/// Refused as a bad state, or run to the end (at most [`MAX_TICKS`]) with metrics, bounds and
/// logs computed: `Ok`. Anything else — another error, a broken invariant, a panic — is the
/// failure, described in one line.
fn verdict(bytes: &[u8]) -> Result<(), String> {
    quiet_panics();
    QUIET.with(|q| q.set(true));
    let ran = panic::catch_unwind(AssertUnwindSafe(|| run_restored(bytes)));
    QUIET.with(|q| q.set(false));
    ran.unwrap_or_else(|p| {
        let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
        Err(format!("panic: {}", msg.unwrap_or_default()))
    })
}

fn run_restored(bytes: &[u8]) -> Result<(), String> {
    let mut o = match Orchestrator::load_state(bytes) {
        Err(EngineError::State(_)) => return Ok(()),
        Err(e) => return Err(format!("load_state gave a non-state error: {e}")),
        Ok(o) => o,
    };
    for _ in 0..MAX_TICKS {
        if o.is_finished() {
            break;
        }
        o.tick().map_err(|e| format!("tick {}: {e}", o.current_tick()))?;
    }
    o.check_invariants().map_err(|e| e.to_string())?;
    crate::metrics::compute(&o).map_err(|e| format!("metrics: {e}"))?;
    crate::metrics::bank_liquidity_bounds(&o).map_err(|e| format!("liquidity bounds: {e}"))?;
    o.agent_states().map_err(|e| format!("agent states: {e}"))?;
    let _ = (o.tick_log().columns(), crate::log::transaction_columns(o.payments()));
    Ok(())
}

/// A value for a field: often one at or just past a boundary, sometimes anything.
fn nasty(r: u64, len: usize) -> u32 {
    let len = len as u32;
    match r % 8 {
        0 => 0,
        1 => len.saturating_sub(1),
        2 => len,
        3 => len.saturating_add(1),
        4 => NONE,
        5 => NONE - 1,
        _ => (r >> 8) as u32 % len.saturating_add(3).max(1),
    }
}

/// A byte-level mutation of the payload (between header and checksum), then a fresh checksum.
fn mutate_bytes(bytes: &[u8], kind: u8, at: u64, value: u64) -> Vec<u8> {
    let (head, tail) = (8, 8);
    let mut body = bytes[head..bytes.len() - tail].to_vec();
    let pos = (at % body.len() as u64) as usize;
    match kind % 4 {
        0 => body[pos] ^= 1 << (value % 8),
        1 => body[pos] = [0, 0xff, 0x7f, 0x80, value as u8][(value >> 8) as usize % 5],
        2 => {
            let run = (1 + value % 8) as usize;
            let fill = [0u8, 0xff][(value >> 8) as usize % 2];
            let end = (pos + run).min(body.len());
            body[pos..end].fill(fill);
        }
        _ => body.truncate(pos),
    }
    reframe(bytes, &body)
}

fn reframe(original: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = original[..8].to_vec();
    out.extend_from_slice(body);
    out.extend_from_slice(&crate::hash::fnv1a64(body).to_le_bytes());
    out
}

/// How many kinds of structured mutation [`mutate_fields`] knows.
const FIELD_MUTATIONS: u8 = 24;

/// A structured mutation of one decoded field, chosen by `kind`, at an index and to a value
/// drawn from `a` and `b`; then re-encoded with a fresh checksum by the caller. One long match on
/// purpose: it is the catalogue of edits, one arm per field, read best in one place.
fn mutate_fields(config: &mut EngineConfig, st: &mut SimState, kind: u8, a: u64, b: u64) {
    let (n, np) = (st.ledger.banks.len(), st.ledger.payments.len());
    let bank = (a % n as u64) as usize;
    let tx = (a % np.max(1) as u64) as usize;
    let statuses = [Status::Queue1, Status::Queue2, Status::Settled, Status::Dropped, Status::Split];
    let delta = [1i64, -1, 1000, -1000, MAX_AMOUNT, i64::MIN / 2][(b % 6) as usize];
    if np == 0 && kind % FIELD_MUTATIONS <= 8 {
        return; // a payment field, and an earlier step removed the only payment
    }
    let ledger = &mut st.ledger;
    match kind % FIELD_MUTATIONS {
        0 => ledger.payments[tx].sender = nasty(b, n),
        1 => ledger.payments[tx].receiver = nasty(b, n),
        2 => ledger.payments[tx].parent = nasty(b, np),
        3 => ledger.payments[tx].status = statuses[(b % 5) as usize],
        4 => ledger.payments[tx].amount = ledger.payments[tx].amount.saturating_add(delta),
        5 => {
            let p = &mut ledger.payments[tx];
            match b % 5 {
                0 => p.arrival_tick = nasty(b >> 3, st.now as usize),
                1 => p.settle_tick = nasty(b >> 3, st.now as usize),
                2 => p.release_tick = nasty(b >> 3, st.now as usize),
                3 => p.drop_tick = nasty(b >> 3, st.now as usize),
                _ => p.deadline_tick = nasty(b >> 3, st.now as usize),
            }
        }
        6 => {
            let p = &mut ledger.payments[tx];
            match b % 4 {
                0 => p.late = !p.late,
                1 => {
                    p.settled_via =
                        [SettledVia::NotSettled, SettledVia::Rtgs, SettledVia::Multilateral][(b >> 2) as usize % 3]
                }
                2 => {
                    p.drop_reason =
                        [DropReason::NotDropped, DropReason::Deadline, DropReason::Policy][(b >> 2) as usize % 3]
                }
                _ => p.priority = (b >> 2) as u8,
            }
        }
        7 => ledger.payments[tx].pair_key = [i64::MIN, -1, 1 << 40, (b >> 3) as i64][(b % 4) as usize],
        8 => match b % 3 {
            0 => {
                ledger.payments.pop();
            }
            1 => ledger.payments.push(ledger.payments[tx].clone()),
            _ => ledger.payments.swap(tx, (b >> 2) as usize % np.max(1)),
        },
        9 => {
            let q = &mut ledger.banks[bank].queue1;
            match b % 4 {
                0 => q.push(nasty(b >> 2, np)),
                1 => {
                    q.pop();
                }
                2 if !q.is_empty() => q.push(q[0]),
                _ => q.reverse(),
            }
        }
        10 => {
            let class = (b % 2) as usize;
            let q = &mut ledger.queue2.classes[class];
            let entry = Queued {
                tx: nasty(b >> 1, np),
                sender: bank as u32,
                receiver: 0,
                amount: 1,
                class: crate::model::RtgsClass::Normal,
            };
            match (b >> 1) % 4 {
                0 => q.push(entry),
                1 => {
                    q.pop();
                }
                2 if !q.is_empty() => q.push(q[0]),
                _ => {
                    if let Some(e) = q.first_mut() {
                        e.amount = e.amount.saturating_add(delta);
                    }
                }
            }
        }
        11 => {
            let q = &mut ledger.queue2;
            q.len = match b % 3 {
                0 => q.len.saturating_add(1),
                1 => q.len.saturating_sub(1),
                _ => usize::MAX,
            };
        }
        12 => ledger.banks[bank].balance = ledger.banks[bank].balance.saturating_add(delta),
        13 => {
            // Money moved between two banks: the sum stays, so only a per-bank check sees it.
            let other = (bank + 1 + (b >> 3) as usize % (n - 1)) % n;
            let x = delta.unsigned_abs().min(MAX_AMOUNT as u64) as i64;
            ledger.banks[bank].balance -= x;
            ledger.banks[other].balance += x;
        }
        14 => {
            let bk = &mut ledger.banks[bank];
            match b % 6 {
                0 => bk.min_balance = bk.min_balance.saturating_add(delta),
                1 => bk.min_tick_balance = bk.min_tick_balance.saturating_add(delta),
                2 => bk.queue1_value += delta as i128,
                3 => bk.queue2_value += delta as i128,
                4 => bk.queue2_count = bk.queue2_count.wrapping_add(delta as u32),
                _ => bk.queue2_class_count[(b >> 3) as usize % 2] ^= 1,
            }
        }
        15 => st.now = nasty(b, st.now as usize + 2),
        16 => match b % 3 {
            0 => st.next_scheduled = nasty(b >> 2, config.scheduled_payments.len()) as usize,
            1 => st.drawn[bank] = nasty(b >> 2, st.drawn[bank] as usize),
            _ => st.submitted[bank] = nasty(b >> 2, st.submitted[bank] as usize),
        },
        17 => match b % 3 {
            0 => st.deadlines.entry(nasty(b >> 2, st.now as usize)).or_default().push(nasty(b >> 20, np)),
            1 => {
                st.deadlines.pop_first();
            }
            _ => {
                if let Some(v) = st.deadlines.values_mut().next() {
                    v.push(nasty(b >> 2, np));
                }
            }
        },
        18 => match b % 3 {
            0 => st.tick_log.truncate(st.tick_log.len().saturating_sub(1)),
            1 => st.tick_log.bank.iter_mut().take(1).for_each(|x| *x = nasty(b >> 2, n)),
            _ => st.tick_log.balance.push(0),
        },
        19 => st.bank_costs[bank][(b % 6) as usize] = [f64::NAN, -1.0, f64::INFINITY][(b >> 3) as usize % 3],
        20 => match b % 3 {
            0 => st.value_settled_total += delta as i128,
            1 => st.gridlock_ticks = u64::MAX - (b >> 2) % 2,
            _ => {
                st.rngs.pop();
            }
        },
        21 => {
            let acc = &mut ledger.acc;
            match b % 4 {
                0 => acc.num_arrivals = acc.num_arrivals.wrapping_add(delta as u32),
                1 => acc.value_sent.truncate(bank),
                2 => acc.costs.pop().map(|_| ()).unwrap_or(()),
                _ => acc.value_settled += delta as i128,
            }
        }
        22 => match b % 5 {
            0 => config.ticks_per_day = nasty(b >> 3, config.ticks_per_day as usize),
            1 => config.num_days = nasty(b >> 3, config.num_days as usize),
            2 => config.lsm.max_cycle_length = nasty(b >> 3, 12),
            3 => config.cost_rates.delay_cost_per_tick = [f64::NAN, -1.0, 1e300][(b >> 3) as usize % 3],
            _ => config.agents[bank].credit_limit = config.agents[bank].credit_limit.saturating_add(delta),
        },
        _ => match b % 4 {
            0 => config.agents[bank].policy.json = "{\"type\": \"Splitting\", \"max_parts\": 0}".into(),
            1 => config.agents[bank].id = config.agents[(bank + 1) % n].id.clone(),
            2 => {
                if let Some(s) = config.scheduled_payments.first_mut() {
                    s.sender = s.receiver.clone();
                }
            }
            _ => {
                if let Some(a) = config.agents[bank].arrival_config.as_mut() {
                    a.rate_per_tick = [f64::NAN, -0.5, 10_000.5][(b >> 2) as usize % 3];
                }
            }
        },
    }
}

/// Up to three structured mutations of a decoded state, re-encoded with a fresh checksum.
fn mutate_decoded(bytes: &[u8], steps: &[(u8, u64, u64)]) -> Vec<u8> {
    let (mut config, mut state) = decode(bytes).expect("a saved state decodes");
    for &(kind, a, b) in steps {
        mutate_fields(&mut config, &mut state, kind, a, b);
    }
    encode(&config, &state).expect("any decoded state encodes")
}

fn base(which: u8) -> Vec<u8> {
    saved_state(which % 2 == 1, [0, 7, 15][(which / 2 % 3) as usize])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn edited_bytes_with_a_fresh_checksum_are_refused_or_run_cleanly(
        which in 0u8..6, kind in any::<u8>(), at in any::<u64>(), value in any::<u64>()
    ) {
        let bytes = mutate_bytes(&base(which), kind, at, value);
        prop_assert_eq!(verdict(&bytes), Ok(()));
    }

    #[test]
    fn edited_fields_with_a_fresh_checksum_are_refused_or_run_cleanly(
        which in 0u8..6, steps in prop::collection::vec((any::<u8>(), any::<u64>(), any::<u64>()), 1..=3)
    ) {
        let bytes = mutate_decoded(&base(which), &steps);
        prop_assert_eq!(verdict(&bytes), Ok(()));
    }
}

/// A fixed sweep of many mutations, half on bytes and half on fields, counting failures so that a
/// regression says how much of the state is unchecked, not only that something is.
#[test]
fn a_sweep_of_4000_edited_states_has_no_failures() {
    let bases: Vec<Vec<u8>> = (0..6).map(base).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut failures = Vec::new();
    for case in 0..4000 {
        let state = &bases[case % bases.len()];
        let bytes = if case % 2 == 0 {
            mutate_bytes(state, rng.gen(), rng.gen(), rng.gen())
        } else {
            let steps: Vec<_> = (0..rng.gen_range(1..=3)).map(|_| (rng.gen(), rng.gen(), rng.gen())).collect();
            mutate_decoded(state, &steps)
        };
        if let Err(e) = verdict(&bytes) {
            failures.push(format!("case {case}: {e}"));
        }
    }
    // Failures told apart by their text without numbers: "panic: index out of bounds ...".
    let mut kinds: Vec<String> = failures
        .iter()
        .map(|f| f.split_once(": ").map_or("", |x| x.1).chars().filter(|c| !c.is_ascii_digit()).take(70).collect())
        .collect();
    kinds.sort();
    kinds.dedup();
    assert!(
        failures.is_empty(),
        "{} of 4000 edited states failed; kinds: {:?}; first: {:?}",
        failures.len(),
        kinds,
        &failures[..failures.len().min(8)]
    );
}

#[test]
fn every_base_state_is_accepted_and_runs() {
    for which in 0..6 {
        let bytes = base(which);
        assert!(Orchestrator::load_state(&bytes).is_ok(), "base state {which} refused");
        assert_eq!(verdict(&bytes), Ok(()));
    }
}
