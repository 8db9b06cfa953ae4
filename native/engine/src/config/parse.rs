//! The sections of an engine config, each parsed at its location so every error names it.

use serde_json::Value;

use super::read::{check_priority, check_range, FromValue, Obj};
use super::{
    AgentConfig, AmountDistribution, ArrivalConfig, CostRates, Crediting, LsmConfig, LsmMode, OptimalConfig,
    PolicyConfig, QueueDiscipline, MAX_COST_RATE,
};
use crate::error::{EngineError, Loc, Result};
use crate::model::MAX_AMOUNT;

/// `ticks_per_day` and `num_days`: both > 0, and a run short enough that every tick, and half as
/// much again, fits a `u32`.
pub(super) fn parse_calendar(o: &mut Obj) -> Result<(u32, u32)> {
    let ticks_per_day: u32 = o.req("ticks_per_day")?;
    if ticks_per_day == 0 {
        return Err(EngineError::config(o.field("ticks_per_day"), "must be > 0"));
    }
    let num_days: u32 = o.opt("num_days")?.unwrap_or(1);
    if num_days == 0 {
        return Err(EngineError::config(o.field("num_days"), "must be > 0"));
    }
    if ticks_per_day as u64 * num_days as u64 > u32::MAX as u64 / 2 {
        return Err(EngineError::config(o.field("num_days"), "ticks_per_day × num_days is too large"));
    }
    Ok((ticks_per_day, num_days))
}

pub(super) fn parse_agent(v: &Value, loc: &Loc) -> Result<AgentConfig> {
    let mut o = Obj::new(v, loc)?;
    let id: String = o.req("id")?;
    if id.trim().is_empty() {
        return Err(EngineError::config(o.field("id"), "must contain a non-whitespace character"));
    }
    let opening_balance: i64 = o.req("opening_balance")?;
    check_range(opening_balance, 0, MAX_AMOUNT, &o.field("opening_balance"))?;
    let credit_limit: i64 = o.opt("credit_limit")?.unwrap_or(0);
    check_range(credit_limit, 0, MAX_AMOUNT, &o.field("credit_limit"))?;
    let policy = match o.take("policy") {
        Some(p) => parse_policy(p, &o.field("policy"))?,
        None => return Err(EngineError::config(o.field("policy"), "is required")),
    };
    let arrival_config = match o.take("arrival_config") {
        Some(Value::Null) | None => None,
        Some(a) => Some(parse_arrivals(a, &o.field("arrival_config"))?),
    };
    let (limits, reservations) = super::rules::parse_agent_rules(&mut o)?;
    let size: f64 = o.opt("size")?.unwrap_or(1.0);
    if size < 0.0 {
        return Err(EngineError::config(o.field("size"), "must be ≥ 0"));
    }
    o.finish()?;
    Ok(AgentConfig { id, opening_balance, credit_limit, policy, arrival_config, limits, reservations, size })
}

fn parse_policy(v: &Value, loc: &Loc) -> Result<PolicyConfig> {
    crate::policy::build(v, loc)?;
    Ok(PolicyConfig { json: v.to_string() })
}

