//! The `events:` list: typed scenario events (docs/semantics.md#scenario-events), each checked at
//! its location so an error names the event and field (`events[1].bank: unknown bank 'X'`).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::read::{as_array, check_range, Obj};
use super::AgentConfig;
use crate::error::{EngineError, Loc, Result};
use crate::model::{BankIdx, MAX_AMOUNT};

/// Largest arrival-surge factor: a factor multiplies a Poisson mean, and beyond this a surge is
/// a misconfiguration rather than a stress.
pub const MAX_SURGE_FACTOR: f64 = 1_000.0;

/// One scenario event, banks by index in config order. Ticks are inclusive.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum Event {
    /// The bank releases nothing from its Queue 1 in [start_tick, end_tick].
    Outage { bank: BankIdx, start_tick: u32, end_tick: u32 },
    /// The bank's credit line becomes `credit_limit` at `tick` (a squeeze or an extension).
    CreditLimit { bank: BankIdx, tick: u32, credit_limit: i64 },
    /// `amount` moves from `from` to `to` at `tick`; without `from`, the central bank injects it.
    Transfer { from: Option<BankIdx>, to: BankIdx, amount: i64, tick: u32 },
    /// The Poisson rate of `bank` (or every bank) is multiplied by `factor` in [start_tick, end_tick].
    ArrivalSurge { bank: Option<BankIdx>, start_tick: u32, end_tick: u32, factor: f64 },
}

/// The event types by name, as the config spells them.
pub const EVENT_TYPES: &[&str] = &["outage", "credit_limit", "transfer", "arrival_surge"];

/// Bank references and ticks, checked against the config around the list.
struct Context<'a> {
    index: &'a HashMap<&'a str, usize>,
    total_ticks: u64,
}

impl Context<'_> {
    fn bank(&self, o: &mut Obj, key: &'static str) -> Result<Option<BankIdx>> {
        let Some(id) = o.opt::<String>(key)? else { return Ok(None) };
        match self.index.get(id.as_str()) {
            Some(&i) => Ok(Some(i as BankIdx)),
            None => Err(EngineError::config(o.field(key), format!("unknown bank '{id}'"))),
        }
    }

    fn req_bank(&self, o: &mut Obj, key: &'static str) -> Result<BankIdx> {
        self.bank(o, key)?.ok_or_else(|| EngineError::config(o.field(key), "is required"))
    }

    fn tick(&self, o: &mut Obj, key: &'static str) -> Result<u32> {
        let t: u32 = o.req(key)?;
        check_range(t as i64, 0, self.total_ticks as i64 - 1, &o.field(key))?;
        Ok(t)
    }

    fn window(&self, o: &mut Obj) -> Result<(u32, u32)> {
        let (start, end) = (self.tick(o, "start_tick")?, self.tick(o, "end_tick")?);
        if end < start {
            return Err(EngineError::config(o.field("end_tick"), "must be ≥ start_tick"));
        }
        Ok((start, end))
    }
}

fn amount(o: &mut Obj, key: &'static str, lo: i64) -> Result<i64> {
    let x: i64 = o.req(key)?;
    check_range(x, lo, MAX_AMOUNT, &o.field(key))?;
    Ok(x)
}

fn parse_event(v: &Value, loc: &Loc, cx: &Context) -> Result<Event> {
    let mut o = Obj::new(v, loc)?;
    let kind: String = o.req("type")?;
    let event = match kind.as_str() {
        "outage" => {
            let bank = cx.req_bank(&mut o, "bank")?;
            let (start_tick, end_tick) = cx.window(&mut o)?;
            Event::Outage { bank, start_tick, end_tick }
        }
        "credit_limit" => {
            let bank = cx.req_bank(&mut o, "bank")?;
            let tick = cx.tick(&mut o, "tick")?;
            Event::CreditLimit { bank, tick, credit_limit: amount(&mut o, "credit_limit", 0)? }
        }
        "transfer" => {
            let from = cx.bank(&mut o, "from")?;
            let to = cx.req_bank(&mut o, "to")?;
            if from == Some(to) {
                return Err(EngineError::config(o.field("to"), "must differ from 'from'"));
            }
            let amount = amount(&mut o, "amount", 1)?;
            Event::Transfer { from, to, amount, tick: cx.tick(&mut o, "tick")? }
        }
        "arrival_surge" => {
            let bank = cx.bank(&mut o, "bank")?;
            let (start_tick, end_tick) = cx.window(&mut o)?;
            let factor: f64 = o.req("factor")?;
            if !(0.0..=MAX_SURGE_FACTOR).contains(&factor) {
                return Err(EngineError::config(
                    o.field("factor"),
                    format!("must be between 0 and {MAX_SURGE_FACTOR}, got {factor}"),
                ));
            }
            Event::ArrivalSurge { bank, start_tick, end_tick, factor }
        }
        other => {
            return Err(EngineError::config(
                o.field("type"),
                format!("unknown event type '{other}' (expected {})", EVENT_TYPES.join(", ")),
            ))
        }
    };
    o.finish()?;
    Ok(event)
}

