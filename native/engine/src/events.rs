//! The event log: one row per scenario event taking effect or ending, and per central-bank loan
//! at a close (docs/semantics.md#scenario-events). Its columns are declared once here
//! ([`EventLog::columns`]); Python reads the schema off `_core.SCHEMAS["event_log"]`.

use serde::{Deserialize, Serialize};

use crate::model::{BankIdx, NONE};
use crate::schema::{columns_schema, Column, Field};

/// What a row records; the `event_type` column holds these codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(u8)]
pub enum EventType {
    /// An outage began: the bank releases nothing from its Queue 1.
    OutageStart = 0,
    /// The tick after an outage's last: the bank releases again.
    OutageEnd = 1,
    /// A bank's credit line changed; `amount` is the new line.
    CreditLimit = 2,
    /// A transfer from `counterparty` to `bank`.
    Transfer = 3,
    /// A central-bank injection to `bank`.
    Injection = 4,
    /// An arrival surge began (`bank` null: every bank).
    SurgeStart = 5,
    /// The tick after a surge's last.
    SurgeEnd = 6,
    /// At a close with `end_of_day.unsettled: borrow`, the central bank lent `bank` `amount`.
    EodBorrowing = 7,
}
pub const EVENT_TYPE_NAMES: &[&str] = &[
    "outage_start",
    "outage_end",
    "credit_limit",
    "transfer",
    "injection",
    "surge_start",
    "surge_end",
    "eod_borrowing",
];

/// One row of the event log. `NONE` stands for "none" in `event`, `bank` and `counterparty`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventRow {
    pub tick: u32,
    /// Index of the event in the config's `events:` list; `NONE` for rows the engine makes itself.
    pub event: u32,
    pub event_type: EventType,
    pub bank: BankIdx,
    pub counterparty: BankIdx,
    /// Money moved or lent, or the new credit line; -1 when the type has none.
    pub amount: i64,
}

/// The rows as columns, in the order they happened.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EventLog {
    pub tick: Vec<u32>,
    pub event: Vec<u32>,
    pub event_type: Vec<u8>,
    pub bank: Vec<u32>,
    pub counterparty: Vec<u32>,
    pub amount: Vec<i64>,
}

impl EventLog {
    pub fn push(&mut self, row: EventRow) {
        self.tick.push(row.tick);
        self.event.push(row.event);
        self.event_type.push(row.event_type as u8);
        self.bank.push(row.bank);
        self.counterparty.push(row.counterparty);
        self.amount.push(row.amount);
    }

    pub fn len(&self) -> usize {
        self.tick.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tick.is_empty()
    }

    /// The log as named columns, as Python and the `events` Parquet table see it.
    pub fn columns(&self) -> Vec<(String, Column)> {
        let nullable =
            |v: &[u32]| Column::NullableInt64(v.iter().map(|&x| if x == NONE { -1 } else { x as i64 }).collect());
        vec![
            ("tick".to_string(), Column::Int64(self.tick.iter().map(|&t| t as i64).collect())),
            ("event".to_string(), nullable(&self.event)),
            ("event_type".to_string(), Column::Code(self.event_type.clone(), EVENT_TYPE_NAMES)),
            ("bank".to_string(), nullable(&self.bank)),
            ("counterparty".to_string(), nullable(&self.counterparty)),
            ("amount".to_string(), Column::NullableInt64(self.amount.clone())),
        ]
    }

    pub fn schema() -> Vec<Field> {
        columns_schema(&EventLog::default().columns())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_columns_with_nulls_as_minus_one() {
        let mut log = EventLog::default();
        let row = EventRow {
            tick: 3,
            event: NONE,
            event_type: EventType::Injection,
            bank: 1,
            counterparty: NONE,
            amount: 50,
        };
        log.push(row);
        let cols = log.columns();
        assert_eq!(cols[1], ("event".to_string(), Column::NullableInt64(vec![-1])));
        assert_eq!(cols[2], ("event_type".to_string(), Column::Code(vec![4], EVENT_TYPE_NAMES)));
        assert_eq!(cols[4], ("counterparty".to_string(), Column::NullableInt64(vec![-1])));
        assert_eq!(EventLog::schema().len(), cols.len());
    }
}