fn parse_arrivals(v: &Value, loc: &Loc) -> Result<ArrivalConfig> {
    let mut o = Obj::new(v, loc)?;
    let rate_per_tick: f64 = o.req("rate_per_tick")?;
    if !(0.0..=10_000.0).contains(&rate_per_tick) {
        return Err(EngineError::config(o.field("rate_per_tick"), "must be between 0 and 10000"));
    }
    let distribution = match o.take("distribution") {
        Some(d) => parse_distribution(d, &o.field("distribution"))?,
        None => return Err(EngineError::config(o.field("distribution"), "is required")),
    };
    let counterparty_weights = match o.take("counterparty_weights") {
        Some(Value::Null) | None => None,
        Some(w) => {
            let wloc = o.field("counterparty_weights");
            let map = w
                .as_object()
                .ok_or_else(|| EngineError::config(wloc.clone(), "expected a mapping of bank id to weight"))?;
            let mut out = Vec::with_capacity(map.len());
            for (k, wv) in map {
                let weight: f64 = FromValue::from_value(wv, &wloc.key(k))?;
                if weight < 0.0 {
                    return Err(EngineError::config(wloc.key(k), "must be ≥ 0"));
                }
                out.push((k.clone(), weight));
            }
            Some(out)
        }
    };
    let receivers_by_size: bool = o.opt("receivers_by_size")?.unwrap_or(false);
    if receivers_by_size && counterparty_weights.is_some() {
        return Err(EngineError::config(o.field("receivers_by_size"), "cannot be combined with counterparty_weights"));
    }
    let deadline_offset: u32 = o.opt("deadline_offset")?.unwrap_or(50);
    let priority: u8 = o.opt("priority")?.unwrap_or(5);
    check_priority(priority, &o.field("priority"))?;
    let rtgs_class = super::rules::opt_class(&mut o)?;
    let divisible: bool = o.opt("divisible")?.unwrap_or(false);
    o.finish()?;
    Ok(ArrivalConfig {
        rate_per_tick,
        distribution,
        counterparty_weights,
        receivers_by_size,
        deadline_offset,
        priority,
        rtgs_class,
        divisible,
    })
}

fn parse_distribution(v: &Value, loc: &Loc) -> Result<AmountDistribution> {
    let mut o = Obj::new(v, loc)?;
    let kind: String = o.req("type")?;
    let positive = |x: f64, key: &str| -> Result<f64> {
        if x > 0.0 {
            Ok(x)
        } else {
            Err(EngineError::config(loc.key(key), "must be > 0"))
        }
    };
    let non_negative = |x: f64, key: &str| -> Result<f64> {
        if x >= 0.0 {
            Ok(x)
        } else {
            Err(EngineError::config(loc.key(key), "must be ≥ 0"))
        }
    };
    let d = match kind.as_str() {
        "Normal" => {
            let mean = o.req("mean")?;
            AmountDistribution::Normal { mean, std_dev: non_negative(o.req("std_dev")?, "std_dev")? }
        }
        "LogNormal" => {
            let mean_log: f64 = o.req("mean_log")?;
            if mean_log.abs() > 40.0 {
                return Err(EngineError::config(o.field("mean_log"), "must be between -40 and 40"));
            }
            AmountDistribution::LogNormal { mean_log, std_dev_log: non_negative(o.req("std_dev_log")?, "std_dev_log")? }
        }
        "Uniform" => {
            let min: f64 = non_negative(o.req("min")?, "min")?;
            let max: f64 = o.req("max")?;
            if max < min {
                return Err(EngineError::config(o.field("max"), "must be ≥ min"));
            }
            AmountDistribution::Uniform { min, max }
        }
        "Exponential" => AmountDistribution::Exponential { mean: positive(o.req("mean")?, "mean")? },
        other => {
            return Err(EngineError::config(
                o.field("type"),
                format!("unknown distribution '{other}' (expected Normal, LogNormal, Uniform, Exponential)"),
            ))
        }
    };
    o.finish()?;
    Ok(d)
}

