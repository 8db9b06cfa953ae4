//! `paysim_runner._core`: the thin PyO3 face of the engine. It converts Python values to the
//! engine's JSON-like config, maps [`EngineError`] to Python exceptions, and hands logs to Python
//! as numpy columns. No simulation logic lives here.

use numpy::{IntoPyArray, PyArray1};
use pyo3::create_exception;
use pyo3::exceptions::{PyKeyError, PyKeyboardInterrupt, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

use paysim_engine::config::{EngineConfig, ScheduleLoader};
use paysim_engine::log::COST_NAMES;
use paysim_engine::metrics::{self, MetricValue, METRIC_NAMES};
use paysim_engine::model::{DROP_REASON_NAMES, NONE, SETTLED_VIA_NAMES, STATUS_NAMES};
use paysim_engine::orchestrator::Submission;
use paysim_engine::{EngineError, Orchestrator, TickResult, ENGINE_VERSION, SCHEMA_VERSION};

create_exception!(
    _core,
    ConfigError,
    PyValueError,
    "An invalid engine config value; the message starts with the field path."
);
create_exception!(_core, InvariantViolation, PyRuntimeError, "The engine broke one of its own invariants: a bug.");

/// The one place engine errors become Python exceptions.
fn to_py(e: EngineError) -> PyErr {
    let msg = e.to_string();
    match e {
        EngineError::Config { .. } => ConfigError::new_err(msg),
        EngineError::UnknownBank(id) => PyKeyError::new_err(format!("unknown bank '{id}'")),
        EngineError::InvalidPayment { .. } | EngineError::State(_) => PyValueError::new_err(msg),
        EngineError::Finished(_) => PyRuntimeError::new_err(msg),
        EngineError::Invariant(_) => InvariantViolation::new_err(msg),
        EngineError::Interrupted => PyKeyboardInterrupt::new_err("simulation interrupted between ticks"),
    }
}

/// Run engine work so that a Rust panic (always a bug) reaches Python as `InvariantViolation`, an
/// ordinary exception, rather than pyo3's `PanicException`, which `except Exception` misses.
fn guarded<T>(work: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("unknown panic");
        Err(InvariantViolation::new_err(format!("internal engine error: {what}")))
    })
}

/// Python value → JSON value, naming the field path of anything that cannot be represented.
fn to_json(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<Value> {
    let here = || if path.is_empty() { "config".to_string() } else { path.to_string() };
    if obj.is_none() {
        Ok(Value::Null)
    } else if obj.is_instance_of::<PyBool>() {
        Ok(Value::Bool(obj.extract()?))
    } else if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            Ok(Value::from(i))
        } else if let Ok(u) = obj.extract::<u64>() {
            Ok(Value::from(u))
        } else {
            Err(ConfigError::new_err(format!("{}: integer out of range", here())))
        }
    } else if obj.is_instance_of::<PyFloat>() {
        let x: f64 = obj.extract()?;
        Number::from_f64(x)
            .map(Value::Number)
            .ok_or_else(|| ConfigError::new_err(format!("{}: expected a finite number, got {x}", here())))
    } else if obj.is_instance_of::<PyString>() {
        Ok(Value::String(obj.extract()?))
    } else if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, v) in d.iter() {
            let key: String =
                k.extract().map_err(|_| ConfigError::new_err(format!("{}: mapping keys must be strings", here())))?;
            let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
            map.insert(key, to_json(&v, &child)?);
        }
        Ok(Value::Object(map))
    } else if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let items: Vec<Bound<'_, PyAny>> = obj.try_iter()?.collect::<PyResult<_>>()?;
        items
            .iter()
            .enumerate()
            .map(|(i, v)| to_json(v, &format!("{}[{i}]", here())))
            .collect::<PyResult<Vec<_>>>()
            .map(Value::Array)
    } else if let Ok(i) = obj.call_method0("__index__").and_then(|x| x.extract::<i64>()) {
        // numpy integers and other int-likes
        Ok(Value::from(i))
    } else if let Ok(x) = obj.call_method0("__float__").and_then(|x| x.extract::<f64>()) {
        Number::from_f64(x)
            .map(Value::Number)
            .ok_or_else(|| ConfigError::new_err(format!("{}: expected a finite number", here())))
    } else {
        let t = obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
        Err(ConfigError::new_err(format!("{}: unsupported value of type {t}", here())))
    }
}

