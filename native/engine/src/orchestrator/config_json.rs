//! A config back as the engine dict it was read from (docs/semantics.md#engine-configuration), so a
//! restored config is validated by the very code that validated it at construction.
//!
//! Every struct is taken apart field by field, without `..`: a new config field does not compile
//! here until it is written out, so it cannot slip past the restore check unvalidated.

use serde_json::{json, Map, Value};

use crate::config::{
    choice_name, AgentConfig, AmountDistribution, ArrivalConfig, CostRates, EngineConfig, Event, LimitsConfig,
    LsmConfig, OptimalConfig, ReservationsConfig, ScheduledPayment, TickLogging, CREDITINGS, EOD_UNSETTLED, LSM_MODES,
    QUEUE_DISCIPLINES, TICK_LOG_POINTS,
};
use crate::error::{EngineError, Loc, Result};

/// The engine dict of `config`. A policy whose saved text is not JSON is an error at its field.
pub(super) fn engine_dict(config: &EngineConfig) -> Result<Value> {
    let EngineConfig {
        ticks_per_day,
        num_days,
        rng_seed,
        agents,
        scheduled_payments,
        cost_rates,
        lsm,
        queue_discipline,
        crediting,
        drop_expired,
        eod_unsettled,
        events,
        tick_log,
    } = config;
    let agents = agents.iter().enumerate().map(|(i, a)| agent(a, i)).collect::<Result<Vec<_>>>()?;
    let queue = choice_name(QUEUE_DISCIPLINES, queue_discipline);
    let unsettled = choice_name(EOD_UNSETTLED, eod_unsettled);
    let crediting = choice_name(CREDITINGS, crediting);
    let ids: Vec<&str> = config.agents.iter().map(|a| a.id.as_str()).collect();
    Ok(json!({
        "ticks_per_day": ticks_per_day, "num_days": num_days, "rng_seed": rng_seed, "agent_configs": agents,
        "scheduled_payments": scheduled_payments.iter().map(scheduled).collect::<Vec<_>>(),
        "cost_rates": costs(cost_rates), "lsm": lsm_section(lsm), "rtgs": {"queue": queue, "crediting": crediting},
        "drop_expired": drop_expired, "end_of_day": {"unsettled": unsettled},
        "events": events.iter().map(|e| event(e, &ids)).collect::<Vec<_>>(),
        "tick_log": tick_log_section(*tick_log),
    }))
}

fn agent(a: &AgentConfig, i: usize) -> Result<Value> {
    let AgentConfig { id, opening_balance, credit_limit, policy, arrival_config, limits, reservations, size } = a;
    let policy: Value = serde_json::from_str(&policy.json).map_err(|e| {
        EngineError::config(Loc::from("agent_configs").index(i).key("policy"), format!("not a policy mapping: {e}"))
    })?;
    let mut out = json!({"id": id, "opening_balance": opening_balance, "credit_limit": credit_limit, "policy": policy});
    if let Some(arrivals) = arrival_config {
        out["arrival_config"] = arrival(arrivals);
    }
    if *size != 1.0 {
        out["size"] = json!(size);
    }
    if let Some(LimitsConfig { bilateral, multilateral }) = limits {
        let map: Map<String, Value> = bilateral.iter().map(|(id, x)| (id.clone(), json!(x))).collect();
        out["limits"] = json!({"bilateral": map, "multilateral": multilateral});
    }
    if let Some(ReservationsConfig { highly_urgent, urgent }) = reservations {
        out["reservations"] = json!({"highly_urgent": highly_urgent, "urgent": urgent});
    }
    Ok(out)
}

