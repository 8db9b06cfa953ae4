//! Helpers shared by the integration tests: build engines from JSON like users do.

#![allow(dead_code)]

use paysim_engine::config::{EngineConfig, NoFiles};
use paysim_engine::model::{Payment, SettledVia, Status};
use paysim_engine::Orchestrator;
use serde_json::{json, Value};

/// Banks with (id, balance, credit) and Fifo policies, no random arrivals.
pub fn banks(specs: &[(&str, i64, i64)]) -> Value {
    Value::Array(
        specs
            .iter()
            .map(|(id, bal, credit)| json!({"id": id, "opening_balance": bal, "credit_limit": credit, "policy": {"type": "Fifo"}}))
            .collect(),
    )
}

pub fn engine(mut cfg: Value) -> Orchestrator {
    if cfg.get("rng_seed").is_none() {
        cfg["rng_seed"] = json!(1);
    }
    if cfg.get("ticks_per_day").is_none() {
        cfg["ticks_per_day"] = json!(10);
    }
    Orchestrator::new(EngineConfig::from_value(&cfg, &NoFiles).expect("valid config")).expect("engine")
}

/// A scheduled payment arriving at tick 0.
pub fn pay(sender: &str, receiver: &str, amount: i64) -> Value {
    json!({"sender": sender, "receiver": receiver, "amount": amount, "arrival_tick": 0})
}

pub fn balances(o: &Orchestrator) -> Vec<i64> {
    o.banks().iter().map(|b| b.balance).collect()
}

pub fn statuses(o: &Orchestrator) -> Vec<Status> {
    o.payments().iter().map(|p| p.status).collect()
}

pub fn via(o: &Orchestrator) -> Vec<SettledVia> {
    o.payments().iter().map(|p| p.settled_via).collect()
}

pub fn settled(p: &Payment) -> bool {
    p.status == Status::Settled
}

/// A random scenario event of every kind (outage, credit line, transfer, injection, surge of one
/// bank or of all) among banks `B0`…`B{n-1}` within `ticks`, from a tuple a proptest draws.
pub fn event(n: usize, ticks: u32, (kind, a, b, t1, t2, x): (u8, usize, usize, u32, u32, i64)) -> Value {
    let (bank, other) = (format!("B{}", a % n), format!("B{}", (a + 1 + b % (n - 1)) % n));
    let (start, end) = ((t1 % ticks).min(t2 % ticks), (t1 % ticks).max(t2 % ticks));
    match kind % 5 {
        0 => json!({"type": "outage", "bank": bank, "start_tick": start, "end_tick": end}),
        1 => json!({"type": "credit_limit", "bank": bank, "tick": start, "credit_limit": x % 3000}),
        2 => json!({"type": "transfer", "from": bank, "to": other, "amount": 1 + x % 2000, "tick": start}),
        3 => json!({"type": "transfer", "to": bank, "amount": 1 + x % 2000, "tick": start}),
        _ if b % 2 == 0 => {
            json!({"type": "arrival_surge", "start_tick": start, "end_tick": end, "factor": (x % 40) as f64 / 10.0})
        }
        _ => {
            json!({"type": "arrival_surge", "bank": bank, "start_tick": start, "end_tick": end, "factor": (x % 40) as f64 / 10.0})
        }
    }
}
