//! `paysim_runner._core`: the thin PyO3 face of the engine. It converts Python values to the
//! engine's JSON-like config, maps [`EngineError`] to the package's exceptions ([`errors`]), and
//! hands records and logs to Python walked from their one declaration in the engine
//! ([`convert`]). It also exports those declarations (`SCHEMAS`), so Python derives its Parquet
//! schemas and response models instead of copying field lists. No simulation logic lives here.

mod convert;
mod errors;
mod steps;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict};

use paysim_engine::config::EngineConfig;
use paysim_engine::error::Loc;
use paysim_engine::events::EventLog;
use paysim_engine::log::{transaction_columns, transaction_schema, TickLog, COST_NAMES};
use paysim_engine::metrics::{self, MetricValue};
use paysim_engine::model::{DROP_REASON_NAMES, SETTLED_VIA_NAMES, STATUS_NAMES};
use paysim_engine::orchestrator::Submission;
use paysim_engine::schema::{code_tables, Record};
use paysim_engine::{AgentState, EngineError, Orchestrator, TickResult, ENGINE_VERSION, SCHEMA_VERSION};

use convert::{columns_dict, record_dict, schema_list, to_json, ArrowLoader, RecordDicts};
use errors::{panic_to_py, to_py};
use steps::StepTotals;

/// Run engine work so that a Rust panic (always a bug) reaches Python as `InvariantViolation`, an
/// ordinary exception, rather than pyo3's `PanicException`, which `except Exception` misses.
fn guarded<T>(work: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("unknown panic");
        Err(panic_to_py(what))
    })
}

/// The engine, one simulation run. See `_core.pyi` for the Python-facing contract.
#[pyclass(name = "Orchestrator", module = "paysim_runner._core")]
struct PyOrchestrator {
    inner: Orchestrator,
}

#[pymethods]
impl PyOrchestrator {
    #[staticmethod]
    #[pyo3(signature = (config))]
    fn new(py: Python<'_>, config: &Bound<'_, PyAny>) -> PyResult<Self> {
        let cfg = parse_config(py, config)?;
        guarded(|| Ok(PyOrchestrator { inner: Orchestrator::new(cfg).map_err(to_py)? }))
    }

    #[staticmethod]
    #[pyo3(signature = (state))]
    fn load_state(state: &[u8]) -> PyResult<Self> {
        guarded(|| Ok(PyOrchestrator { inner: Orchestrator::load_state(state).map_err(to_py)? }))
    }

