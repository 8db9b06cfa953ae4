//! The package's exception hierarchy and the one mapping of [`EngineError`] onto it.
//!
//! Every class derives from `PaysimError` and from the builtin a caller would expect
//! (`ValueError` for bad input, `KeyError` for an unknown bank, `RuntimeError` for a finished run
//! or a bug), so `except ValueError` keeps working while `except PaysimError` catches them all.
//! Errors about an input field carry it as data: `.loc` (a tuple of keys and list indexes, as in
//! pydantic) and `.problem`; `str()` stays the one line `<loc>: <problem>`.
//! Model: polars' `polars-python/src/error.rs` (one match, one class per core error).

use pyo3::exceptions::{PyBaseException, PyException, PyKeyError, PyKeyboardInterrupt, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

use paysim_engine::error::{Loc, LocItem};
use paysim_engine::EngineError;

/// The classes, created once when the module is imported.
pub struct Classes {
    pub base: Py<PyType>,
    pub config: Py<PyType>,
    pub unknown_bank: Py<PyType>,
    pub invalid_payment: Py<PyType>,
    pub state: Py<PyType>,
    pub finished: Py<PyType>,
    pub invariant: Py<PyType>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

/// A class `name(*bases)` of this module; `located` ones have `loc`/`problem` defaults.
fn class<'py>(
    py: Python<'py>,
    name: &str,
    bases: &[&Bound<'py, PyType>],
    doc: &str,
    located: bool,
) -> PyResult<Bound<'py, PyType>> {
    let dict = PyDict::new(py);
    dict.set_item("__doc__", doc)?;
    dict.set_item("__module__", "paysim_runner._core")?;
    if located {
        dict.set_item("loc", PyTuple::empty(py))?;
        dict.set_item("problem", "")?;
    }
    let bases = PyTuple::new(py, bases)?;
    Ok(py.get_type::<PyType>().call1((name, bases, dict))?.cast_into::<PyType>()?)
}

/// The exception hierarchy: `PaysimError` under `Exception`, each engine error under it and
/// under the builtin a Python caller would catch (`ValueError`, `KeyError`, `RuntimeError`).
fn hierarchy(py: Python<'_>) -> PyResult<Classes> {
    let base = class(py, "PaysimError", &[&py.get_type::<PyException>()], "Base of every paysim error.", false)?;
    let value = py.get_type::<PyValueError>();
    let runtime = py.get_type::<PyRuntimeError>();
    let config = class(
        py,
        "ConfigError",
        &[&base, &value],
        "An invalid config value (or method argument, such as `tick_n`'s `n`); `.loc` names the field (a tuple of keys and list indexes), `.problem` says what is wrong.",
        true,
    )?;
    let unknown_bank = class(
        py,
        "UnknownBankError",
        &[&config, &py.get_type::<PyKeyError>()],
        "A bank id that is not in the configuration; `.loc` names the field that gave it, `.bank_id` is the id.",
        true,
    )?;
    // One line, like every other error: KeyError's own str() would quote the message.
    unknown_bank.setattr("__str__", py.get_type::<PyBaseException>().getattr("__str__")?)?;
    unknown_bank.setattr("bank_id", "")?;
    let invalid_payment = class(
        py,
        "InvalidPaymentError",
        &[&base, &value],
        "A submitted payment the engine refuses; `.loc` names its field.",
        true,
    )?;
    let state = class(py, "StateError", &[&base, &value], "A saved engine state that cannot be restored.", false)?;
    let finished =
        class(py, "RunFinished", &[&base, &runtime], "The run has no ticks left for what was asked.", false)?;
    let invariant = class(
        py,
        "InvariantViolation",
        &[&base, &runtime],
        "The engine broke one of its own invariants (conservation, credit limit, ...), or panicked. Always a bug, never bad input.",
        false,
    )?;
    let unbind = |t: Bound<'_, PyType>| t.unbind();
    Ok(Classes {
        base: unbind(base),
        config: unbind(config),
        unknown_bank: unbind(unknown_bank),
        invalid_payment: unbind(invalid_payment),
        state: unbind(state),
        finished: unbind(finished),
        invariant: unbind(invariant),
    })
}

/// Create the hierarchy (once per interpreter) and add every class to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let classes = CLASSES.get_or_try_init(py, || hierarchy(py))?;
    for ty in [
        &classes.base,
        &classes.config,
        &classes.unknown_bank,
        &classes.invalid_payment,
        &classes.state,
        &classes.finished,
        &classes.invariant,
    ] {
        let ty = ty.bind(py);
        m.add(ty.name()?, ty)?;
    }
    Ok(())
}

/// `.loc` as Python sees it: keys as str, list indexes as int.
fn loc_tuple<'py>(py: Python<'py>, loc: &Loc) -> PyResult<Bound<'py, PyAny>> {
    let mut items: Vec<Bound<'py, PyAny>> = Vec::with_capacity(loc.items().len());
    for item in loc.items() {
        items.push(match item {
            LocItem::Key(k) => k.into_pyobject(py)?.into_any(),
            LocItem::Index(i) => i.into_pyobject(py)?.into_any(),
        });
    }
    Ok(PyTuple::new(py, items)?.into_any())
}

/// The instance of the class for `e`, with its data attributes set.
fn exception(py: Python<'_>, c: &Classes, e: &EngineError) -> PyResult<PyErr> {
    let text = |s: &str| -> PyResult<Bound<'_, PyAny>> { Ok(s.into_pyobject(py)?.into_any()) };
    let (ty, attrs) = match e {
        EngineError::Config { loc, problem } => {
            (&c.config, vec![("loc", loc_tuple(py, loc)?), ("problem", text(problem)?)])
        }
        EngineError::UnknownBank { loc, id } => (
            &c.unknown_bank,
            vec![
                ("loc", loc_tuple(py, loc)?),
                ("problem", text(&format!("unknown bank '{id}'"))?),
                ("bank_id", text(id)?),
            ],
        ),
        EngineError::InvalidPayment { loc, problem } => {
            (&c.invalid_payment, vec![("loc", loc_tuple(py, loc)?), ("problem", text(problem)?)])
        }
        EngineError::State(_) => (&c.state, vec![]),
        EngineError::Finished(_) => (&c.finished, vec![]),
        EngineError::Invariant(_) => (&c.invariant, vec![]),
        EngineError::Interrupted => return Ok(PyKeyboardInterrupt::new_err("simulation interrupted between ticks")),
    };
    let exc = ty.bind(py).call1((e.to_string(),))?;
    for (name, value) in attrs {
        exc.setattr(name, value)?;
    }
    Ok(PyErr::from_value(exc))
}

/// The one place engine errors become Python exceptions.
pub fn to_py(e: EngineError) -> PyErr {
    Python::attach(|py| match CLASSES.get(py) {
        Some(classes) => exception(py, classes, &e).unwrap_or_else(|failed| failed),
        None => PyRuntimeError::new_err(e.to_string()), // unreachable: the module creates them on import
    })
}

/// A panic (always a bug) as `InvariantViolation`.
pub fn panic_to_py(what: &str) -> PyErr {
    to_py(EngineError::Invariant(format!("internal engine error: {what}")))
}
