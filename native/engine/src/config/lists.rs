//! The config's two lists, each checked as a whole: the banks (`agent_configs`: ids unique, money
//! totals bounded, counterparties known) and the scheduled payments (inline, then from a file).

use std::collections::HashMap;

use serde_json::Value;

use super::parse::parse_agent;
use super::read::{as_array, check_priority, check_range, Obj};
use super::{AgentConfig, ArrivalConfig, ScheduleLoader, ScheduledPayment};
use crate::error::{EngineError, Loc, Result};
use crate::model::MAX_AMOUNT;

/// Banks by config position, keyed by id: a map, not a scan per id, so 20,000-bank systems
/// validate in well under a second.
pub(super) type BankIndex<'a> = HashMap<&'a str, usize>;

/// `agent_configs`: a non-empty list of banks, each parsed at its location.
pub(super) fn parse_agents(o: &mut Obj) -> Result<Vec<AgentConfig>> {
    let loc = o.field("agent_configs");
    let list = as_array(o.take("agent_configs").ok_or_else(|| EngineError::config(loc.clone(), "is required"))?, &loc)?;
    if list.is_empty() {
        return Err(EngineError::config(loc, "needs at least one bank"));
    }
    list.iter().enumerate().map(|(i, a)| parse_agent(a, &loc.index(i))).collect()
}

/// The banks as a whole, located under `loc` (`agent_configs`): ids unique, opening balances plus
/// credit limits small enough that no sum of balances can overflow, and every counterparty a
/// known other bank. Returns the banks by id.
pub(super) fn check_agents<'a>(agents: &'a [AgentConfig], loc: &Loc) -> Result<BankIndex<'a>> {
    let mut index = HashMap::with_capacity(agents.len());
    for (i, a) in agents.iter().enumerate() {
        if index.insert(a.id.as_str(), i).is_some() {
            return Err(EngineError::config(loc.index(i).key("id"), format!("duplicate bank id '{}'", a.id)));
        }
    }
    let total: i128 = agents.iter().map(|a| a.opening_balance as i128 + a.credit_limit as i128).sum();
    if total > (i64::MAX / 4) as i128 {
        return Err(EngineError::config(
            loc.clone(),
            "opening balances plus credit limits are too large to simulate without overflow",
        ));
    }
    let sized = agents.iter().filter(|a| a.size > 0.0).count();
    for (i, a) in agents.iter().enumerate() {
        if let Some(arr) = &a.arrival_config {
            let others_sized = sized - usize::from(a.size > 0.0);
            check_counterparties(arr, i, &index, (agents.len(), others_sized), &loc.index(i).key("arrival_config"))?;
        }
        if let Some(limits) = &a.limits {
            super::rules::check_limits(limits, i, &index, &loc.index(i).key("limits"))?;
        }
    }
    Ok(index)
}

/// The scheduled payments: the inline `scheduled_payments`, then the rows of
/// `scheduled_payments_file` read by `loader`. A file's rows are located like list items:
/// `scheduled_payments_file[7]` is data row 7.
pub(super) fn parse_schedule(
    o: &mut Obj,
    loader: &dyn ScheduleLoader,
    index: &BankIndex,
    total_ticks: u64,
) -> Result<Vec<ScheduledPayment>> {
    let mut scheduled = Vec::new();
    let list_loc = o.field("scheduled_payments");
    if let Some(v) = o.take("scheduled_payments") {
        for (i, p) in as_array(v, &list_loc)?.iter().enumerate() {
            scheduled.push(parse_scheduled(p, &list_loc.index(i), index, total_ticks)?);
        }
    }
    let file_loc = o.field("scheduled_payments_file");
    if let Some(v) = o.take("scheduled_payments_file") {
        let path = v.as_str().ok_or_else(|| EngineError::config(file_loc.clone(), "expected a file path string"))?;
        let rows = loader.load(path).map_err(|e| EngineError::config(file_loc.clone(), e))?;
        for (i, p) in rows.iter().enumerate() {
            scheduled.push(parse_scheduled(p, &file_loc.index(i), index, total_ticks)?);
        }
    }
    Ok(scheduled)
}

/// `banks`: how many banks there are, and how many others than this one have a size > 0.
fn check_counterparties(
    a: &ArrivalConfig,
    bank: usize,
    index: &BankIndex,
    banks: (usize, usize),
    loc: &Loc,
) -> Result<()> {
    let (weights, (n, others_sized)) = (loc.key("counterparty_weights"), banks);
    if a.receivers_by_size {
        if a.rate_per_tick > 0.0 && others_sized == 0 {
            return Err(EngineError::config(loc.key("receivers_by_size"), "every other bank has size 0"));
        }
        return Ok(());
    }
    match &a.counterparty_weights {
        None => {
            if n < 2 && a.rate_per_tick > 0.0 {
                return Err(EngineError::config(loc.clone(), "random arrivals need at least one other bank to pay"));
            }
        }
        Some(ws) => {
            for (k, _) in ws {
                match index.get(k.as_str()).copied() {
                    None => return Err(EngineError::UnknownBank { loc: weights.key(k), id: k.clone() }),
                    Some(j) if j == bank => {
                        return Err(EngineError::config(weights.key(k), "a bank cannot pay itself"))
                    }
                    _ => {}
                }
            }
            if a.rate_per_tick > 0.0 && ws.iter().all(|(_, w)| *w <= 0.0) {
                return Err(EngineError::config(weights, "at least one weight must be > 0"));
            }
        }
    }
    Ok(())
}

fn parse_scheduled(v: &Value, loc: &Loc, index: &BankIndex, total_ticks: u64) -> Result<ScheduledPayment> {
    let mut o = Obj::new(v, loc)?;
    let sender: String = o.req("sender")?;
    let receiver: String = o.req("receiver")?;
    for (key, id) in [("sender", &sender), ("receiver", &receiver)] {
        if !index.contains_key(id.as_str()) {
            return Err(EngineError::UnknownBank { loc: o.field(key), id: id.clone() });
        }
    }
    if sender == receiver {
        return Err(EngineError::config(o.field("receiver"), "must differ from sender"));
    }
    let amount: i64 = o.req("amount")?;
    check_range(amount, 1, MAX_AMOUNT, &o.field("amount"))?;
    let arrival_tick: u32 = o.req("arrival_tick")?;
    if arrival_tick as u64 >= total_ticks {
        return Err(EngineError::config(
            o.field("arrival_tick"),
            format!("must be < {total_ticks} (ticks_per_day × num_days)"),
        ));
    }
    let deadline_tick: Option<u32> = o.opt("deadline_tick")?;
    if let Some(d) = deadline_tick {
        if d < arrival_tick {
            return Err(EngineError::config(o.field("deadline_tick"), "must be ≥ arrival_tick"));
        }
    }
    let priority: u8 = o.opt("priority")?.unwrap_or(5);
    check_priority(priority, &o.field("priority"))?;
    let rtgs_class = super::rules::opt_class(&mut o)?;
    let divisible = o.opt("divisible")?.unwrap_or(false);
    o.finish()?;
    Ok(ScheduledPayment { sender, receiver, amount, arrival_tick, deadline_tick, priority, rtgs_class, divisible })
}
