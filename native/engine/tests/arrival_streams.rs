//! Which config changes keep a bank's random payment stream (docs/semantics.md#random-numbers):
//! the order in which the config lists its banks never matters, and a bank nobody weights can be
//! added without changing the receivers of banks that list their counterparties.

mod common;
use std::collections::BTreeMap;

use common::*;
use paysim_engine::model::NONE;
use proptest::prelude::*;
use serde_json::{json, Value};

/// One random order as its sender sees it: (arrival tick, receiver id, amount, pair key).
type Order = (u32, String, i64, i64);

/// Every bank's random orders in draw order, by sender id.
fn streams(cfg: Value) -> BTreeMap<String, Vec<Order>> {
    let mut o = engine(cfg);
    o.run(|| true).unwrap();
    let ids: Vec<String> = o.banks().iter().map(|b| b.id.clone()).collect();
    let mut out: BTreeMap<String, Vec<Order>> = ids.iter().map(|id| (id.clone(), Vec::new())).collect();
    for p in o.payments().iter().filter(|p| p.parent == NONE) {
        let order = (p.arrival_tick, ids[p.receiver as usize].clone(), p.amount, p.pair_key);
        out.get_mut(&ids[p.sender as usize]).unwrap().push(order);
    }
    out
}

/// A bank's arrivals: `None` for uniform receivers, else weights on other banks (by position).
#[derive(Debug, Clone)]
struct Bank {
    id: String,
    rate: f64,
    weights: Option<Vec<(usize, f64)>>,
}

fn agent(b: &Bank, all: &[Bank]) -> Value {
    let mut arrivals = json!({"rate_per_tick": b.rate,
                              "distribution": {"type": "LogNormal", "mean_log": 7.0, "std_dev_log": 1.0}});
    if let Some(ws) = &b.weights {
        let listed: serde_json::Map<String, Value> =
            ws.iter().filter(|(j, _)| all[*j].id != b.id).map(|(j, w)| (all[*j].id.clone(), json!(w))).collect();
        arrivals["counterparty_weights"] = Value::Object(listed);
    }
    json!({"id": b.id, "opening_balance": 1_000_000, "policy": {"type": "Fifo"}, "arrival_config": arrivals})
}

/// The config listing `banks` in the order of `order` (indexes into `banks`).
fn config(banks: &[Bank], order: &[usize], seed: u64) -> Value {
    let agents: Vec<Value> = order.iter().map(|&i| agent(&banks[i], banks)).collect();
    json!({"ticks_per_day": 10, "num_days": 3, "rng_seed": seed, "lsm": {"mode": "none"}, "agent_configs": agents})
}

prop_compose! {
    /// 2 to 7 banks with distinct ids, each either uniform or weighting some others (always one
    /// positive weight, sometimes an explicit 0).
    fn system()(ids in prop::sample::subsequence(
                    vec!["AB", "B", "BA", "C01", "C1", "C10", "D", "a", "z_9"], 2..=7),
                specs in prop::collection::vec((0.0f64..2.0, any::<bool>(),
                    prop::collection::vec((0usize..9, 0.1f64..3.0), 1..4), any::<bool>()), 7))
                -> Vec<Bank> {
        let n = ids.len();
        ids.iter().enumerate().map(|(i, id)| {
            let (rate, uniform, listed, with_zero) = &specs[i];
            let mut ws: Vec<(usize, f64)> = listed.iter().map(|(j, w)| (*j % n, *w)).filter(|(j, _)| *j != i).collect();
            if ws.is_empty() {
                ws.push(((i + 1) % n, 1.0));
            }
            let zero = (i + n - 1) % n;
            if *with_zero && zero != i && ws.iter().all(|(j, _)| *j != zero) {
                ws.push((zero, 0.0));
            }
            Bank { id: id.to_string(), rate: *rate, weights: if *uniform { None } else { Some(ws) } }
        }).collect()
    }
}

fn system_and_order() -> impl Strategy<Value = (Vec<Bank>, Vec<usize>)> {
    system().prop_flat_map(|banks| {
        let order: Vec<usize> = (0..banks.len()).collect();
        (Just(banks), Just(order).prop_shuffle())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 120, ..ProptestConfig::default() })]

    /// Listing the banks in any order leaves every bank's (tick, receiver, amount) sequence, and
    /// its pair keys, unchanged.
    #[test]
    fn permuting_banks_keeps_every_stream((banks, order) in system_and_order(), seed in 0u64..1000) {
        let listed: Vec<usize> = (0..banks.len()).collect();
        prop_assert_eq!(streams(config(&banks, &listed, seed)), streams(config(&banks, &order, seed)));
    }

    /// A new bank that no one weights, anywhere in the list, with or without arrivals of its own:
    /// a bank with counterparty weights keeps its whole stream; a bank without them keeps its
    /// ticks and amounts (its receivers are drawn among all other banks, the new one included).
    #[test]
    fn adding_an_unweighted_bank_keeps_weighted_streams(
        banks in system(), at in 0usize..8, rate in 0.0f64..2.0, seed in 0u64..1000,
    ) {
        let before = streams(config(&banks, &(0..banks.len()).collect::<Vec<_>>(), seed));
        let mut grown = banks.clone();
        grown.push(Bank { id: "NEW".into(), rate, weights: None });
        let mut order: Vec<usize> = (0..banks.len()).collect();
        order.insert(at % (banks.len() + 1), banks.len());
        let after = streams(config(&grown, &order, seed));
        for b in &banks {
            let (old, new) = (&before[&b.id], &after[&b.id]);
            if b.weights.is_some() {
                prop_assert_eq!(old, new, "bank {} lists its counterparties", &b.id);
            } else {
                let ticks_and_amounts = |s: &[Order]| s.iter().map(|o| (o.0, o.2, o.3)).collect::<Vec<_>>();
                prop_assert_eq!(ticks_and_amounts(old), ticks_and_amounts(new), "bank {}", &b.id);
            }
        }
    }
}

/// The reproduction of issue 8: with weights listed, receivers used to follow config order, so the
/// same weights drew different receivers once the banks were listed in another order.
#[test]
fn reordered_banks_draw_the_same_receivers() {
    let a = |id: &str, ws: Value| {
        json!({"id": id, "opening_balance": 0, "policy": {"type": "Fifo"},
               "arrival_config": {"rate_per_tick": 3.0, "distribution": {"type": "Uniform", "min": 1.0, "max": 9.0},
                                  "counterparty_weights": ws}})
    };
    let cfg = |agents: Vec<Value>| json!({"ticks_per_day": 20, "rng_seed": 4, "agent_configs": agents});
    let x = || a("X", json!({"Y": 1.0, "Z": 3.0}));
    let forward = streams(cfg(vec![x(), a("Y", json!({"X": 1.0})), a("Z", json!({"X": 1.0}))]));
    let backward = streams(cfg(vec![a("Z", json!({"X": 1.0})), a("Y", json!({"X": 1.0})), x()]));
    assert!(forward["X"].iter().any(|o| o.1 == "Y"));
    assert!(forward["X"].iter().any(|o| o.1 == "Z"));
    assert_eq!(forward["X"], backward["X"]);
}
