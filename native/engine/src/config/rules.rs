//! Config of the T2 settlement rules (docs/semantics.md#t2-settlement-rules): payment classes,
//! sender limits and liquidity reservations. Each is optional; absent, settlement is as before.

use super::read::Obj;
use crate::error::{EngineError, Loc, Result};
use crate::model::{RtgsClass, RTGS_CLASS_NAMES};

/// A class by name (`highly_urgent`, `urgent`, `normal`); `loc` names the field in the error.
fn parse_class(name: &str, loc: &Loc) -> Result<RtgsClass> {
    RTGS_CLASS_NAMES.iter().position(|n| *n == name).map(|i| RtgsClass::ALL[i]).ok_or_else(|| {
        EngineError::config(loc.clone(), format!("unknown class '{name}' (expected {})", RTGS_CLASS_NAMES.join(", ")))
    })
}

/// The optional `rtgs_class` of a payment or arrival config.
pub(super) fn opt_class(o: &mut Obj) -> Result<Option<RtgsClass>> {
    match o.opt::<String>("rtgs_class")? {
        None => Ok(None),
        Some(name) => parse_class(&name, &o.field("rtgs_class")).map(Some),
    }
}