/// Reads `scheduled_payments_file` with pyarrow (Parquet or CSV) into rows.
struct ArrowLoader<'py> {
    py: Python<'py>,
}

impl ScheduleLoader for ArrowLoader<'_> {
    fn load(&self, path: &str) -> Result<Vec<Value>, String> {
        if !std::path::Path::new(path).is_file() {
            return Err(format!("file not found: '{path}'"));
        }
        let lower = path.to_ascii_lowercase();
        let (module, func) = if lower.ends_with(".parquet") || lower.ends_with(".pq") {
            ("pyarrow.parquet", "read_table")
        } else if lower.ends_with(".csv") {
            ("pyarrow.csv", "read_csv")
        } else {
            return Err(format!("'{path}': expected a .parquet or .csv file"));
        };
        let rows = (|| -> PyResult<Bound<'_, PyAny>> {
            self.py.import(module)?.getattr(func)?.call1((path,))?.call_method0("to_pylist")
        })()
        .map_err(|e| format!("cannot read '{path}': {e}"))?;
        let list = rows.cast::<PyList>().map_err(|e| e.to_string())?;
        list.iter().enumerate().map(|(i, r)| to_json(&r, &format!("row {i}")).map_err(|e| e.to_string())).collect()
    }
}

/// The engine, one simulation run. See `_core.pyi` for the Python-facing contract.
#[pyclass(name = "Orchestrator", module = "paysim_runner._core")]
struct PyOrchestrator {
    inner: Orchestrator,
}

fn tick_dict<'py>(py: Python<'py>, r: &TickResult) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("tick", r.tick)?;
    d.set_item("day", r.day)?;
    d.set_item("num_arrivals", r.num_arrivals)?;
    d.set_item("num_settlements", r.num_settlements)?;
    d.set_item("num_drops", r.num_drops)?;
    d.set_item("lsm_bilateral_releases", r.lsm_bilateral_releases)?;
    d.set_item("lsm_cycle_releases", r.lsm_cycle_releases)?;
    d.set_item("queue1_size", r.queue1_size)?;
    d.set_item("queue2_size", r.queue2_size)?;
    d.set_item("total_liquidity_cost", r.total_liquidity_cost)?;
    d.set_item("total_delay_cost", r.total_delay_cost)?;
    d.set_item("total_cost", r.total_cost)?;
    d.set_item("value_arrived", r.value_arrived)?;
    d.set_item("value_settled", r.value_settled)?;
    d.set_item("value_dropped", r.value_dropped)?;
    d.set_item("queue1_value", r.queue1_value)?;
    d.set_item("queue2_value", r.queue2_value)?;
    Ok(d)
}

fn column<'py, T: numpy::Element>(py: Python<'py>, d: &Bound<'py, PyDict>, name: &str, v: Vec<T>) -> PyResult<()> {
    let arr: Bound<'py, PyArray1<T>> = v.into_pyarray(py);
    d.set_item(name, arr)
}

fn widen<T: Copy + Into<i64>>(v: &[T]) -> Vec<i64> {
    v.iter().map(|x| (*x).into()).collect()
}

/// -1 for "none" in tick columns.
fn tick_or_none(t: u32) -> i64 {
    if t == NONE {
        -1
    } else {
        t as i64
    }
}

#[pymethods]
impl PyOrchestrator {
    #[staticmethod]
    fn new(py: Python<'_>, config: &Bound<'_, PyAny>) -> PyResult<Self> {
        let cfg = parse_config(py, config)?;
        guarded(|| Ok(PyOrchestrator { inner: Orchestrator::new(cfg).map_err(to_py)? }))
    }

    #[staticmethod]
    fn load_state(state: &[u8]) -> PyResult<Self> {
        guarded(|| Ok(PyOrchestrator { inner: Orchestrator::load_state(state).map_err(to_py)? }))
    }