/// Parse the list. Injections and raised credit lines add money and credit the overflow check
/// on opening balances and credit limits did not see, so they are bounded the same way.
pub(super) fn parse_events(
    v: &Value,
    loc: &Loc,
    index: &HashMap<&str, usize>,
    total_ticks: u64,
    agents: &[AgentConfig],
) -> Result<Vec<Event>> {
    let cx = Context { index, total_ticks };
    let events = as_array(v, loc)?
        .iter()
        .enumerate()
        .map(|(i, e)| parse_event(e, &loc.index(i), &cx))
        .collect::<Result<Vec<_>>>()?;
    let mut total: i128 = agents.iter().map(|a| a.opening_balance as i128 + a.credit_limit as i128).sum();
    for e in &events {
        match e {
            Event::Transfer { from: None, amount, .. } => total += *amount as i128,
            Event::CreditLimit { credit_limit, .. } => total += *credit_limit as i128,
            _ => {}
        }
    }
    if total > (i64::MAX / 4) as i128 {
        return Err(EngineError::config(
            loc.clone(),
            "opening balances, credit limits and injections are too large to simulate without overflow",
        ));
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use crate::config::{EngineConfig, NoFiles};
    use serde_json::{json, Value};

    fn with_events(events: Value) -> std::result::Result<EngineConfig, String> {
        let v = json!({"ticks_per_day": 10, "rng_seed": 1, "agent_configs": [
            {"id": "A", "opening_balance": 100, "policy": {"type": "Fifo"}},
            {"id": "B", "opening_balance": 100, "policy": {"type": "Fifo"}}], "events": events});
        EngineConfig::from_value(&v, &NoFiles).map_err(|e| e.to_string())
    }

    #[test]
    fn errors_name_the_event_and_field() {
        let outage = json!({"type": "outage", "bank": "A", "start_tick": 1, "end_tick": 2});
        let cases = [
            (
                json!([outage, {"type": "outage", "bank": "X", "start_tick": 1, "end_tick": 2}]),
                "events[1].bank: unknown bank 'X'",
            ),
            (
                json!([{"type": "outage", "bank": "A", "start_tick": 3, "end_tick": 2}]),
                "events[0].end_tick: must be ≥ start_tick",
            ),
            (
                json!([{"type": "storm"}]),
                "events[0].type: unknown event type 'storm' (expected outage, credit_limit, transfer, arrival_surge)",
            ),
            (
                json!([{"type": "transfer", "from": "A", "to": "A", "amount": 5, "tick": 0}]),
                "events[0].to: must differ from 'from'",
            ),
            (
                json!([{"type": "transfer", "to": "A", "amount": 0, "tick": 0}]),
                "events[0].amount: must be between 1 and 1000000000000000, got 0",
            ),
            (
                json!([{"type": "credit_limit", "bank": "B", "tick": 10, "credit_limit": 5}]),
                "events[0].tick: must be between 0 and 9, got 10",
            ),
            (
                json!([{"type": "arrival_surge", "start_tick": 0, "end_tick": 1, "factor": -1.0}]),
                "events[0].factor: must be between 0 and 1000, got -1",
            ),
            (
                json!([{"type": "outage", "bank": "A", "start_tick": 0, "end_tick": 1, "until": 3}]),
                "events[0].until: unknown key (expected one of: bank, end_tick, start_tick, type)",
            ),
        ];
        for (events, expected) in cases {
            assert_eq!(with_events(events).unwrap_err(), expected);
        }
    }

    #[test]
    fn events_parse_to_bank_indexes() {
        let c = with_events(json!([{"type": "transfer", "to": "B", "amount": 5, "tick": 3}])).unwrap();
        assert_eq!(c.events, vec![super::Event::Transfer { from: None, to: 1, amount: 5, tick: 3 }]);
    }
}
