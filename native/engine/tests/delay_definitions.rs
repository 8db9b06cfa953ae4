//! `mean_delay_ticks` and `delay_indicator` under `end_of_day: carry` (docs/semantics.md#metrics):
//! a settled payment counts its true delay, one that never settles counts as delayed until the
//! run's last tick, so never settling always scores at least as badly as settling late (issue 8,
//! "Definitions to settle"). Under `drop` the figures are what they always were.

mod common;
use common::*;
use paysim_engine::metrics::{compute, MetricValue};
use paysim_engine::model::Status;
use paysim_engine::Orchestrator;
use proptest::prelude::*;
use serde_json::{json, Value};

/// A ratio metric, `None` where it is undefined (nothing to divide by).
fn defined(o: &Orchestrator, name: &str) -> Option<f64> {
    match compute(o).unwrap().into_iter().find(|m| m.0 == name).unwrap().1 {
        MetricValue::Float(x) => Some(x),
        MetricValue::Missing => None,
        other => panic!("{name} is {other:?}, not a ratio"),
    }
}

fn metric(o: &Orchestrator, name: &str) -> f64 {
    defined(o, name).unwrap_or_else(|| panic!("{name} is undefined"))
}

/// Three 4-tick days (last tick 11), no LSM. A, with nothing, owes B 100 from tick 1 on (kept past
/// its deadline). At tick 6 (day 1) C pays 100 to `funded` from its own balance: to A, which
/// lets A's payment settle the next day, or to D, which leaves it unsettled for good.
fn next_day_or_never(funded: &str, eod: &str) -> Orchestrator {
    engine(json!({"ticks_per_day": 4, "num_days": 3, "lsm": {"mode": "none"}, "drop_expired": false,
        "end_of_day": {"unsettled": eod},
        "agent_configs": banks(&[("A", 0, 0), ("B", 0, 0), ("C", 100, 0), ("D", 0, 0)]),
        "scheduled_payments": [
            {"sender": "A", "receiver": "B", "amount": 100, "arrival_tick": 1, "deadline_tick": 3},
            {"sender": "C", "receiver": funded, "amount": 100, "arrival_tick": 6}]}))
}

fn finished(mut o: Orchestrator) -> Orchestrator {
    o.run(|| true).unwrap();
    o
}

#[test]
fn under_carry_a_payment_settled_the_next_day_counts_its_true_delay() {
    let o = finished(next_day_or_never("A", "carry"));
    assert_eq!(o.payments()[0].settle_tick, 6, "A's payment settles when C's 100 arrives");
    // Delays 6 − 1 = 5 and 0; the most each could count is 11 − 1 = 10 and 11 − 6 = 5.
    assert_eq!(metric(&o, "mean_delay_ticks"), 2.5);
    assert_eq!(metric(&o, "delay_indicator"), 500.0 / 1500.0);
}

#[test]
fn under_carry_a_payment_never_settled_counts_as_delayed_to_the_end_of_the_run() {
    let o = finished(next_day_or_never("D", "carry"));
    assert!(o.payments()[0].is_queued(), "A's payment is still queued when the run ends");
    // Delays 11 − 1 = 10 and 0, of the same most as above.
    assert_eq!(metric(&o, "mean_delay_ticks"), 5.0);
    assert_eq!(metric(&o, "delay_indicator"), 1000.0 / 1500.0);
}

#[test]
fn under_carry_never_settling_scores_worse_than_settling_the_next_day() {
    let (late, never) = (finished(next_day_or_never("A", "carry")), finished(next_day_or_never("D", "carry")));
    assert!(metric(&never, "mean_delay_ticks") > metric(&late, "mean_delay_ticks"));
    assert!(metric(&never, "delay_indicator") > metric(&late, "delay_indicator"));
}

#[test]
fn mid_run_a_queued_payment_already_counts_to_the_end_of_the_run() {
    // The horizon is fixed by the config: after 3 ticks A's payment counts 11 − 1 = 10, C's has not
    // arrived; the weight of A's payment (10) is the same it has at the end.
    let mut o = next_day_or_never("A", "carry");
    for _ in 0..3 {
        o.tick().unwrap();
    }
    assert_eq!(metric(&o, "mean_delay_ticks"), 10.0);
    assert_eq!(metric(&o, "delay_indicator"), 1.0);
}

#[test]
fn under_drop_the_payment_counts_to_the_close_of_its_day_as_before() {
    // A's payment is dropped at the close of day 0 (tick 3): delay 3 − 1 = 2 of 2; C's 100 to A
    // settles on arrival: 0 of 7 − 6 = 1, whether it goes to A or to D.
    for funded in ["A", "D"] {
        let o = finished(next_day_or_never(funded, "drop"));
        assert_eq!(metric(&o, "mean_delay_ticks"), 1.0, "C pays {funded}");
        assert_eq!(metric(&o, "delay_indicator"), 200.0 / 300.0, "C pays {funded}");
    }
}

fn policy(k: u8) -> Value {
    match k % 4 {
        0 => json!({"type": "Fifo"}),
        1 => json!({"type": "Deadline", "urgency_threshold": 2}),
        2 => json!({"type": "LiquidityAware", "target_buffer": 0, "urgency_threshold": 1}),
        _ => json!({"type": "Splitting", "max_parts": 3, "min_part": 1}),
    }
}

const MODES: [&str; 5] = ["none", "bilateral", "cycles", "multilateral", "t2"];

