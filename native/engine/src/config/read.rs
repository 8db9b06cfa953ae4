//! Reading JSON values at a location: mappings whose unread keys are errors, and scalars
//! converted with the location in every error.

use serde_json::{Map, Value};

use crate::error::{EngineError, Loc, Result};

pub(crate) fn check_range(x: i64, lo: i64, hi: i64, loc: &Loc) -> Result<()> {
    if x < lo || x > hi {
        return Err(EngineError::config(loc.clone(), format!("must be between {lo} and {hi}, got {x}")));
    }
    Ok(())
}

pub(crate) fn check_priority(p: u8, loc: &Loc) -> Result<()> {
    if p > 10 {
        return Err(EngineError::config(loc.clone(), format!("must be between 0 and 10, got {p}")));
    }
    Ok(())
}

pub(crate) fn as_array<'a>(v: &'a Value, loc: &Loc) -> Result<&'a Vec<Value>> {
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
