//! Values across the seam: Python config values to the engine's JSON, and the engine's records
//! and log columns to Python dicts and numpy arrays, each walked from its one declaration in the
//! engine (`paysim_engine::schema`).

use std::marker::PhantomData;

use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

use paysim_engine::config::ScheduleLoader;
use paysim_engine::error::Loc;
use paysim_engine::schema::{Column, Field, Record, Scalar};
use paysim_engine::EngineError;

use crate::errors::to_py;

fn bad(loc: &Loc, problem: impl Into<String>) -> PyErr {
    to_py(EngineError::config(loc.clone(), problem))
}

/// Python value → JSON value; anything that cannot be represented is a `ConfigError` at `loc`.
pub fn to_json(obj: &Bound<'_, PyAny>, loc: &Loc) -> PyResult<Value> {
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
            Err(bad(loc, "integer out of range"))
        }
    } else if obj.is_instance_of::<PyFloat>() {
        let x: f64 = obj.extract()?;
        Number::from_f64(x).map(Value::Number).ok_or_else(|| bad(loc, format!("expected a finite number, got {x}")))
    } else if obj.is_instance_of::<PyString>() {
        Ok(Value::String(obj.extract()?))
    } else if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, v) in d.iter() {
            let key: String = k.extract().map_err(|_| bad(loc, "mapping keys must be strings"))?;
            let child = to_json(&v, &loc.key(key.as_str()))?;
            map.insert(key, child);
        }
        Ok(Value::Object(map))
    } else if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let items: Vec<Bound<'_, PyAny>> = obj.try_iter()?.collect::<PyResult<_>>()?;
        items.iter().enumerate().map(|(i, v)| to_json(v, &loc.index(i))).collect::<PyResult<Vec<_>>>().map(Value::Array)
    } else if let Ok(i) = obj.call_method0("__index__").and_then(|x| x.extract::<i64>()) {
        // numpy integers and other int-likes
        Ok(Value::from(i))
    } else if let Ok(x) = obj.call_method0("__float__").and_then(|x| x.extract::<f64>()) {
        Number::from_f64(x).map(Value::Number).ok_or_else(|| bad(loc, "expected a finite number"))
    } else {
        let t = obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
        Err(bad(loc, format!("unsupported value of type {t}")))
    }
}

/// Reads `scheduled_payments_file` with pyarrow (Parquet or CSV) into rows.
pub struct ArrowLoader<'py> {
    pub py: Python<'py>,
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
        list.iter().enumerate().map(|(i, r)| to_json(&r, &Loc::root().index(i)).map_err(|e| e.to_string())).collect()
    }
}

/// Set `key` of `d` to a record field's value.
fn set_scalar<'py>(d: &Bound<'py, PyDict>, key: impl IntoPyObject<'py>, value: Scalar<'_>) -> PyResult<()> {
    match value {
        Scalar::Int(i) => d.set_item(key, i),
        Scalar::Float(x) => d.set_item(key, x),
        Scalar::Bool(b) => d.set_item(key, b),
        Scalar::Text(s) => d.set_item(key, s),
    }
}

/// A record as a dict, keys in schema order.
pub fn record_dict<'py, R: Record>(py: Python<'py>, record: &R) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let mut failed = None;
    record.for_each(&mut |name, value| {
        if let Err(e) = set_scalar(&d, name, value) {
            failed.get_or_insert(e);
        }
    });
    failed.map_or(Ok(d), Err)
}

/// [`record_dict`] for a record made once a tick, where the dict's making is most of what a
/// Python call costs. The keys are interned once (as `pyo3::intern!` would, but from the
/// record's declaration instead of a second list of literals) and laid out in a template dict, so
/// a call copies the template (one allocation at its final size, hashes already cached) and sets
/// each value in place, keeping the schema order.
pub struct RecordDicts<R> {
    template: PyOnceLock<(Py<PyDict>, Vec<Py<PyString>>)>,
    record: PhantomData<fn(&R)>,
}

impl<R: Record> RecordDicts<R> {
    pub const fn new() -> Self {
        RecordDicts { template: PyOnceLock::new(), record: PhantomData }
    }

    pub fn dict<'py>(&self, py: Python<'py>, record: &R) -> PyResult<Bound<'py, PyDict>> {
        let (template, keys) = self.template.get_or_try_init(py, || -> PyResult<_> {
            let template = PyDict::new(py);
            let keys: Vec<Py<PyString>> = R::schema().iter().map(|f| PyString::intern(py, &f.name).unbind()).collect();
            for key in &keys {
                template.set_item(key, py.None())?;
            }
            Ok((template.unbind(), keys))
        })?;
        let d = template.bind(py).copy()?;
        // `for_each` walks the fields in the order `schema` lists them, the order of `keys`.
        let mut keys = keys.iter();
        let mut failed = None;
        record.for_each(&mut |name, value| {
            let set = match keys.next() {
                Some(key) => set_scalar(&d, key.bind(py), value),
                None => Err(crate::errors::panic_to_py(&format!("field {name} is not in its record's schema"))),
            };
            if let Err(e) = set {
                failed.get_or_insert(e);
            }
        });
        failed.map_or(Ok(d), Err)
    }
}

/// Log columns as a dict of numpy arrays, in column order.
pub fn columns_dict(py: Python<'_>, columns: Vec<(String, Column)>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    for (name, column) in columns {
        let array = match column {
            Column::Int64(v) | Column::NullableInt64(v) => v.into_pyarray(py).into_any(),
            Column::Int32(v) => v.into_pyarray(py).into_any(),
            Column::UInt8(v) | Column::Code(v, _) => v.into_pyarray(py).into_any(),
            Column::Bool(v) => v.into_pyarray(py).into_any(),
            Column::Float64(v) => v.into_pyarray(py).into_any(),
        };
        d.set_item(name, array)?;
    }
    Ok(d)
}

/// A schema as a list of `(name, type)` tuples.
pub fn schema_list(fields: Vec<Field>) -> Vec<(String, &'static str)> {
    fields.into_iter().map(|f| (f.name, f.ty.name())).collect()
}
