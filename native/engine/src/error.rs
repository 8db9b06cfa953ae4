//! The engine's one error type. The PyO3 layer maps each variant to one Python exception class,
//! carrying its location as data (`.loc`), so no caller ever parses a message.

use std::fmt;

use thiserror::Error;

/// One step of a location: a mapping key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocItem {
    Key(String),
    Index(usize),
}

/// Where in the input a problem is: `agent_configs[1].policy.type` as
/// `[Key("agent_configs"), Index(1), Key("policy"), Key("type")]`. Keys are kept whole, so a
/// bank id with a dot in it stays one item. The empty location is the input as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Loc(Vec<LocItem>);

impl Loc {
    pub fn root() -> Self {
        Loc(Vec::new())
    }

    /// This location, one key further in.
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut items = self.0.clone();
        items.push(LocItem::Key(key.into()));
        Loc(items)
    }

    /// This location, one list index further in.
    pub fn index(&self, i: usize) -> Self {
        let mut items = self.0.clone();
        items.push(LocItem::Index(i));
        Loc(items)
    }

    pub fn items(&self) -> &[LocItem] {
        &self.0
    }
}

impl From<&str> for Loc {
    fn from(key: &str) -> Self {
        Loc::root().key(key)
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("config");
        }
        for (i, item) in self.0.iter().enumerate() {
            match item {
                LocItem::Key(k) if i == 0 => f.write_str(k)?,
                LocItem::Key(k) => write!(f, ".{k}")?,
                LocItem::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum EngineError {
    /// An invalid configuration value at `loc`, e.g. `agent_configs[1].policy.type`.
    #[error("{loc}: {problem}")]
    Config { loc: Loc, problem: String },
    /// A bank id that is not in the configuration, named where it was given: a payment's
    /// `sender` or `receiver`, an `agent_id` argument, or a counterparty-weights key.
    #[error("{loc}: unknown bank '{id}'")]
    UnknownBank { loc: Loc, id: String },
    /// An invalid value in a submitted payment, at `loc` (the payment's field).
    #[error("{loc}: {problem}")]
    InvalidPayment { loc: Loc, problem: String },
    /// `tick()` after the last tick of the last day.
    #[error("the run is finished: all {0} ticks have run")]
    Finished(u64),
    /// The engine broke one of its own invariants: always a bug, never bad input.
    #[error("invariant violated: {0}")]
    Invariant(String),
    /// A saved state that cannot be restored.
    #[error("cannot restore state: {0}")]
    State(String),
    /// The caller asked the run to stop (Ctrl-C); the engine is left at a tick boundary.
    #[error("interrupted")]
    Interrupted,
}

pub type Result<T> = std::result::Result<T, EngineError>;

impl EngineError {
    pub fn config(loc: Loc, problem: impl Into<String>) -> Self {
        EngineError::Config { loc, problem: problem.into() }
    }

    pub fn invalid_payment(field: &str, problem: impl Into<String>) -> Self {
        EngineError::InvalidPayment { loc: Loc::from(field), problem: problem.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_print_as_field_paths() {
        let loc = Loc::from("agent_configs").index(3).key("arrival_config").key("counterparty_weights").key("B.1");
        assert_eq!(loc.to_string(), "agent_configs[3].arrival_config.counterparty_weights.B.1");
        assert_eq!(Loc::root().to_string(), "config");
        assert_eq!(Loc::root().index(2).key("amount").to_string(), "[2].amount");
    }
}