    fn save_state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, &self.inner.save_state().map_err(to_py)?))
    }

    fn tick<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let r = guarded(|| self.inner.tick().map_err(to_py))?;
        tick_dict(py, &r)
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
    fn get_agent_balance(&self, agent_id: &str) -> PyResult<i64> {
        let i = self.inner.bank_index(agent_id).map_err(to_py)?;
        Ok(self.inner.banks()[i].balance)
    }
    fn get_queue1_size(&self, agent_id: &str) -> PyResult<usize> {
        let i = self.inner.bank_index(agent_id).map_err(to_py)?;
        Ok(self.inner.banks()[i].queue1.len())
    }
    fn get_queue2_size(&self) -> usize {
        self.inner.queue2_size()
    }

    fn agent_states<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let costs = self.inner.bank_costs();
        self.inner
            .banks()
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let d = PyDict::new(py);
                d.set_item("id", &b.id)?;
                d.set_item("balance", b.balance)?;
                d.set_item("opening_balance", b.opening_balance)?;
                d.set_item("credit_limit", b.credit_limit)?;
                d.set_item("credit_used", b.credit_used())?;
                d.set_item("queue1_size", b.queue1.len())?;
                d.set_item("queue1_value", b.queue1_value)?;
                d.set_item("queue2_size", b.queue2_count)?;
                d.set_item("queue2_value", b.queue2_value)?;
                d.set_item("cost_total", costs[i].iter().sum::<f64>())?;
                Ok(d)
            })
            .collect()
    }

    fn submit_transaction(&mut self, tx: &Bound<'_, PyAny>) -> PyResult<String> {
        let d = tx.cast::<PyDict>().map_err(|_| PyValueError::new_err("transaction: expected a dict"))?;
        const KEYS: [&str; 6] = ["sender", "receiver", "amount", "deadline_offset", "priority", "divisible"];
        for k in d.keys() {
            let key: String = k.extract().unwrap_or_default();
            if !KEYS.contains(&key.as_str()) {
                return Err(PyValueError::new_err(format!(
                    "{key}: unknown key (expected one of: {})",
                    KEYS.join(", ")
                )));
            }
        }
        let get = |key: &str| -> PyResult<Option<Bound<'_, PyAny>>> { Ok(d.get_item(key)?.filter(|v| !v.is_none())) };
        let bad = |key: &str, e: PyErr| PyValueError::new_err(format!("{key}: {e}"));
        macro_rules! field {
            ($key:literal, $t:ty, $default:expr) => {
                match get($key)? {
                    Some(v) if v.is_instance_of::<PyBool>() && $key != "divisible" => {
                        return Err(PyValueError::new_err(concat!($key, ": expected a number, got a boolean")))
                    }
                    Some(v) => v.extract::<$t>().map_err(|e| bad($key, e))?,
                    None => $default.ok_or_else(|| PyValueError::new_err(concat!($key, ": is required")))?,
                }
            };
        }
        let s = Submission {
            sender: field!("sender", String, None::<String>),
            receiver: field!("receiver", String, None::<String>),
            amount: field!("amount", i64, None::<i64>),
            deadline_offset: field!("deadline_offset", u32, Some(50u32)),
            priority: field!("priority", u8, Some(5u8)),
            divisible: field!("divisible", bool, Some(false)),
        };
        Ok(guarded(|| self.inner.submit(&s).map_err(to_py))?.to_string())
    }

    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.inner.check_invariants().map_err(to_py)?;
        let d = PyDict::new(py);
        for (name, v) in guarded(|| Ok(metrics::compute(&self.inner)))? {
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
        let l = self.inner.tick_log();
        let d = PyDict::new(py);
        column(py, &d, "tick", widen(&l.tick))?;
        column(py, &d, "bank", l.bank.iter().map(|b| *b as i32).collect())?;
        column(py, &d, "balance", l.balance.clone())?;
        column(py, &d, "credit_used", l.credit_used.clone())?;
        column(py, &d, "queue1_count", widen(&l.queue1_count))?;
        column(py, &d, "queue1_value", l.queue1_value.clone())?;
        column(py, &d, "queue2_count", widen(&l.queue2_count))?;
        column(py, &d, "queue2_value", l.queue2_value.clone())?;
        column(py, &d, "value_sent", l.value_sent.clone())?;
        column(py, &d, "value_received", l.value_received.clone())?;
        for (m, name) in SETTLED_VIA_NAMES[1..].iter().enumerate() {
            column(py, &d, &format!("settled_{name}"), widen(&l.settled[m]))?;
        }
        for (c, name) in COST_NAMES.iter().enumerate() {
            column(py, &d, &format!("cost_{name}"), l.costs[c].clone())?;
        }
        Ok(d)
    }

    fn transaction_log<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let ps = self.inner.payments();
        let d = PyDict::new(py);
        column(py, &d, "tx_id", (0..ps.len() as i64).collect())?;
        column(py, &d, "parent_id", ps.iter().map(|p| tick_or_none(p.parent)).collect())?;
        column(py, &d, "sender", ps.iter().map(|p| p.sender as i32).collect())?;
        column(py, &d, "receiver", ps.iter().map(|p| p.receiver as i32).collect())?;
        column(py, &d, "amount", ps.iter().map(|p| p.amount).collect())?;
        column(py, &d, "priority", ps.iter().map(|p| p.priority).collect())?;
        column(py, &d, "divisible", ps.iter().map(|p| p.divisible).collect())?;
        column(py, &d, "arrival_tick", ps.iter().map(|p| p.arrival_tick as i64).collect())?;
        column(py, &d, "deadline_tick", ps.iter().map(|p| p.deadline_tick as i64).collect())?;
        column(py, &d, "release_tick", ps.iter().map(|p| tick_or_none(p.release_tick)).collect())?;
        column(py, &d, "settle_tick", ps.iter().map(|p| tick_or_none(p.settle_tick)).collect())?;
        column(py, &d, "drop_tick", ps.iter().map(|p| tick_or_none(p.drop_tick)).collect())?;
        column(py, &d, "settled_via", ps.iter().map(|p| p.settled_via as u8).collect())?;
        column(py, &d, "status", ps.iter().map(|p| p.status as u8).collect())?;
        column(py, &d, "drop_reason", ps.iter().map(|p| p.drop_reason as u8).collect())?;
        Ok(d)
    }

    /// Per-bank liquidity bounds of the payment stream so far: `{"lower": [...], "upper": [...]}`
    /// in `get_agent_ids()` order; their sums are the bound metrics.
    fn liquidity_bounds<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let bounds = metrics::bank_liquidity_bounds(&self.inner);
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

