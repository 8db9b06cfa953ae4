//! `tick_n(n)`: one call for `n` ticks (Python's `tick_n`, and `run()` is built on it). It must
//! leave the engine exactly as `n` calls of `tick()` would, return the last tick's result, stop at
//! the end of the run, and fail where `tick()` fails.

mod common;
use common::*;
use paysim_engine::log::transaction_columns;
use paysim_engine::schema::Column;
use paysim_engine::{EngineError, Orchestrator, TickResult};
use proptest::prelude::*;
use serde_json::{json, Value};

/// bench_10's shape, shorter: ten banks, Poisson 0.5 a tick each, t2 LSM, tight enough that
/// Queue 2 and the LSM see work; `days` days of 20 ticks.
fn config(days: u32) -> Value {
    let agents: Vec<Value> = (0..10)
        .map(|i| {
            json!({"id": format!("B{i}"), "opening_balance": 150_000, "credit_limit": 50_000,
                   "policy": {"type": "Fifo"},
                   "arrival_config": {"rate_per_tick": 0.5,
                                      "distribution": {"type": "Normal", "mean": 100_000.0, "std_dev": 30_000.0}}})
        })
        .collect();
    json!({"ticks_per_day": 20, "num_days": days, "rng_seed": 11, "lsm": {"mode": "t2"}, "agent_configs": agents})
}

/// Everything a run leaves behind: its state bytes (balances, queues, payments, accounts), its
/// tick log and its transactions.
type Footprint = (Vec<u8>, Vec<(String, Column)>, Vec<(String, Column)>);

fn footprint(o: &Orchestrator) -> Footprint {
    (o.save_state().unwrap(), o.tick_log().columns(), transaction_columns(o.payments()))
}

/// The reference: one `tick()` call per tick, every result kept.
fn tick_by_tick(o: &mut Orchestrator) -> Vec<TickResult> {
    let mut results = Vec::new();
    while !o.is_finished() {
        results.push(o.tick().unwrap());
    }
    results
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any split of the run into `tick_n` calls (sizes past the end included) leaves the same
    /// engine as a `tick()` loop, and each call returns the result of the last tick it ran.
    #[test]
    fn any_split_into_tick_n_calls_is_a_tick_loop(sizes in prop::collection::vec(0u64..70, 1..12)) {
        let mut reference = engine(config(3));
        let results = tick_by_tick(&mut reference);
        prop_assert!(results.iter().map(|r| r.lsm_bilateral_releases + r.lsm_cycle_releases).sum::<u32>() > 0);
        let mut o = engine(config(3));
        for &n in &sizes {
            if o.is_finished() {
                break;
            }
            let before = o.current_tick() as usize;
            let last = o.tick_n(n, || true).unwrap();
            let ran = o.current_tick() as usize - before;
            prop_assert_eq!(ran as u64, n.min((results.len() - before) as u64));
            prop_assert_eq!(last, ran.checked_sub(1).map(|k| results[before + k].clone()));
        }
        let before = o.current_tick() as usize;
        let rest = o.tick_n(u64::MAX, || true);
        if before < results.len() {
            prop_assert_eq!(rest, Ok(results.last().cloned()), "the rest of the run, its last tick returned");
        } else {
            prop_assert_eq!(rest, Err(EngineError::Finished(60)));
        }
        prop_assert_eq!(footprint(&o), footprint(&reference));
    }
}

#[test]
fn past_the_end_it_fails_as_tick_does_and_zero_ticks_do_nothing() {
    let mut o = engine(config(1));
    assert_eq!(o.tick_n(0, || true), Ok(None));
    assert_eq!(o.current_tick(), 0);
    let last = o.tick_n(1_000, || true).unwrap().unwrap();
    assert_eq!((last.tick, o.current_tick(), o.is_finished()), (19, 20, true));
    assert_eq!(o.tick_n(1, || true), o.tick().map(Some));
    assert_eq!(o.tick_n(1, || true), Err(EngineError::Finished(20)));
    assert_eq!(o.tick_n(0, || true), Ok(None), "no tick asked, none missing");
}

#[test]
fn it_asks_to_keep_going_every_256_ticks_and_stops_between_ticks() {
    let mut o = engine(config(40));
    let mut asked = 0;
    let stopped = o.tick_n(600, || {
        asked += 1;
        asked < 2
    });
    assert_eq!(stopped, Err(EngineError::Interrupted));
    assert_eq!((asked, o.current_tick()), (2, 512));
    let mut reference = engine(config(40));
    for _ in 0..512 {
        reference.tick().unwrap();
    }
    assert_eq!(footprint(&o), footprint(&reference), "the ticks before the stop stand, whole");
}

#[test]
fn an_error_stops_it_at_the_tick_that_fails_keeping_the_ticks_before() {
    // A queue summing past i64 arrives at tick 3: that tick fails, and so does every later call.
    let payments: Vec<Value> = (0..9_224)
        .map(|i| {
            let receiver = ["B", "C"][i % 2];
            json!({"sender": "A", "receiver": receiver, "amount": 1_000_000_000_000_000i64, "arrival_tick": 3})
        })
        .collect();
    let cfg = json!({"lsm": {"mode": "multilateral"}, "agent_configs": banks(&[("A", 0, 0), ("B", 0, 0), ("C", 0, 0)]),
                     "scheduled_payments": payments});
    let mut by_tick = engine(cfg.clone());
    let failed = (0..10).find_map(|_| by_tick.tick().err()).unwrap();
    let mut o = engine(cfg);
    assert_eq!(o.tick_n(10, || true), Err(failed.clone()));
    assert_eq!((o.current_tick(), by_tick.current_tick()), (3, 3));
    assert_eq!(o.tick_log().columns(), by_tick.tick_log().columns());
    assert_eq!(o.tick_n(1, || true), Err(failed), "the run stays stopped, as under tick()");
}
