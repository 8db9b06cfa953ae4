//! paysim-engine: a tick-based simulator of an RTGS (real-time gross settlement) payment system.
//!
//! Banks receive payment orders ([`arrivals`]), their cash managers decide when to release them
//! ([`policy`]), the central bank settles them gross against balance plus intraday credit
//! ([`settlement::rtgs`]), queues what cannot settle, and liquidity-saving mechanisms offset queued
//! payments ([`settlement::lsm`]). [`costs`] prices liquidity, delay and collateral; [`log`] records
//! every tick and payment; [`orchestrator`] runs the nine steps of docs/semantics.md#the-tick-loop in order.
//!
//! Money is integer minor units (cents, `i64`); costs are `f64` cents.

pub mod arrivals;
pub mod config;
pub mod costs;
pub mod directory;
pub mod error;
pub mod events;
pub mod hash;
pub mod log;
pub mod metrics;
pub mod model;
pub mod orchestrator;
pub mod policy;
pub mod receivers;
pub mod schema;
pub mod settlement;

pub use config::EngineConfig;
pub use error::{EngineError, Result};
pub use log::{AgentState, TickResult};
pub use orchestrator::Orchestrator;

/// Version of the engine, recorded in every run's metrics.
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Version of the log and metrics schema; bump when a column changes meaning.
/// Version 2: settlement means `eod_borrowing` and cost component `eod_borrowing` (new tick-log
/// columns and metrics), and the event log.
pub const SCHEMA_VERSION: u32 = 2;
