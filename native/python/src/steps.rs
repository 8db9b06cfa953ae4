//! What a server needs to run long steps and keep its memory bounded: a multi-tick step summed in
//! Rust (so it runs without the GIL and a caller can split it into chunks it stops between), a
//! page of the transaction log without exporting the rest, and the bytes the logs hold.

use std::mem::size_of_val;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use paysim_engine::events::EventLog;
use paysim_engine::log::{transaction_columns, TickLog};
use paysim_engine::model::Payment;
use paysim_engine::schema::{Column, Record, Scalar};
use paysim_engine::{EngineError, Orchestrator, Result, TickResult};

/// One tick-result field over a step: summed (flows) or the last tick's (positions). Integer sums
/// are `i128`, as exact as Python's ints for any step a run can have.
#[derive(Clone, Copy)]
enum Total {
    Int(i128),
    Float(f64),
}

impl Total {
    fn of(value: Scalar<'_>) -> Total {
        match value {
            Scalar::Int(i) => Total::Int(i as i128),
            Scalar::Float(x) => Total::Float(x),
            Scalar::Bool(b) => Total::Int(b as i128),
            Scalar::Text(_) => unreachable!("a tick result has no text field"),
        }
    }

    /// The zero a sum starts from: `0 + x`, not `x`, so a lone `-0.0` sums to `0.0` as in Python.
    fn zero(self) -> Total {
        match self {
            Total::Int(_) => Total::Int(0),
            Total::Float(_) => Total::Float(0.0),
        }
    }

    fn plus(self, other: Total) -> Total {
        match (self, other) {
            (Total::Int(a), Total::Int(b)) => Total::Int(a.saturating_add(b)),
            (Total::Float(a), Total::Float(b)) => Total::Float(a + b),
            _ => unreachable!("a field keeps its type from tick to tick"),
        }
    }
}

/// The figures of the ticks run so far by a step, in `TickResult`'s field order.
#[derive(Default)]
pub struct StepTotals {
    fields: Vec<(&'static str, Total)>,
    ticks_run: u64,
}

impl StepTotals {
    /// Continue from a dict this module made: floats then add up in the same order as in one
    /// unbroken step, so a step split into chunks gives the same bits as the step in one call.
    pub fn resume(d: &Bound<'_, PyDict>) -> PyResult<Self> {
        let mut kinds = Vec::new();
        sample_tick_result().for_each(&mut |name, value| kinds.push((name, Total::of(value))));
        let fields = kinds
            .into_iter()
            .map(|(name, kind)| {
                let value = d.get_item(name)?.ok_or_else(|| missing(name))?;
                let total = match kind {
                    Total::Float(_) => Total::Float(value.extract()?),
                    Total::Int(_) => Total::Int(value.extract()?),
                };
                Ok((name, total))
            })
            .collect::<PyResult<_>>()?;
        let ticks_run = d.get_item("ticks_run")?.ok_or_else(|| missing("ticks_run"))?.extract()?;
        Ok(StepTotals { fields, ticks_run })
    }

    fn fold(&mut self, result: &TickResult) {
        let mut i = 0;
        result.for_each(&mut |name, value| {
            let value = Total::of(value);
            if i == self.fields.len() {
                self.fields.push((name, value.zero()));
            }
            let slot = &mut self.fields[i].1;
            *slot = if TickResult::POSITIONS.contains(&name) { value } else { slot.plus(value) };
            i += 1;
        });
        self.ticks_run += 1;
    }

    /// Run up to `n` ticks into the totals, as `tick_n` runs them: it stops after the run's last
    /// tick, fails as `tick()` does when asked for ticks and none are left, keeps the ticks before
    /// an error, and asks `keep_going` every 256 ticks.
    pub fn run(&mut self, engine: &mut Orchestrator, n: u64, mut keep_going: impl FnMut() -> bool) -> Result<()> {
        for done in 1..=n {
            self.fold(&engine.tick()?);
            if engine.is_finished() {
                break;
            }
            if done % 256 == 0 && !keep_going() {
                return Err(EngineError::Interrupted);
            }
        }
        Ok(())
    }

    pub fn dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for &(name, total) in &self.fields {
            match total {
                Total::Int(i) => d.set_item(name, i)?,
                Total::Float(x) => d.set_item(name, x)?,
            }
        }
        d.set_item("ticks_run", self.ticks_run)?;
        Ok(d)
    }
}

/// A tick result of zeros: its walk gives each field's `'static` name and kind, and a new field
/// fails to compile here instead of being dropped from a resumed step.
fn sample_tick_result() -> TickResult {
    TickResult {
        tick: 0,
        day: 0,
        num_arrivals: 0,
        num_settlements: 0,
        num_drops: 0,
        lsm_bilateral_releases: 0,
        lsm_cycle_releases: 0,
        queue1_size: 0,
        queue2_size: 0,
        total_liquidity_cost: 0.0,
        total_delay_cost: 0.0,
        total_cost: 0.0,
        value_arrived: 0,
        value_settled: 0,
        value_dropped: 0,
        queue1_value: 0,
        queue2_value: 0,
    }
}

fn missing(key: &str) -> PyErr {
    pyo3::exceptions::PyKeyError::new_err(format!("a step's totals lack '{key}'"))
}

/// Payments `offset .. offset + limit` (clipped to the log) as transaction-log columns; only
/// those rows are exported, and their `tx_id`s are their places in the whole log.
pub fn transaction_page(payments: &[Payment], offset: usize, limit: usize) -> Vec<(String, Column)> {
    let start = offset.min(payments.len());
    let end = start.saturating_add(limit).min(payments.len());
    let mut columns = transaction_columns(&payments[start..end]);
    for (name, column) in &mut columns {
        if name == "tx_id" {
            *column = Column::Int64((start as i64..end as i64).collect());
        }
    }
    columns
}

/// Bytes of the rows the tick log holds. The destructuring names every column, so a new one
/// fails to compile here instead of going uncounted.
pub fn tick_log_bytes(log: &TickLog) -> usize {
    let TickLog {
        tick,
        bank,
        balance,
        credit_used,
        queue1_count,
        queue1_value,
        queue2_count,
        queue2_value,
        value_sent,
        value_received,
        settled,
        costs,
        pending: _, // one row's worth per bank, fixed for the run
    } = log;
    size_of_val(&tick[..])
        + size_of_val(&bank[..])
        + size_of_val(&balance[..])
        + size_of_val(&credit_used[..])
        + size_of_val(&queue1_count[..])
        + size_of_val(&queue1_value[..])
        + size_of_val(&queue2_count[..])
        + size_of_val(&queue2_value[..])
        + size_of_val(&value_sent[..])
        + size_of_val(&value_received[..])
        + settled.iter().map(|c| size_of_val(&c[..])).sum::<usize>()
        + costs.iter().map(|c| size_of_val(&c[..])).sum::<usize>()
}

/// Bytes of the rows the event log holds (every column named, as in [`tick_log_bytes`]).
pub fn event_log_bytes(log: &EventLog) -> usize {
    let EventLog { tick, event, event_type, bank, counterparty, amount } = log;
    size_of_val(&tick[..])
        + size_of_val(&event[..])
        + size_of_val(&event_type[..])
        + size_of_val(&bank[..])
        + size_of_val(&counterparty[..])
        + size_of_val(&amount[..])
}
