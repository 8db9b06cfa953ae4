//! The engine configuration (docs/semantics.md#engine-configuration), parsed from a JSON-like value.
//!
//! Parsing is by hand rather than by serde derive so every error names the full field path
//! (`agent_configs[1].policy.type: unknown policy 'Fifoo' (expected ...)`) and unknown keys are
//! rejected at every level.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Loc, Result};
use crate::model::RtgsClass;

mod lists;
mod parse;
mod read;
mod rules;
mod tick_log;

mod events;

pub use events::{Event, EVENT_TYPES};
use lists::{check_agents, parse_agents, parse_schedule};
use parse::{parse_calendar, parse_costs, parse_lsm, parse_rtgs, section_choice};
pub(crate) use read::check_range;
pub use read::{FromValue, Obj};
pub use rules::{LimitsConfig, ReservationsConfig};
pub use tick_log::{TickLogging, TICK_LOG_POINTS};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EngineConfig {
    pub ticks_per_day: u32,
    pub num_days: u32,
    pub rng_seed: u64,
    pub agents: Vec<AgentConfig>,
    pub scheduled_payments: Vec<ScheduledPayment>,
    pub cost_rates: CostRates,
    pub lsm: LsmConfig,
    pub queue_discipline: QueueDiscipline,
    pub crediting: Crediting,
    pub drop_expired: bool,
    pub eod_unsettled: EodUnsettled,
    /// Scenario events in config order (docs/semantics.md#scenario-events).
    pub events: Vec<Event>,
    /// Which ticks the tick log has rows for (docs/semantics.md#tick-log-sampling).
    pub tick_log: TickLogging,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AgentConfig {
    pub id: String,
    pub opening_balance: i64,
    pub credit_limit: i64,
    pub policy: PolicyConfig,
    pub arrival_config: Option<ArrivalConfig>,
    /// T2 sender limits (docs/semantics.md#t2-settlement-rules); `None` = no limits.
    pub limits: Option<LimitsConfig>,
    /// T2 liquidity reservations; `None` = nothing reserved.
    pub reservations: Option<ReservationsConfig>,
    /// Weight as a receiver of the arrivals that draw `receivers_by_size` (default 1).
    pub size: f64,
}

/// A bank's cash-manager policy as configured: its mapping (`type` and parameters) kept as JSON
/// text, validated by the policy's own builder (see [`crate::policy::REGISTRY`]) and rebuilt from
/// it after a state is restored.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PolicyConfig {
    pub json: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ArrivalConfig {
    /// Poisson mean of new payment orders per tick.
    pub rate_per_tick: f64,
    pub distribution: AmountDistribution,
    /// Receiver weights by bank id; `None` = uniform over the other banks.
    pub counterparty_weights: Option<Vec<(String, f64)>>,
    /// Every other bank weighted by its `size` instead (what agent groups expand to; one table
    /// shared by all senders, see `receivers.rs`).
    pub receivers_by_size: bool,
    pub deadline_offset: u32,
    pub priority: u8,
    /// Queue 2 class of these payments; `None` = from `priority`.
    pub rtgs_class: Option<RtgsClass>,
    pub divisible: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum AmountDistribution {
    Normal { mean: f64, std_dev: f64 },
    LogNormal { mean_log: f64, std_dev_log: f64 },
    Uniform { min: f64, max: f64 },
    Exponential { mean: f64 },
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ScheduledPayment {
    pub sender: String,
    pub receiver: String,
    pub amount: i64,
    pub arrival_tick: u32,
    pub deadline_tick: Option<u32>,
    pub priority: u8,
    /// Queue 2 class; `None` = from `priority`.
    pub rtgs_class: Option<RtgsClass>,
    pub divisible: bool,
}

/// Cost rates in cents. Defaults are documented in docs/semantics.md#costs; they make liquidity cheaper than
/// delay, as in most RTGS studies, so that holding payments back is not free.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CostRates {
    /// Per cent of intraday credit used, per tick.
    pub liquidity_cost_per_unit_per_tick: f64,
    /// Per cent of payment value held in Queue 1, per tick.
    pub delay_cost_per_tick: f64,
    /// Per cent of credit limit (collateral posted), per tick.
    pub collateral_cost_per_unit_per_tick: f64,
    /// Per extra part when a payment is split.
    pub split_friction_cost: f64,
    /// Once per payment that passes its deadline unsettled.
    pub deadline_penalty: f64,
    /// Per payment unsettled at end of day.
    pub eod_penalty: f64,
    /// Per cent the central bank lends at the close (`end_of_day.unsettled: borrow`).
    pub eod_borrowing_rate: f64,
}

/// Largest cost rate accepted (every rate and penalty). Costs are `f64`: a rate multiplies at most a
/// value below 2⁶³ per bank and tick (balances, credit and Queue 1 values stay within `i64`,
/// docs/semantics.md#engine-configuration), or counts at most 2³² payments; over at most 2³¹ ticks and 2³²
/// banks every cost and sum stays below 10¹⁵ × 2⁶³ × 2³¹ × 2³² ≈ 10⁵⁰, far inside `f64` (10³⁰⁸),
/// so no rate can make a cost infinite. 10¹⁵ cents per cent per tick is beyond any real tariff.
pub const MAX_COST_RATE: f64 = 1e15;

impl Default for CostRates {
    fn default() -> Self {
        CostRates {
            liquidity_cost_per_unit_per_tick: 0.0001,
            delay_cost_per_tick: 0.0002,
            collateral_cost_per_unit_per_tick: 0.00005,
            split_friction_cost: 1_000.0,
            deadline_penalty: 100_000.0,
            eod_penalty: 500_000.0,
            eod_borrowing_rate: 0.01,
        }
    }
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum LsmMode {
    None,
    Bilateral,
    Cycles,
    Multilateral,
    /// T2's sequence of algorithms 1–3, then the cycle search on what is left
    /// (docs/semantics.md#lsm-modes).
    T2,
    /// Multilateral, then bilateral on what is left: `t2` before issue 10, kept for reproducibility.
    T2Classic,
    /// A maximum-value feasible subset of Queue 2, solved as a mixed-integer program
    /// (docs/semantics.md#the-optimal-lsm).
    Optimal,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LsmConfig {
    pub mode: LsmMode,
    pub max_cycle_length: u32,
    /// Whether the LSM may offset highly urgent and urgent payments; `None` = the default of
    /// [`LsmConfig::offsets_urgent`].
    pub include_urgent: Option<bool>,
    /// The solver's budget for `lsm.mode: optimal` and for `measure_optimum`.
    pub optimal: OptimalConfig,
    /// Solve for the optimum before every LSM pass and report the share of it the LSM settled
    /// (metric `lsm_optimum_share`); off by default since it costs a solve per tick.
    pub measure_optimum: bool,
}

/// `lsm.optimal`: how much one pass's solve may cost (docs/semantics.md#the-optimal-lsm).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct OptimalConfig {
    /// Wall time one pass may spend in the solver; a limit that binds makes the run depend on
    /// the machine's speed (counted in `lsm_optimal_time_limited`).
    pub time_limit_ms: u32,
    /// The largest Queue 2 (payments the LSM may offset) solved at all; a longer one falls back.
    pub max_queue: u32,
}

impl Default for OptimalConfig {
    fn default() -> Self {
        OptimalConfig { time_limit_ms: 1_000, max_queue: 10_000 }
    }
}

impl Default for LsmConfig {
    /// The defaults of an absent `lsm` section: `t2_classic` (today's results for configs naming no mode), cycles up to 6, no optimum measured.
    fn default() -> Self {
        LsmConfig {
            mode: LsmMode::T2Classic,
            max_cycle_length: 6,
            include_urgent: None,
            optimal: OptimalConfig::default(),
            measure_optimum: false,
        }
    }
}

impl LsmConfig {
    /// Whether the LSM offsets urgent payments: as configured, else yes except under
    /// `rtgs.queue: t2` (today's behaviour for the older disciplines; docs/semantics.md#lsm-modes).
    pub fn offsets_urgent(&self, discipline: QueueDiscipline) -> bool {
        self.include_urgent.unwrap_or(discipline != QueueDiscipline::T2)
    }
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum QueueDiscipline {
    /// Settle every queued payment that fits, passing over those that do not (T2 for normal payments).
    FifoBypass,
    /// A payment waits for every earlier payment of its sender in its class.
    StrictFifo,
    /// T2: strict FIFO per sender for highly urgent and urgent payments, FIFO-bypass for normal ones.
    T2,
}

impl QueueDiscipline {
    /// Whether payments of `class` settle in strict FIFO order per sender under this discipline.
    pub fn strict(self, class: crate::model::RtgsClass) -> bool {
        match self {
            QueueDiscipline::FifoBypass => false,
            QueueDiscipline::StrictFifo => true,
            QueueDiscipline::T2 => class != crate::model::RtgsClass::Normal,
        }
    }
}

/// When a receipt becomes usable (docs/semantics.md#crediting).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Crediting {
    /// At once, as in T2.
    Immediate,
    /// From the next tick (Castro et al.'s periods).
    Deferred,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum EodUnsettled {
    Drop,
    Carry,
    /// The central bank settles every unsettled payment, lending each sender what it lacks.
    Borrow,
}

/// The named choices of the config, each spelt once: the parser reads them and a restored state's
/// config is written back with them (the first entry is the default where a section is absent).
pub const QUEUE_DISCIPLINES: &[(&str, QueueDiscipline)] = &[
    ("fifo_bypass", QueueDiscipline::FifoBypass),
    ("strict_fifo", QueueDiscipline::StrictFifo),
    ("t2", QueueDiscipline::T2),
];
pub const CREDITINGS: &[(&str, Crediting)] = &[("immediate", Crediting::Immediate), ("deferred", Crediting::Deferred)];
pub const EOD_UNSETTLED: &[(&str, EodUnsettled)] =
    &[("drop", EodUnsettled::Drop), ("carry", EodUnsettled::Carry), ("borrow", EodUnsettled::Borrow)];
pub const LSM_MODES: &[(&str, LsmMode)] = &[
    ("none", LsmMode::None),
    ("bilateral", LsmMode::Bilateral),
    ("cycles", LsmMode::Cycles),
    ("multilateral", LsmMode::Multilateral),
    ("t2", LsmMode::T2),
    ("t2_classic", LsmMode::T2Classic),
    ("optimal", LsmMode::Optimal),
];

/// The config's name for `value` in one of the tables above.
pub fn choice_name<T: PartialEq>(table: &[(&'static str, T)], value: &T) -> &'static str {
    table.iter().find(|(_, v)| v == value).map(|(name, _)| *name).expect("every variant is in its table")
}

/// Reads rows of scheduled payments from a file (Parquet or CSV). The Python layer supplies one
/// backed by pyarrow; the engine itself does no file I/O.
pub trait ScheduleLoader {
    fn load(&self, path: &str) -> std::result::Result<Vec<Value>, String>;
}

/// A loader for callers that have no files to offer.
pub struct NoFiles;
impl ScheduleLoader for NoFiles {
    fn load(&self, _path: &str) -> std::result::Result<Vec<Value>, String> {
        Err("reading payment files needs the Python layer (pyarrow)".into())
    }
}

impl EngineConfig {
    pub fn total_ticks(&self) -> u64 {
        self.ticks_per_day as u64 * self.num_days as u64
    }

    /// Parse and validate a whole configuration.
    pub fn from_value(value: &Value, loader: &dyn ScheduleLoader) -> Result<Self> {
        let root = Loc::root();
        let mut o = Obj::new(value, &root)?;
        let (ticks_per_day, num_days) = parse_calendar(&mut o)?;
        let rng_seed: u64 = o.req("rng_seed")?;
        let agents = parse_agents(&mut o)?;
        let index = check_agents(&agents, &o.field("agent_configs"))?;
        let total_ticks = ticks_per_day as u64 * num_days as u64;
        let scheduled = parse_schedule(&mut o, loader, &index, total_ticks)?;
        let cost_rates = match o.take("cost_rates") {
            Some(v) => parse_costs(v, &root.key("cost_rates"))?,
            None => CostRates::default(),
        };
        let lsm = match o.take("lsm") {
            Some(v) => parse_lsm(v, &root.key("lsm"))?,
            None => LsmConfig::default(),
        };
        let (queue_discipline, crediting) = parse_rtgs(o.take("rtgs"), &root.key("rtgs"))?;
        let drop_expired = o.opt("drop_expired")?.unwrap_or(true);
        let eod_unsettled =
            section_choice(o.take("end_of_day"), &root.key("end_of_day"), "unsettled", "choice", EOD_UNSETTLED)?;
        let events_loc = o.field("events");
        let events = match o.take("events") {
            Some(v) => events::parse_events(v, &events_loc, &index, total_ticks, &agents)?,
            None => Vec::new(),
        };
        let tick_log = match o.take("tick_log") {
            Some(v) => tick_log::parse_tick_log(v, &root.key("tick_log"))?,
            None => TickLogging::default(),
        };
        o.finish()?;
        Ok(EngineConfig {
            ticks_per_day,
            num_days,
            rng_seed,
            agents,
            scheduled_payments: scheduled,
            cost_rates,
            lsm,
            queue_discipline,
            crediting,
            drop_expired,
            eod_unsettled,
            events,
            tick_log,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({"ticks_per_day": 10, "rng_seed": 1, "agent_configs": [
            {"id": "A", "opening_balance": 100, "credit_limit": 0, "policy": {"type": "Fifo"}},
            {"id": "B", "opening_balance": 100, "credit_limit": 0, "policy": {"type": "Fifo"}}]})
    }

    fn err(v: Value) -> String {
        EngineConfig::from_value(&v, &NoFiles).unwrap_err().to_string()
    }

    #[test]
    fn defaults_apply() {
        let c = EngineConfig::from_value(&base(), &NoFiles).unwrap();
        assert_eq!(c.num_days, 1);
        assert_eq!(c.lsm.mode, LsmMode::T2Classic);
        assert_eq!(c.queue_discipline, QueueDiscipline::FifoBypass);
        assert!(c.drop_expired);
    }

    #[test]
    fn unknown_policy_names_path_and_choices() {
        let mut v = base();
        v["agent_configs"][1]["policy"]["type"] = json!("Fifoo");
        assert_eq!(
            err(v),
            "agent_configs[1].policy.type: unknown policy 'Fifoo' (expected Fifo, Deadline, LiquidityAware, Splitting)"
        );
    }

    #[test]
    fn unknown_keys_are_errors_at_every_level() {
        let mut v = base();
        v["agent_configs"][0]["balance"] = json!(5);
        assert!(err(v).starts_with("agent_configs[0].balance: unknown key"));
        let mut v = base();
        v["lsm"] = json!({"mode": "t2", "cycle_len": 3});
        assert!(err(v).starts_with("lsm.cycle_len: unknown key"));
        let mut v = base();
        v["tick_per_day"] = json!(3);
        assert!(err(v).starts_with("tick_per_day: unknown key"));
    }

    #[test]
    fn bad_values_name_fields() {
        let mut v = base();
        v["ticks_per_day"] = json!(0);
        assert_eq!(err(v), "ticks_per_day: must be > 0");
        let mut v = base();
        v["agent_configs"][0]["opening_balance"] = json!(-1);
        assert!(err(v).starts_with("agent_configs[0].opening_balance: must be between 0"));
        let mut v = base();
        v["agent_configs"][1]["id"] = json!("A");
        assert_eq!(err(v), "agent_configs[1].id: duplicate bank id 'A'");
        let mut v = base();
        v["agent_configs"][0]["arrival_config"] = json!({"rate_per_tick": 1.0, "distribution": {"type": "Normal", "mean": 1.0, "std_dev": 1.0}, "counterparty_weights": {"Z": 1.0}});
        assert_eq!(err(v), "agent_configs[0].arrival_config.counterparty_weights.Z: unknown bank 'Z'");
        let mut v = base();
        v["scheduled_payments"] = json!([{"sender": "A", "receiver": "A", "amount": 1, "arrival_tick": 0}]);
        assert_eq!(err(v), "scheduled_payments[0].receiver: must differ from sender");
        let mut v = base();
        v["rng_seed"] = json!(-3);
        assert!(err(v).starts_with("rng_seed: must be between 0"));
        let mut v = base();
        v["rng_seed"] = json!("x");
        assert_eq!(err(v), "rng_seed: expected an integer, got a string");
    }

    #[test]
    fn cost_rates_that_could_make_a_cost_infinite_are_refused() {
        for key in ["liquidity_cost_per_unit_per_tick", "delay_cost_per_tick", "deadline_penalty", "eod_penalty"] {
            let mut v = base();
            v["cost_rates"] = json!({key: 1e308});
            assert_eq!(err(v), format!("cost_rates.{key}: must be ≤ 1e15, got 1e308"));
        }
        let mut v = base();
        v["cost_rates"] = json!({"split_friction_cost": -1.0});
        assert_eq!(err(v), "cost_rates.split_friction_cost: must be ≥ 0");
        let mut v = base();
        v["cost_rates"] = json!({"collateral_cost_per_unit_per_tick": 1e15});
        assert_eq!(EngineConfig::from_value(&v, &NoFiles).unwrap().cost_rates.collateral_cost_per_unit_per_tick, 1e15);
    }

    #[test]
    fn file_rows_are_located_like_list_items() {
        struct Rows;
        impl ScheduleLoader for Rows {
            fn load(&self, _: &str) -> std::result::Result<Vec<Value>, String> {
                Ok(vec![json!({"sender": "A", "receiver": "B", "amount": 0, "arrival_tick": 0})])
            }
        }
        let mut v = base();
        v["scheduled_payments_file"] = json!("x.csv");
        let e = EngineConfig::from_value(&v, &Rows).unwrap_err().to_string();
        assert!(e.starts_with("scheduled_payments_file[0].amount: must be between 1"), "{e}");
    }
}