fn parse_config(py: Python<'_>, config: &Bound<'_, PyAny>) -> PyResult<EngineConfig> {
    if !config.is_instance_of::<PyDict>() {
        return Err(ConfigError::new_err("config: expected a dict"));
    }
    let value = to_json(config, "")?;
    EngineConfig::from_value(&value, &ArrowLoader { py }).map_err(to_py)
}

/// Check an engine config without building an engine: `ConfigError` naming the first bad field.
#[pyfunction]
fn validate_config(py: Python<'_>, config: &Bound<'_, PyAny>) -> PyResult<()> {
    parse_config(py, config).map(|_| ())
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<PyOrchestrator>()?;
    m.add_function(wrap_pyfunction!(validate_config, m)?)?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("InvariantViolation", py.get_type::<InvariantViolation>())?;
    m.add("__version__", ENGINE_VERSION)?;
    m.add("ENGINE_VERSION", ENGINE_VERSION)?;
    m.add("SCHEMA_VERSION", SCHEMA_VERSION)?;
    m.add("STATUS_NAMES", STATUS_NAMES.to_vec())?;
    m.add("SETTLED_VIA_NAMES", SETTLED_VIA_NAMES.to_vec())?;
    m.add("DROP_REASON_NAMES", DROP_REASON_NAMES.to_vec())?;
    m.add("METRIC_NAMES", METRIC_NAMES.to_vec())?;
    m.add("POLICY_TYPES", paysim_engine::policy::REGISTRY.iter().map(|(name, _, _)| *name).collect::<Vec<_>>())?;
    Ok(())
}