prop_compose! {
    /// A pair of runs that differ in one thing: whether F's payment of `amount` at `funding_tick`
    /// goes to A, whose payment of the same amount (arriving at `arrival`, unfunded until then)
    /// can then settle, or to the sink S, so that A's payment never settles. Banks D0.. pay each
    /// other at random, under a random LSM mode, with tight liquidity and short deadlines; they
    /// never pay A, F or S, so the rest of the run is the same in both.
    fn funded_or_not()(tpd in 2u32..6, days in 1u32..4, seed in 0u64..1000, mode in 0usize..5, carry in any::<bool>(),
                       k in any::<u8>(), divisible in any::<bool>(), amount in 1i64..5000,
                       at in (0u32..1000, 0u32..1000), n_bg in 2usize..5, bg_balance in 0i64..3000)
                       -> (Value, Value, u32) {
        let total = tpd * days;
        let arrival = at.0 % total;
        let funding = arrival + at.1 % (total - arrival);
        let bg: Vec<String> = (0..n_bg).map(|i| format!("D{i}")).collect();
        let mut agents = vec![
            json!({"id": "A", "opening_balance": 0, "policy": policy(k)}),
            json!({"id": "F", "opening_balance": amount, "policy": {"type": "Fifo"}}),
            json!({"id": "S", "opening_balance": 0, "policy": {"type": "Fifo"}}),
        ];
        for d in &bg {
            let weights: serde_json::Map<String, Value> = bg.iter().filter(|o| *o != d).map(|o| (o.clone(), json!(1.0))).collect();
            agents.push(json!({"id": d, "opening_balance": bg_balance, "policy": policy(k / 4),
                "arrival_config": {"rate_per_tick": 0.8, "distribution": {"type": "LogNormal", "mean_log": 6.0, "std_dev_log": 1.0},
                                   "counterparty_weights": weights, "deadline_offset": 2, "divisible": divisible}}));
        }
        let cfg = |funded: &str| json!({"ticks_per_day": tpd, "num_days": days, "rng_seed": seed, "agent_configs": agents,
            "lsm": {"mode": MODES[mode]}, "drop_expired": false, "end_of_day": {"unsettled": if carry {"carry"} else {"drop"}},
            "scheduled_payments": [
                {"sender": "A", "receiver": "S", "amount": amount, "arrival_tick": arrival, "deadline_tick": total - 1,
                 "divisible": divisible},
                {"sender": "F", "receiver": funded, "amount": amount, "arrival_tick": funding}]});
        // The last tick A's payment could settle: the run's last under carry, its day's last under drop.
        let horizon = if carry { total - 1 } else { (arrival / tpd + 1) * tpd - 1 };
        (cfg("A"), cfg("S"), horizon)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Never settling A's payment scores at least the delay of settling it at any later tick, and
    /// strictly more if it settled before the last tick it could (so the figures tell "late" from
    /// "never"). Under `drop` too, where that tick is the close of its arrival day.
    #[test]
    fn a_payment_never_settled_scores_no_less_delay_than_one_settled_late((late_cfg, never_cfg, horizon) in funded_or_not()) {
        let (late, never) = (finished(engine(late_cfg)), finished(engine(never_cfg)));
        prop_assert!(!never.payments().iter().any(|p| p.sender == 0 && settled(p)), "A's payment settles unfunded");
        // The last of A's payment (or its parts) to settle; a part left over means it never settled.
        let a_parts: Vec<_> = late.payments().iter().filter(|p| p.sender == 0 && p.status != Status::Split).collect();
        let settled_at = a_parts.iter().all(|p| settled(p)).then(|| a_parts.iter().map(|p| p.settle_tick).max().unwrap());
        for name in ["mean_delay_ticks", "delay_indicator"] {
            // Both runs weigh the same payments the same: a figure undefined in one is in both.
            let (Some(l), Some(n)) = (defined(&late, name), defined(&never, name)) else {
                prop_assert_eq!(defined(&late, name), defined(&never, name), "{}", name);
                continue;
            };
            // Parts sum their value·delay terms in another order than the whole: allow for rounding.
            prop_assert!(n >= l - 1e-12 * l.abs(), "{name}: never {n} < late {l}");
            if settled_at.is_some_and(|t| t < horizon) {
                prop_assert!(n > l, "{name}: never {n} does not exceed late {l} (settled at {settled_at:?})");
            }
        }
    }

    /// A one-day run counts the same delays under `carry` as under `drop`, at every tick: the end
    /// of the run is the close of the day.
    #[test]
    fn a_one_day_run_scores_the_same_delays_under_carry_and_drop((cfg, _, _) in funded_or_not()) {
        let mut one_day = cfg;
        one_day["num_days"] = json!(1);
        let arrival = one_day["scheduled_payments"][0]["arrival_tick"].as_u64().unwrap();
        let tpd = one_day["ticks_per_day"].as_u64().unwrap();
        one_day["scheduled_payments"][0]["arrival_tick"] = json!(arrival % tpd);
        one_day["scheduled_payments"][0]["deadline_tick"] = json!(tpd - 1);
        one_day["scheduled_payments"][1]["arrival_tick"] = json!(tpd - 1);
        let mut runs: Vec<Orchestrator> = ["carry", "drop"].iter().map(|eod| {
            let mut c = one_day.clone();
            c["end_of_day"] = json!({"unsettled": eod});
            engine(c)
        }).collect();
        while !runs[0].is_finished() {
            for o in &mut runs {
                o.tick().unwrap();
            }
            for name in ["mean_delay_ticks", "delay_indicator"] {
                let (carry, drop) = (compute(&runs[0]).unwrap(), compute(&runs[1]).unwrap());
                let find = |m: &[(&str, MetricValue)]| m.iter().find(|x| x.0 == name).unwrap().1.clone();
                prop_assert_eq!(find(&carry), find(&drop), "{} at tick {}", name, runs[0].current_tick());
            }
        }
    }
}
