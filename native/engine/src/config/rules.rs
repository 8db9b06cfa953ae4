//! Config of the T2 settlement rules (docs/semantics.md#t2-settlement-rules): payment classes,
//! sender limits and liquidity reservations. Each is optional; absent, settlement is as before.

use serde::{Deserialize, Serialize};

use super::read::{check_range, FromValue, Obj};
use crate::error::{EngineError, Loc, Result};
use crate::model::{RtgsClass, MAX_AMOUNT, RTGS_CLASS_NAMES};

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

/// A bank's sender limits (`agent_configs[i].limits`), by counterparty id as configured.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct LimitsConfig {
    /// Limit on the net sending position towards each listed bank.
    pub bilateral: Vec<(String, i64)>,
    /// Limit on the net sending position towards all banks without a bilateral limit.
    pub multilateral: Option<i64>,
}

/// A bank's liquidity reservations (`agent_configs[i].reservations`).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReservationsConfig {
    /// Held back from urgent and normal payments.
    pub highly_urgent: i64,
    /// Held back from normal payments (on top of the highly urgent reservation).
    pub urgent: i64,
}

fn amount(o: &mut Obj, key: &'static str) -> Result<Option<i64>> {
    let x: Option<i64> = o.opt(key)?;
    if let Some(x) = x {
        check_range(x, 0, MAX_AMOUNT, &o.field(key))?;
    }
    Ok(x)
}

/// The optional `limits` and `reservations` of an agent; bank ids are checked by [`check_limits`]
/// once every bank is known.
pub(super) fn parse_agent_rules(o: &mut Obj) -> Result<(Option<LimitsConfig>, Option<ReservationsConfig>)> {
    let limits = match o.take("limits") {
        None => None,
        Some(v) => {
            let loc = o.field("limits");
            let mut l = Obj::new(v, &loc)?;
            let mut bilateral = Vec::new();
            if let Some(b) = l.take("bilateral") {
                let bloc = loc.key("bilateral");
                let map = b
                    .as_object()
                    .ok_or_else(|| EngineError::config(bloc.clone(), "expected a mapping of bank id to amount"))?;
                for (id, x) in map {
                    let x: i64 = FromValue::from_value(x, &bloc.key(id))?;
                    check_range(x, 0, MAX_AMOUNT, &bloc.key(id))?;
                    bilateral.push((id.clone(), x));
                }
            }
            let multilateral = amount(&mut l, "multilateral")?;
            l.finish()?;
            Some(LimitsConfig { bilateral, multilateral })
        }
    };
    let reservations = match o.take("reservations") {
        None => None,
        Some(v) => {
            let mut r = Obj::new(v, &o.field("reservations"))?;
            let highly_urgent = amount(&mut r, "highly_urgent")?.unwrap_or(0);
            let urgent = amount(&mut r, "urgent")?.unwrap_or(0);
            r.finish()?;
            Some(ReservationsConfig { highly_urgent, urgent })
        }
    };
    Ok((limits, reservations))
}

/// Every bilateral limit names a known bank other than its owner.
pub(super) fn check_limits(
    limits: &LimitsConfig,
    bank: usize,
    index: &std::collections::HashMap<&str, usize>,
    loc: &Loc,
) -> Result<()> {
    for (id, _) in &limits.bilateral {
        let at = loc.key("bilateral").key(id);
        match index.get(id.as_str()) {
            None => return Err(EngineError::UnknownBank { loc: at, id: id.clone() }),
            Some(&j) if j == bank => return Err(EngineError::config(at, "a bank cannot limit payments to itself")),
            _ => {}
        }
    }
    Ok(())
}