    fn save_state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, &self.inner.save_state().map_err(to_py)?))
    }

    fn tick<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let r = guarded(|| self.inner.tick().map_err(to_py))?;
        TICK_DICTS.dict(py, &r)
    }

    /// Up to `n` ticks in Rust without the GIL, the last one's dict (`None` when `n == 0`);
    /// Ctrl-C stops between ticks as in `run()`.
    #[pyo3(signature = (n))]
    fn tick_n<'py>(&mut self, py: Python<'py>, n: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let n = tick_count(n)?;
        let inner = &mut self.inner;
        let last = py.detach(|| {
            guarded(|| inner.tick_n(n, || Python::attach(|py| py.check_signals().is_ok())).map_err(to_py))
        })?;
        last.map(|r| TICK_DICTS.dict(py, &r)).transpose()
    }

    /// Up to `n` ticks in Rust without the GIL, like `tick_n`, but reporting the whole step: flows
    /// summed over its ticks, positions after the last, `ticks_run`. Given `after` (an earlier
    /// call's dict), the step continues it, so a step run in chunks sums exactly as in one call.
    #[pyo3(signature = (n, after = None))]
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        n: &Bound<'py, PyAny>,
        after: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let n = tick_count(n)?;
        let mut totals = after.map(StepTotals::resume).transpose()?.unwrap_or_default();
        let inner = &mut self.inner;
        py.detach(|| {
            guarded(|| totals.run(inner, n, || Python::attach(|py| py.check_signals().is_ok())).map_err(to_py))
        })?;
        totals.dict(py)
    }

    /// Payments `offset .. offset + limit` of `transaction_log()`, clipped to it; only they are
    /// exported, so a page costs its own size, not the log's.
    #[pyo3(signature = (offset, limit))]
    fn transaction_page<'py>(&self, py: Python<'py>, offset: usize, limit: usize) -> PyResult<Bound<'py, PyDict>> {
        columns_dict(py, steps::transaction_page(self.inner.payments(), offset, limit))
    }

    fn num_transactions(&self) -> usize {
        self.inner.payments().len()
    }

    /// Bytes the rows of each log hold: `{"transactions", "ticks", "events"}`.
    fn log_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("transactions", std::mem::size_of_val(self.inner.payments()))?;
        d.set_item("ticks", steps::tick_log_bytes(self.inner.tick_log()))?;
        d.set_item("events", steps::event_log_bytes(self.inner.event_log()))?;
        Ok(d)
    }

    /// All remaining ticks, in Rust, without the GIL; Ctrl-C stops between ticks.
    fn run(&mut self, py: Python<'_>) -> PyResult<()> {
        let inner = &mut self.inner;
        py.detach(|| guarded(|| inner.run(|| Python::attach(|py| py.check_signals().is_ok())).map_err(to_py)))
    }

    fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }
    fn total_ticks(&self) -> u64 {
        self.inner.total_ticks()
    }
    fn ticks_per_day(&self) -> u32 {
        self.inner.config().ticks_per_day
    }
    fn current_tick(&self) -> u32 {
        self.inner.current_tick()
    }
    fn current_day(&self) -> u32 {
        self.inner.current_day()
    }
    fn get_agent_ids(&self) -> Vec<String> {
        self.inner.banks().iter().map(|b| b.id.clone()).collect()
    }
    #[pyo3(signature = (agent_id))]
    fn get_agent_balance(&self, agent_id: &str) -> PyResult<i64> {
        let i = self.inner.bank_index(agent_id, "agent_id").map_err(to_py)?;
        Ok(self.inner.banks()[i].balance)
    }
    #[pyo3(signature = (agent_id))]
    fn get_queue1_size(&self, agent_id: &str) -> PyResult<usize> {
        let i = self.inner.bank_index(agent_id, "agent_id").map_err(to_py)?;
        Ok(self.inner.banks()[i].queue1.len())
    }
    fn get_queue2_size(&self) -> usize {
        self.inner.queue2_size()
    }

    fn agent_states<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.inner.agent_states().map_err(to_py)?.iter().map(|a| record_dict(py, a)).collect()
    }

    #[pyo3(signature = (tx))]
    fn submit_transaction(&mut self, tx: &Bound<'_, PyAny>) -> PyResult<String> {
        let s = submission(tx)?;
        Ok(guarded(|| self.inner.submit(&s).map_err(to_py))?.to_string())
    }

    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.inner.check_invariants().map_err(to_py)?;
        let d = PyDict::new(py);
        for (name, v) in guarded(|| metrics::compute(&self.inner).map_err(to_py))? {
            match v {
                MetricValue::Int(i) => d.set_item(name, i)?,
                MetricValue::Float(x) => d.set_item(name, x)?,
                MetricValue::Missing => d.set_item(name, py.None())?,
                MetricValue::Text(s) => d.set_item(name, s)?,
            }
        }
        Ok(d)
    }

    fn tick_log<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        columns_dict(py, self.inner.tick_log().columns())
    }

    fn transaction_log<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        columns_dict(py, transaction_columns(self.inner.payments()))
    }

    /// Scenario events as they took effect and central-bank loans at closes (docs/semantics.md#scenario-events).
    fn event_log<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        columns_dict(py, self.inner.event_log().columns())
    }

    /// Per-bank liquidity bounds of the payment stream so far: `{"lower": [...], "upper": [...]}`
    /// in `get_agent_ids()` order; their sums are the bound metrics.
    fn liquidity_bounds<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let bounds = metrics::bank_liquidity_bounds(&self.inner).map_err(to_py)?;
        let d = PyDict::new(py);
        d.set_item("lower", bounds.iter().map(|b| b.0).collect::<Vec<_>>())?;
        d.set_item("upper", bounds.iter().map(|b| b.1).collect::<Vec<_>>())?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "<Orchestrator banks={} tick={}/{}>",
            self.inner.banks().len(),
            self.inner.current_tick(),
            self.inner.total_ticks()
        )
    }
}

/// The dicts `tick()` and `tick_n()` return, all made from one template of interned keys.
static TICK_DICTS: RecordDicts<TickResult> = RecordDicts::new();

/// `tick_n`'s `n`: an int (or int-like, such as a numpy integer) from 0 to 2**64 - 1; a bool or
/// anything else is a `ConfigError` at `n`, as a bad argument naming a bank is at its name.
fn tick_count(n: &Bound<'_, PyAny>) -> PyResult<u64> {
    let count = if n.is_instance_of::<PyBool>() { None } else { n.extract::<u64>().ok() };
    count.ok_or_else(|| {
        let shown = n.repr().map(|r| r.to_string()).unwrap_or_else(|_| "?".into());
        to_py(EngineError::config("n".into(), format!("expected a non-negative integer below 2**64, got {shown}")))
    })
}

