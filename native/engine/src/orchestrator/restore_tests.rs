//! One test per kind of inconsistency `load_state` refuses (see [`super::restore`]), each on a
//! real saved state edited through its serde types and re-summed, with the one-line message
//! that names what is wrong; and the states a run does reach, accepted.

use serde_json::json;

use super::state::{decode, encode};
use super::{Orchestrator, SimState};
use crate::config::{EngineConfig, NoFiles};
use crate::error::EngineError;
use crate::model::{RtgsClass, Status};

/// Queue 2's index of the normal class, where these tests' payments wait.
const NORMAL: usize = RtgsClass::Normal as usize;

/// A's 100 is split into four parts it cannot pay; they expire at tick 1 and are dropped, which
/// marks the original late (its deadline penalty charged). B pays A 30 at tick 0 and queues.
fn saved_after(ticks: u32) -> Vec<u8> {
    let cfg = json!({"ticks_per_day": 5, "rng_seed": 0, "lsm": {"mode": "none"}, "agent_configs": [
        {"id": "A", "opening_balance": 10, "policy": {"type": "Splitting", "max_parts": 4, "min_part": 1}},
        {"id": "B", "opening_balance": 0, "policy": {"type": "Fifo"}}],
        "scheduled_payments": [
            {"sender": "A", "receiver": "B", "amount": 100, "arrival_tick": 0, "deadline_tick": 1, "divisible": true},
            {"sender": "B", "receiver": "A", "amount": 30, "arrival_tick": 0}]});
    let mut o = Orchestrator::new(EngineConfig::from_value(&cfg, &NoFiles).unwrap()).unwrap();
    for _ in 0..ticks {
        o.tick().unwrap();
    }
    o.save_state().unwrap()
}

/// `load_state`'s message for the saved state after `edit`.
fn refusal(edit: impl FnOnce(&mut EngineConfig, &mut SimState)) -> String {
    let (mut config, mut state) = decode(&saved_after(2)).unwrap();
    edit(&mut config, &mut state);
    match Orchestrator::load_state(&encode(&config, &state).unwrap()) {
        Err(EngineError::State(msg)) => msg,
        Err(other) => panic!("not a state error: {other}"),
        Ok(_) => panic!("edited state accepted"),
    }
}

#[test]
fn a_split_original_marked_late_is_a_state_a_run_reaches() {
    let o = Orchestrator::load_state(&saved_after(2)).unwrap();
    let original = &o.payments()[0];
    assert_eq!((original.status, original.late), (Status::Split, true));
}

#[test]
fn a_bank_index_out_of_range_is_named() {
    let msg = refusal(|_, st| st.ledger.payments[1].receiver = 2);
    assert!(msg.starts_with("corrupt state: payments[1]: bank index out of range"), "{msg}");
}

#[test]
fn money_moved_between_banks_is_seen_though_the_sum_is_kept() {
    let msg = refusal(|_, st| {
        st.ledger.banks[0].balance -= 5;
        st.ledger.banks[1].balance += 5;
        st.ledger.banks[0].min_balance -= 5;
        st.ledger.banks[0].min_tick_balance -= 5;
    });
    assert!(msg.contains("bank 'A' has balance 5 but opening + received − sent (events included) is 10"), "{msg}");
}

#[test]
fn a_payment_queued_twice_is_named() {
    let msg = refusal(|_, st| {
        let entry = st.ledger.queue2.classes[NORMAL][0];
        st.ledger.queue2.classes[NORMAL].push(entry);
        st.ledger.queue2.len += 1;
    });
    assert!(msg.starts_with("corrupt state: queue2 class 2 entry 1:"), "{msg}");
}

#[test]
fn a_status_its_queues_do_not_show_is_named() {
    let msg = refusal(|_, st| {
        let tx = st.ledger.queue2.classes[NORMAL].pop().unwrap().tx;
        st.ledger.queue2.len -= 1;
        let b = st.ledger.payments[tx as usize].sender as usize;
        st.ledger.banks[b].queue2_count -= 1;
        st.ledger.banks[b].queue2_value -= st.ledger.payments[tx as usize].amount as i128;
        st.ledger.banks[b].queue2_class_count[NORMAL] -= 1;
    });
    assert!(msg.ends_with("is Queue2 but in no queue"), "{msg}");
}

#[test]
fn a_queue_value_off_its_payments_is_named() {
    let msg = refusal(|_, st| st.ledger.banks[1].queue2_value += 1);
    assert!(msg.contains("banks[1] queue2 count, value or classes disagree"), "{msg}");
}

#[test]
fn the_config_is_validated_as_at_construction() {
    let msg = refusal(|config, _| config.lsm.max_cycle_length = 4_000_000_000);
    assert_eq!(msg, "corrupt state: config: lsm.max_cycle_length: must be between 2 and 12");
}

#[test]
fn a_tick_past_the_run_is_named() {
    let msg = refusal(|_, st| st.now = 6);
    assert!(msg.starts_with("corrupt state: tick 6 is past the run's 5 ticks"), "{msg}");
}

#[test]
fn a_tick_log_that_does_not_match_its_sampling_is_refused() {
    // Saved after two of five ticks, every tick logged: two rows per bank.
    let msg = refusal(|config, _| config.tick_log = crate::config::TickLogging::Every(2));
    assert_eq!(msg, "corrupt state: tick log columns [4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4] are not 2 rows (2 banks × 1 logged ticks)");
    let msg = refusal(|config, st| {
        config.tick_log = crate::config::TickLogging::DayEnd;
        st.tick_log.truncate(0);
        st.tick_log.pending.value_sent[0] = -7;
    });
    // Under day_end nothing is logged before tick 4, so two ticks' flows may be pending, but no
    // run sends a negative value.
    assert_eq!(msg, "corrupt state: tick log pending flows are not finite non-negative flows");
    let msg = refusal(|_, st| st.tick_log.pending.costs[1][0] = 3.0);
    assert_eq!(msg, "corrupt state: tick log holds flows pending right after a logged tick");
    let msg = refusal(|_, st| st.tick_log.pending.settled_by.pop().map(|_| ()).unwrap());
    assert_eq!(msg, "corrupt state: tick log pending flows [2, 2, 1, 2] do not have the 2 banks");
}

#[test]
fn a_state_saved_between_logged_ticks_is_a_state_a_run_reaches() {
    let (mut config, mut state) = decode(&saved_after(0)).unwrap();
    config.tick_log = crate::config::TickLogging::DayEnd;
    state.tick_log = crate::log::TickLog::new(2);
    let mut o = Orchestrator::load_state(&encode(&config, &state).unwrap()).unwrap();
    o.tick().unwrap();
    o.tick().unwrap();
    assert!(o.tick_log().is_empty() && !o.tick_log().pending.is_zero());
    let reloaded = Orchestrator::load_state(&o.save_state().unwrap()).unwrap();
    assert_eq!(reloaded.tick_log().pending.value_sent, o.tick_log().pending.value_sent);
}