fn arrival(a: &ArrivalConfig) -> Value {
    let ArrivalConfig {
        rate_per_tick,
        distribution,
        counterparty_weights,
        receivers_by_size,
        deadline_offset,
        priority,
        rtgs_class,
        divisible,
    } = a;
    let distribution = match *distribution {
        AmountDistribution::Normal { mean, std_dev } => json!({"type": "Normal", "mean": mean, "std_dev": std_dev}),
        AmountDistribution::LogNormal { mean_log, std_dev_log } => {
            json!({"type": "LogNormal", "mean_log": mean_log, "std_dev_log": std_dev_log})
        }
        AmountDistribution::Uniform { min, max } => json!({"type": "Uniform", "min": min, "max": max}),
        AmountDistribution::Exponential { mean } => json!({"type": "Exponential", "mean": mean}),
    };
    let mut out = json!({"rate_per_tick": rate_per_tick, "distribution": distribution,
        "deadline_offset": deadline_offset, "priority": priority, "divisible": divisible,
        "rtgs_class": class_name(rtgs_class)});
    if let Some(weights) = counterparty_weights {
        let map: Map<String, Value> = weights.iter().map(|(id, w)| (id.clone(), json!(w))).collect();
        out["counterparty_weights"] = Value::Object(map);
    }
    if *receivers_by_size {
        out["receivers_by_size"] = json!(true);
    }
    out
}

fn scheduled(s: &ScheduledPayment) -> Value {
    let ScheduledPayment { sender, receiver, amount, arrival_tick, deadline_tick, priority, rtgs_class, divisible } = s;
    let mut out = json!({"sender": sender, "receiver": receiver, "amount": amount, "arrival_tick": arrival_tick,
        "priority": priority, "divisible": divisible, "rtgs_class": class_name(rtgs_class)});
    if let Some(d) = deadline_tick {
        out["deadline_tick"] = json!(d);
    }
    out
}

/// A named class as the config spells it; `null` (absent) when the priority decides.
fn class_name(c: &Option<crate::model::RtgsClass>) -> Value {
    c.map_or(Value::Null, |c| json!(crate::model::RTGS_CLASS_NAMES[c as usize]))
}

fn costs(c: &CostRates) -> Value {
    let CostRates {
        liquidity_cost_per_unit_per_tick,
        delay_cost_per_tick,
        collateral_cost_per_unit_per_tick,
        split_friction_cost,
        deadline_penalty,
        eod_penalty,
        eod_borrowing_rate,
    } = c;
    json!({"liquidity_cost_per_unit_per_tick": liquidity_cost_per_unit_per_tick,
        "delay_cost_per_tick": delay_cost_per_tick,
        "collateral_cost_per_unit_per_tick": collateral_cost_per_unit_per_tick,
        "split_friction_cost": split_friction_cost, "deadline_penalty": deadline_penalty, "eod_penalty": eod_penalty,
        "eod_borrowing_rate": eod_borrowing_rate})
}

fn lsm_section(l: &LsmConfig) -> Value {
    let LsmConfig { mode, max_cycle_length, include_urgent, optimal, measure_optimum } = l;
    let mode = choice_name(LSM_MODES, mode);
    let OptimalConfig { time_limit_ms, max_queue } = optimal;
    json!({"mode": mode, "max_cycle_length": max_cycle_length, "include_urgent": include_urgent,
        "optimal": {"time_limit_ms": time_limit_ms, "max_queue": max_queue}, "measure_optimum": measure_optimum})
}

fn tick_log_section(t: TickLogging) -> Value {
    match t {
        TickLogging::Every(k) => json!({"every": k}),
        point => json!({"at": choice_name(TICK_LOG_POINTS, &point)}),
    }
}

/// A scenario event with its banks named by id again, as the config wrote them.
fn event(e: &Event, ids: &[&str]) -> Value {
    let id = |b: &crate::model::BankIdx| ids[*b as usize];
    match e {
        Event::Outage { bank, start_tick, end_tick } => {
            json!({"type": "outage", "bank": id(bank), "start_tick": start_tick, "end_tick": end_tick})
        }
        Event::CreditLimit { bank, tick, credit_limit } => {
            json!({"type": "credit_limit", "bank": id(bank), "tick": tick, "credit_limit": credit_limit})
        }
        Event::Transfer { from, to, amount, tick } => {
            let mut out = json!({"type": "transfer", "to": id(to), "amount": amount, "tick": tick});
            if let Some(from) = from {
                out["from"] = json!(id(from));
            }
            out
        }
        Event::ArrivalSurge { bank, start_tick, end_tick, factor } => {
            let mut out =
                json!({"type": "arrival_surge", "start_tick": start_tick, "end_tick": end_tick, "factor": factor});
            if let Some(bank) = bank {
                out["bank"] = json!(id(bank));
            }
            out
        }
    }
}
