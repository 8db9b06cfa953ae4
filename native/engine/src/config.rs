//! The engine configuration (SPEC §3 "Engine configuration"), parsed from a JSON-like value.
//!
//! Parsing is by hand rather than by serde derive so every error names the full field path
//! (`agent_configs[1].policy.type: unknown policy 'Fifoo' (expected ...)`) and unknown keys are
//! rejected at every level.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{EngineError, Loc, Result};
use crate::model::MAX_AMOUNT;

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
    pub drop_expired: bool,
    pub eod_unsettled: EodUnsettled,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AgentConfig {
    pub id: String,
    pub opening_balance: i64,
    pub credit_limit: i64,
    pub policy: PolicyConfig,
    pub arrival_config: Option<ArrivalConfig>,
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
    pub deadline_offset: u32,
    pub priority: u8,
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
    pub divisible: bool,
}

/// Cost rates in cents. Defaults are documented in the README; they make liquidity cheaper than
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
}

impl Default for CostRates {
    fn default() -> Self {
        CostRates {
            liquidity_cost_per_unit_per_tick: 0.0001,
            delay_cost_per_tick: 0.0002,
            collateral_cost_per_unit_per_tick: 0.00005,
            split_friction_cost: 1_000.0,
            deadline_penalty: 100_000.0,
            eod_penalty: 500_000.0,
        }
    }
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum LsmMode {
    None,
    Bilateral,
    Cycles,
    Multilateral,
    /// Multilateral, then bilateral on what is left (as T2 runs its algorithms).
    T2,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LsmConfig {
    pub mode: LsmMode,
    pub max_cycle_length: u32,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum QueueDiscipline {
    /// Settle every queued payment that fits, passing over those that do not (T2 for normal payments).
    FifoBypass,
    /// A payment waits for every earlier payment of its sender in its class.
    StrictFifo,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum EodUnsettled {
    Drop,
    Carry,
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

    pub fn bank_index(&self, id: &str) -> Option<usize> {
        self.agents.iter().position(|a| a.id == id)
    }

    /// Parse and validate a whole configuration.
    pub fn from_value(value: &Value, loader: &dyn ScheduleLoader) -> Result<Self> {
        let root = Loc::root();
        let mut o = Obj::new(value, &root)?;
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
        let rng_seed: u64 = o.req("rng_seed")?;
        let agents_loc = o.field("agent_configs");
        let agents_v = o.take("agent_configs").ok_or_else(|| EngineError::config(agents_loc.clone(), "is required"))?;
        let agents_arr = as_array(agents_v, &agents_loc)?;
        if agents_arr.is_empty() {
            return Err(EngineError::config(agents_loc, "needs at least one bank"));
        }
        let mut agents = Vec::with_capacity(agents_arr.len());
        for (i, a) in agents_arr.iter().enumerate() {
            agents.push(parse_agent(a, &agents_loc.index(i))?);
        }
        let ids: Vec<&str> = agents.iter().map(|a| a.id.as_str()).collect();
        for (i, id) in ids.iter().enumerate() {
            if ids[..i].contains(id) {
                return Err(EngineError::config(agents_loc.index(i).key("id"), format!("duplicate bank id '{id}'")));
            }
        }
        let (mut total_money, mut total_credit) = (0i128, 0i128);
        for a in &agents {
            total_money += a.opening_balance as i128;
            total_credit += a.credit_limit as i128;
        }
        if total_money + total_credit > (i64::MAX / 4) as i128 {
            return Err(EngineError::config(
                agents_loc,
                "opening balances plus credit limits are too large to simulate without overflow",
            ));
        }
        let index: std::collections::HashMap<&str, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        for (i, a) in agents.iter().enumerate() {
            if let Some(arr) = &a.arrival_config {
                check_counterparties(arr, i, &index, agents.len(), &agents_loc.index(i).key("arrival_config"))?;
            }
        }
        let total_ticks = ticks_per_day as u64 * num_days as u64;
        let mut scheduled = Vec::new();
        let list_loc = o.field("scheduled_payments");
        if let Some(v) = o.take("scheduled_payments") {
            for (i, p) in as_array(v, &list_loc)?.iter().enumerate() {
                scheduled.push(parse_scheduled(p, &list_loc.index(i), &ids, total_ticks)?);
            }
        }
        // A file's rows are located like list items: `scheduled_payments_file[7]` is data row 7.
        let file_loc = o.field("scheduled_payments_file");
        if let Some(v) = o.take("scheduled_payments_file") {
            let path =
                v.as_str().ok_or_else(|| EngineError::config(file_loc.clone(), "expected a file path string"))?;
            let rows = loader.load(path).map_err(|e| EngineError::config(file_loc.clone(), e))?;
            for (i, p) in rows.iter().enumerate() {
                scheduled.push(parse_scheduled(p, &file_loc.index(i), &ids, total_ticks)?);
            }
        }
        let cost_rates = match o.take("cost_rates") {
            Some(v) => parse_costs(v, &root.key("cost_rates"))?,
            None => CostRates::default(),
        };
        let lsm = match o.take("lsm") {
            Some(v) => parse_lsm(v, &root.key("lsm"))?,
            None => LsmConfig { mode: LsmMode::T2, max_cycle_length: 6 },
        };
        let queue_discipline = section_choice(
            o.take("rtgs"),
            &root.key("rtgs"),
            "queue",
            "queue discipline",
            &[("fifo_bypass", QueueDiscipline::FifoBypass), ("strict_fifo", QueueDiscipline::StrictFifo)],
        )?;
        let drop_expired = o.opt("drop_expired")?.unwrap_or(true);
        let eod_unsettled = section_choice(
            o.take("end_of_day"),
            &root.key("end_of_day"),
            "unsettled",
            "choice",
            &[("drop", EodUnsettled::Drop), ("carry", EodUnsettled::Carry)],
        )?;
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
            drop_expired,
            eod_unsettled,
        })
    }
}

fn parse_agent(v: &Value, loc: &Loc) -> Result<AgentConfig> {
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
    o.finish()?;
    Ok(AgentConfig { id, opening_balance, credit_limit, policy, arrival_config })
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
    let deadline_offset: u32 = o.opt("deadline_offset")?.unwrap_or(50);
    let priority: u8 = o.opt("priority")?.unwrap_or(5);
    check_priority(priority, &o.field("priority"))?;
    let divisible: bool = o.opt("divisible")?.unwrap_or(false);
    o.finish()?;
    Ok(ArrivalConfig { rate_per_tick, distribution, counterparty_weights, deadline_offset, priority, divisible })
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

fn check_counterparties(
    a: &ArrivalConfig,
    bank: usize,
    index: &std::collections::HashMap<&str, usize>,
    n: usize,
    loc: &Loc,
) -> Result<()> {
    let weights = loc.key("counterparty_weights");
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

fn parse_scheduled(v: &Value, loc: &Loc, ids: &[&str], total_ticks: u64) -> Result<ScheduledPayment> {
    let mut o = Obj::new(v, loc)?;
    let sender: String = o.req("sender")?;
    let receiver: String = o.req("receiver")?;
    for (key, id) in [("sender", &sender), ("receiver", &receiver)] {
        if !ids.contains(&id.as_str()) {
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
    let divisible = o.opt("divisible")?.unwrap_or(false);
    o.finish()?;
    Ok(ScheduledPayment { sender, receiver, amount, arrival_tick, deadline_tick, priority, divisible })
}

fn parse_costs(v: &Value, loc: &Loc) -> Result<CostRates> {
    let mut o = Obj::new(v, loc)?;
    let d = CostRates::default();
    let mut get = |key: &'static str, default: f64| -> Result<f64> {
        let x: f64 = o.opt(key)?.unwrap_or(default);
        if x < 0.0 {
            return Err(EngineError::config(loc.key(key), "must be ≥ 0"));
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
    };
    o.finish()?;
    Ok(c)
}

/// A section holding one named choice (`rtgs.queue`, `end_of_day.unsettled`); absent means the first option.
fn section_choice<T: Copy>(
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

fn parse_lsm(v: &Value, loc: &Loc) -> Result<LsmConfig> {
    let mut o = Obj::new(v, loc)?;
    let mode = o.choice(
        "mode",
        "LSM mode",
        &[
            ("none", LsmMode::None),
            ("bilateral", LsmMode::Bilateral),
            ("cycles", LsmMode::Cycles),
            ("multilateral", LsmMode::Multilateral),
            ("t2", LsmMode::T2),
        ],
        LsmMode::T2,
    )?;
    let max_cycle_length: u32 = o.opt("max_cycle_length")?.unwrap_or(6);
    if !(2..=12).contains(&max_cycle_length) {
        return Err(EngineError::config(o.field("max_cycle_length"), "must be between 2 and 12"));
    }
    o.finish()?;
    Ok(LsmConfig { mode, max_cycle_length })
}

pub(crate) fn check_range(x: i64, lo: i64, hi: i64, loc: &Loc) -> Result<()> {
    if x < lo || x > hi {
        return Err(EngineError::config(loc.clone(), format!("must be between {lo} and {hi}, got {x}")));
    }
    Ok(())
}

fn check_priority(p: u8, loc: &Loc) -> Result<()> {
    if p > 10 {
        return Err(EngineError::config(loc.clone(), format!("must be between 0 and 10, got {p}")));
    }
    Ok(())
}

fn as_array<'a>(v: &'a Value, loc: &Loc) -> Result<&'a Vec<Value>> {
    v.as_array().ok_or_else(|| EngineError::config(loc.clone(), format!("expected a list, got {}", kind_of(v))))
}

pub(crate) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a float",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// A mapping being parsed: remembers its location and which keys were read, so leftovers are errors.
pub struct Obj<'a> {
    loc: Loc,
    map: &'a Map<String, Value>,
    used: Vec<&'a str>,
}

impl<'a> Obj<'a> {
    pub fn new(v: &'a Value, loc: &Loc) -> Result<Self> {
        let map = v
            .as_object()
            .ok_or_else(|| EngineError::config(loc.clone(), format!("expected a mapping, got {}", kind_of(v))))?;
        Ok(Obj { loc: loc.clone(), map, used: Vec::new() })
    }

    /// The location of `key` in this mapping.
    pub fn field(&self, key: &str) -> Loc {
        self.loc.key(key)
    }

    /// The value under `key`; an explicit null counts as absent, as for every optional key.
    pub fn take(&mut self, key: &'static str) -> Option<&'a Value> {
        self.used.push(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub fn req<T: FromValue>(&mut self, key: &'static str) -> Result<T> {
        match self.take(key) {
            Some(Value::Null) | None => Err(EngineError::config(self.field(key), "is required")),
            Some(v) => T::from_value(v, &self.field(key)),
        }
    }

    pub fn opt<T: FromValue>(&mut self, key: &'static str) -> Result<Option<T>> {
        match self.take(key) {
            Some(Value::Null) | None => Ok(None),
            Some(v) => T::from_value(v, &self.field(key)).map(Some),
        }
    }

    /// One of `options` by name, `default` when absent. Names the choices when it is none of them.
    pub fn choice<T: Copy>(&mut self, key: &'static str, what: &str, options: &[(&str, T)], default: T) -> Result<T> {
        let Some(name) = self.opt::<String>(key)? else { return Ok(default) };
        options.iter().find(|(n, _)| *n == name).map(|(_, t)| *t).ok_or_else(|| {
            let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
            EngineError::config(self.field(key), format!("unknown {what} '{name}' (expected {})", names.join(", ")))
        })
    }

    /// Fail on any key outside `keys` (and those already read), before reading the rest.
    pub fn allow_only(&self, keys: &[&str]) -> Result<()> {
        let mut unknown: Vec<&String> =
            self.map.keys().filter(|k| !self.used.contains(&k.as_str()) && !keys.contains(&k.as_str())).collect();
        unknown.sort();
        if let Some(k) = unknown.first() {
            let mut expected: Vec<&str> = self.used.iter().chain(keys).copied().collect();
            expected.sort();
            return Err(EngineError::config(
                self.field(k),
                format!("unknown key (expected one of: {})", expected.join(", ")),
            ));
        }
        Ok(())
    }

    /// Every key must have been read.
    pub fn finish(self) -> Result<()> {
        self.allow_only(&[])
    }
}

/// Conversion of one JSON value into a Rust scalar, with the field's location in the error.
pub trait FromValue: Sized {
    fn from_value(v: &Value, loc: &Loc) -> Result<Self>;
}

impl FromValue for String {
    fn from_value(v: &Value, loc: &Loc) -> Result<Self> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| EngineError::config(loc.clone(), format!("expected a string, got {}", kind_of(v))))
    }
}

impl FromValue for bool {
    fn from_value(v: &Value, loc: &Loc) -> Result<Self> {
        v.as_bool()
            .ok_or_else(|| EngineError::config(loc.clone(), format!("expected true or false, got {}", kind_of(v))))
    }
}

impl FromValue for f64 {
    fn from_value(v: &Value, loc: &Loc) -> Result<Self> {
        match v.as_f64() {
            Some(x) if x.is_finite() => Ok(x),
            _ => Err(EngineError::config(loc.clone(), format!("expected a finite number, got {}", kind_of(v)))),
        }
    }
}

macro_rules! int_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: &Value, loc: &Loc) -> Result<Self> {
                let n = match v {
                    Value::Number(n) if n.is_i64() => n.as_i64().map(i128::from),
                    Value::Number(n) if n.is_u64() => n.as_u64().map(i128::from),
                    // Whole floats (e.g. 1e6 from YAML) are accepted; fractions are not.
                    Value::Number(n) => n.as_f64().filter(|x| x.fract() == 0.0 && x.abs() < 9.0e18).map(|x| x as i128),
                    _ => None,
                };
                let n = n.ok_or_else(|| EngineError::config(loc.clone(), format!("expected an integer, got {}", kind_of(v))))?;
                <$t>::try_from(n).map_err(|_| EngineError::config(loc.clone(), format!(
                    "must be between {} and {}, got {n}", <$t>::MIN, <$t>::MAX)))
            }
        }
    )*};
}
int_from_value!(i64, u64, u32, u8);

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
        assert_eq!(c.lsm.mode, LsmMode::T2);
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