pub(super) fn parse_costs(v: &Value, loc: &Loc) -> Result<CostRates> {
    let mut o = Obj::new(v, loc)?;
    let d = CostRates::default();
    let mut get = |key: &'static str, default: f64| -> Result<f64> {
        let x: f64 = o.opt(key)?.unwrap_or(default);
        if x < 0.0 {
            return Err(EngineError::config(loc.key(key), "must be ≥ 0"));
        }
        // Bounded so that no cost can become infinite (see MAX_COST_RATE).
        if x > MAX_COST_RATE {
            return Err(EngineError::config(loc.key(key), format!("must be ≤ {MAX_COST_RATE:e}, got {x:e}")));
        }
        Ok(x)
    };
    let c = CostRates {
        liquidity_cost_per_unit_per_tick: get("liquidity_cost_per_unit_per_tick", d.liquidity_cost_per_unit_per_tick)?,
        delay_cost_per_tick: get("delay_cost_per_tick", d.delay_cost_per_tick)?,
        collateral_cost_per_unit_per_tick: get(
            "collateral_cost_per_unit_per_tick",
            d.collateral_cost_per_unit_per_tick,
        )?,
        split_friction_cost: get("split_friction_cost", d.split_friction_cost)?,
        deadline_penalty: get("deadline_penalty", d.deadline_penalty)?,
        eod_penalty: get("eod_penalty", d.eod_penalty)?,
        eod_borrowing_rate: get("eod_borrowing_rate", d.eod_borrowing_rate)?,
    };
    o.finish()?;
    Ok(c)
}

/// A section holding one named choice (`rtgs.queue`, `end_of_day.unsettled`); absent means the first option.
pub(super) fn section_choice<T: Copy>(
    v: Option<&Value>,
    loc: &Loc,
    key: &'static str,
    what: &str,
    options: &[(&str, T)],
) -> Result<T> {
    let Some(v) = v else { return Ok(options[0].1) };
    let mut o = Obj::new(v, loc)?;
    let choice = o.choice(key, what, options, options[0].1)?;
    o.finish()?;
    Ok(choice)
}

/// The `rtgs` section: queue discipline and crediting, each defaulting to today's behaviour.
pub(super) fn parse_rtgs(v: Option<&Value>, loc: &Loc) -> Result<(QueueDiscipline, Crediting)> {
    let (queues, creditings) = (super::QUEUE_DISCIPLINES, super::CREDITINGS);
    let Some(v) = v else { return Ok((queues[0].1, creditings[0].1)) };
    let mut o = Obj::new(v, loc)?;
    let queue = o.choice("queue", "queue discipline", queues, queues[0].1)?;
    let crediting = o.choice("crediting", "crediting", creditings, creditings[0].1)?;
    o.finish()?;
    Ok((queue, crediting))
}

pub(super) fn parse_lsm(v: &Value, loc: &Loc) -> Result<LsmConfig> {
    let mut o = Obj::new(v, loc)?;
    let mode = o.choice("mode", "LSM mode", super::LSM_MODES, LsmMode::T2Classic)?;
    let max_cycle_length: u32 = o.opt("max_cycle_length")?.unwrap_or(6);
    if !(2..=12).contains(&max_cycle_length) {
        return Err(EngineError::config(o.field("max_cycle_length"), "must be between 2 and 12"));
    }
    let include_urgent = o.opt("include_urgent")?;
    let optimal = match o.take("optimal") {
        Some(v) => parse_optimal(v, &o.field("optimal"))?,
        None => OptimalConfig::default(),
    };
    let measure_optimum = o.opt("measure_optimum")?.unwrap_or(false);
    o.finish()?;
    Ok(LsmConfig { mode, max_cycle_length, include_urgent, optimal, measure_optimum })
}

/// `lsm.optimal`: the solver's time limit per pass (1 ms … 1 hour) and the longest queue it solves.
fn parse_optimal(v: &Value, loc: &Loc) -> Result<OptimalConfig> {
    let mut o = Obj::new(v, loc)?;
    let d = OptimalConfig::default();
    let time_limit_ms: u32 = o.opt("time_limit_ms")?.unwrap_or(d.time_limit_ms);
    check_range(time_limit_ms as i64, 1, 3_600_000, &o.field("time_limit_ms"))?;
    let max_queue: u32 = o.opt("max_queue")?.unwrap_or(d.max_queue);
    check_range(max_queue as i64, 1, 10_000_000, &o.field("max_queue"))?;
    o.finish()?;
    Ok(OptimalConfig { time_limit_ms, max_queue })
}