/// A payment dict as the engine's [`Submission`]; a bad field is an `InvalidPaymentError` at it.
fn submission(tx: &Bound<'_, PyAny>) -> PyResult<Submission> {
    let bad = |key: &str, problem: String| to_py(EngineError::invalid_payment(key, problem));
    let d = tx.cast::<PyDict>().map_err(|_| bad("transaction", "expected a dict".into()))?;
    const KEYS: &[&str] = &["sender", "receiver", "amount", "deadline_offset", "priority", "rtgs_class", "divisible"];
    for k in d.keys() {
        let key: String = k.extract().unwrap_or_default();
        if !KEYS.contains(&key.as_str()) {
            return Err(bad(&key, format!("unknown key (expected one of: {})", KEYS.join(", "))));
        }
    }
    let get = |key: &str| -> PyResult<Option<Bound<'_, PyAny>>> { Ok(d.get_item(key)?.filter(|v| !v.is_none())) };
    macro_rules! field {
        ($key:literal, $t:ty, $default:expr) => {
            match get($key)? {
                Some(v) if v.is_instance_of::<PyBool>() && $key != "divisible" => {
                    return Err(bad($key, "expected a number, got a boolean".into()))
                }
                Some(v) => v.extract::<$t>().map_err(|e| bad($key, e.to_string()))?,
                None => $default.ok_or_else(|| bad($key, "is required".into()))?,
            }
        };
    }
    Ok(Submission {
        sender: field!("sender", String, None::<String>),
        receiver: field!("receiver", String, None::<String>),
        amount: field!("amount", i64, None::<i64>),
        deadline_offset: field!("deadline_offset", u32, Some(50u32)),
        priority: field!("priority", u8, Some(5u8)),
        rtgs_class: match get("rtgs_class")? {
            Some(v) => Some(v.extract::<String>().map_err(|e| bad("rtgs_class", e.to_string()))?),
            None => None,
        },
        divisible: field!("divisible", bool, Some(false)),
    })
}

fn parse_config(py: Python<'_>, config: &Bound<'_, PyAny>) -> PyResult<EngineConfig> {
    if !config.is_instance_of::<PyDict>() {
        return Err(to_py(EngineError::config(Loc::root(), "expected a dict")));
    }
    let value = to_json(config, &Loc::root())?;
    EngineConfig::from_value(&value, &ArrowLoader { py }).map_err(to_py)
}

/// Check an engine config without building an engine: `ConfigError` naming the first bad field.
#[pyfunction]
#[pyo3(signature = (config))]
fn validate_config(py: Python<'_>, config: &Bound<'_, PyAny>) -> PyResult<()> {
    parse_config(py, config).map(|_| ())
}

/// `SCHEMAS`: every record's `(name, type)` fields, in order, by record name.
fn schemas(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("metrics", schema_list(metrics::schema()))?;
    d.set_item("tick_result", schema_list(TickResult::schema()))?;
    d.set_item("agent_state", schema_list(AgentState::schema()))?;
    d.set_item("tick_log", schema_list(TickLog::schema()))?;
    d.set_item("transaction_log", schema_list(transaction_schema()))?;
    d.set_item("event_log", schema_list(EventLog::schema()))?;
    Ok(d)
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<PyOrchestrator>()?;
    m.add_function(wrap_pyfunction!(validate_config, m)?)?;
    errors::register(m)?;
    m.add("__version__", ENGINE_VERSION)?;
    m.add("ENGINE_VERSION", ENGINE_VERSION)?;
    m.add("SCHEMA_VERSION", SCHEMA_VERSION)?;
    m.add("SCHEMAS", schemas(py)?)?;
    m.add("TICK_POSITIONS", TickResult::POSITIONS.to_vec())?;
    m.add("COST_NAMES", COST_NAMES.to_vec())?;
    m.add("STATUS_NAMES", STATUS_NAMES.to_vec())?;
    m.add("SETTLED_VIA_NAMES", SETTLED_VIA_NAMES.to_vec())?;
    m.add("DROP_REASON_NAMES", DROP_REASON_NAMES.to_vec())?;
    let codes = PyDict::new(py);
    for (column, names) in
        code_tables(&transaction_columns(&[])).into_iter().chain(code_tables(&EventLog::default().columns()))
    {
        codes.set_item(column, names.to_vec())?;
    }
    m.add("CODES", codes)?;
    m.add("METRIC_NAMES", metrics::metrics().iter().map(|m| m.name.as_str()).collect::<Vec<_>>())?;
    m.add("POLICY_TYPES", paysim_engine::policy::REGISTRY.iter().map(|(name, _, _)| *name).collect::<Vec<_>>())?;
    Ok(())
}
