//! The engine's one error type. The PyO3 layer maps each variant to one Python exception class.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum EngineError {
    /// An invalid configuration value; `path` names the field, e.g. `agent_configs[1].policy.type`.
    #[error("{path}: {message}")]
    Config { path: String, message: String },
    /// A bank id that is not in the configuration.
    #[error("unknown bank '{0}'")]
    UnknownBank(String),
    /// An invalid value in a submitted payment; `field` names it.
    #[error("{field}: {message}")]
    InvalidPayment { field: String, message: String },
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
    pub fn config(path: impl Into<String>, message: impl Into<String>) -> Self {
        EngineError::Config { path: path.into(), message: message.into() }
    }
}
