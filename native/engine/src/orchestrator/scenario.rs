//! Scenario events (docs/semantics.md#scenario-events), applied at the start of their tick before
//! arrivals, in config order, and recorded in the event log; and what the invariants need to
//! know of them (injected money, transfers, credit lines in force).

use super::Orchestrator;
use crate::config::{EngineConfig, Event};
use crate::events::{EventRow, EventType};
use crate::model::{BankIdx, NONE};

impl Orchestrator {
    /// Step 0: set this tick's outages and arrival-rate factors, and apply the one-off events due.
    pub(super) fn apply_events(&mut self, now: u32) {
        if self.config.events.is_empty() {
            return;
        }
        self.out_of_service.fill(false);
        self.rate_factor.fill(1.0);
        for (i, e) in self.config.events.iter().enumerate() {
            let row = |event_type, bank: BankIdx, counterparty: BankIdx, amount: i64| EventRow {
                tick: now,
                event: i as u32,
                event_type,
                bank,
                counterparty,
                amount,
            };
            let window = |start: u32, end: u32, started, ended, bank| match now {
                t if t == start => Some(row(started, bank, NONE, -1)),
                t if end < u32::MAX && t == end + 1 => Some(row(ended, bank, NONE, -1)),
                _ => None,
            };
            let ledger = &mut self.state.ledger;
            let logged = match *e {
                Event::Outage { bank, start_tick, end_tick } => {
                    if (start_tick..=end_tick).contains(&now) {
                        self.out_of_service[bank as usize] = true;
                    }
                    window(start_tick, end_tick, EventType::OutageStart, EventType::OutageEnd, bank)
                }
                Event::ArrivalSurge { bank, start_tick, end_tick, factor } => {
                    if (start_tick..=end_tick).contains(&now) {
                        match bank {
                            Some(b) => self.rate_factor[b as usize] *= factor,
                            None => self.rate_factor.iter_mut().for_each(|f| *f *= factor),
                        }
                    }
                    let bank = bank.unwrap_or(NONE);
                    window(start_tick, end_tick, EventType::SurgeStart, EventType::SurgeEnd, bank)
                }
                Event::CreditLimit { bank, tick, credit_limit } if tick == now => {
                    ledger.banks[bank as usize].credit_limit = credit_limit;
                    Some(row(EventType::CreditLimit, bank, NONE, credit_limit))
                }
                Event::Transfer { from, to, amount, tick } if tick == now => {
                    ledger.banks[to as usize].balance += amount;
                    if let Some(f) = from {
                        let b = &mut ledger.banks[f as usize];
                        b.balance -= amount;
                        b.min_balance = b.min_balance.min(b.balance);
                    }
                    let event_type = if from.is_some() { EventType::Transfer } else { EventType::Injection };
                    Some(row(event_type, to, from.unwrap_or(NONE), amount))
                }
                _ => None,
            };
            if let Some(r) = logged {
                self.state.event_log.push(r);
            }
        }
    }

    /// Per bank, the money events moved in (+) and out (−) before tick `now`, and the total the
    /// central bank injected: conservation and every bank's books account for both exactly.
    pub(super) fn event_flows(&self, now: u32) -> (Vec<i128>, i128) {
        let mut flows = vec![0i128; self.config.agents.len()];
        let mut injected = 0i128;
        for e in &self.config.events {
            if let Event::Transfer { from, to, amount, tick } = *e {
                if tick < now {
                    flows[to as usize] += amount as i128;
                    match from {
                        Some(f) => flows[f as usize] -= amount as i128,
                        None => injected += amount as i128,
                    }
                }
            }
        }
        (flows, injected)
    }
}

/// Bank `bank`'s credit line in force once the events before tick `now` have been applied: the
/// latest by tick, and within a tick the last in config order (the order they are applied in).
pub(super) fn credit_limit_at(config: &EngineConfig, bank: usize, now: u32) -> i64 {
    config
        .events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match *e {
            Event::CreditLimit { bank: b, tick, credit_limit } if b as usize == bank && tick < now => {
                Some(((tick, i), credit_limit))
            }
            _ => None,
        })
        .max_by_key(|(order, _)| *order)
        .map_or(config.agents[bank].credit_limit, |(_, limit)| limit)
}
