//! Cash-manager policies: each bank decides, payment by payment, what to release from Queue 1.
//!
//! A new policy is one new type here: implement [`CashManagerPolicy`], write a builder that reads
//! its parameters, and add a line to [`REGISTRY`]. The config parser, state files and the Python
//! layer pick it up from there.

use serde_json::Value;

use crate::config::{check_range, Obj, PolicyConfig};
use crate::error::{EngineError, Loc, Result};
use crate::model::{Payment, MAX_AMOUNT};

/// What a policy does with one Queue 1 payment this tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Release,
    Hold,
    /// Split a divisible payment into this many equal parts and release them all.
    Split(u32),
    /// Cancel the payment (drop reason `policy`).
    Drop,
}

/// What a policy may look at when deciding.
#[derive(Debug, Clone, Copy)]
pub struct BankView {
    pub now: u32,
    pub balance: i64,
    pub credit_limit: i64,
    /// Balance after everything this bank already released this tick settles; `i128` because a
    /// bank may release more than `i64` holds in one tick.
    pub projected_balance: i128,
}

pub trait CashManagerPolicy: Send + Sync + std::fmt::Debug {
    /// Called for each Queue 1 payment in queue order (priority desc, arrival, tx_id).
    fn decide(&self, payment: &Payment, bank: &BankView) -> Decision;
}

/// Reads a policy's parameters (validating them, errors naming the field) and builds it.
type Builder = fn(&mut Obj) -> Result<Box<dyn CashManagerPolicy>>;

/// Every policy: its config `type`, its parameter keys, and its builder.
pub const REGISTRY: &[(&str, &[&str], Builder)] = &[
    ("Fifo", &[], |_| Ok(Box::new(Fifo))),
    ("Deadline", &["urgency_threshold"], |o| Ok(Box::new(Deadline { urgency_threshold: o.req("urgency_threshold")? }))),
    ("LiquidityAware", &["target_buffer", "urgency_threshold"], |o| {
        let target_buffer: i64 = o.req("target_buffer")?;
        check_range(target_buffer, 0, MAX_AMOUNT, &o.field("target_buffer"))?;
        Ok(Box::new(LiquidityAware { target_buffer, urgency_threshold: o.req("urgency_threshold")? }))
    }),
    ("Splitting", &["max_parts", "min_part"], |o| {
        let max_parts: u32 = o.req("max_parts")?;
        if !(2..=1000).contains(&max_parts) {
            return Err(EngineError::config(o.field("max_parts"), "must be between 2 and 1000"));
        }
        let min_part: i64 = o.req("min_part")?;
        check_range(min_part, 1, MAX_AMOUNT, &o.field("min_part"))?;
        Ok(Box::new(Splitting { max_parts, min_part }))
    }),
];

/// Build the policy described by a config mapping at `loc`.
pub fn build(v: &Value, loc: &Loc) -> Result<Box<dyn CashManagerPolicy>> {
    let mut o = Obj::new(v, loc)?;
    let kind: String = o.req("type")?;
    let Some((_, keys, builder)) = REGISTRY.iter().find(|(name, _, _)| *name == kind) else {
        let names: Vec<&str> = REGISTRY.iter().map(|(name, _, _)| *name).collect();
        return Err(EngineError::config(
            o.field("type"),
            format!("unknown policy '{kind}' (expected {})", names.join(", ")),
        ));
    };
    // An unknown key is most likely a misspelling: report it before the key it left missing.
    o.allow_only(keys)?;
    let policy = builder(&mut o)?;
    o.finish()?;
    Ok(policy)
}

/// Rebuild a configured (already validated) policy.
pub fn rebuild(cfg: &PolicyConfig) -> Result<Box<dyn CashManagerPolicy>> {
    let v: Value = serde_json::from_str(&cfg.json).map_err(|e| EngineError::State(format!("policy: {e}")))?;
    build(&v, &Loc::from("policy"))
}

/// Ticks left until the deadline (negative once late).
fn slack(p: &Payment, now: u32) -> i64 {
    p.deadline_tick as i64 - now as i64
}

/// Release everything at once: the benchmark of no liquidity management.
#[derive(Debug)]
pub struct Fifo;
impl CashManagerPolicy for Fifo {
    fn decide(&self, _: &Payment, _: &BankView) -> Decision {
        Decision::Release
    }
}

/// Hold payments until their deadline is near, economising on liquidity at the cost of delay.
#[derive(Debug)]
pub struct Deadline {
    pub urgency_threshold: u32,
}
impl CashManagerPolicy for Deadline {
    fn decide(&self, p: &Payment, b: &BankView) -> Decision {
        if slack(p, b.now) <= self.urgency_threshold as i64 {
            Decision::Release
        } else {
            Decision::Hold
        }
    }
}

/// Keep a liquidity buffer: release while the projected balance stays above it, or when urgent.
#[derive(Debug)]
pub struct LiquidityAware {
    pub target_buffer: i64,
    pub urgency_threshold: u32,
}
impl CashManagerPolicy for LiquidityAware {
    fn decide(&self, p: &Payment, b: &BankView) -> Decision {
        if b.projected_balance - p.amount as i128 >= self.target_buffer as i128
            || slack(p, b.now) <= self.urgency_threshold as i64
        {
            Decision::Release
        } else {
            Decision::Hold
        }
    }
}

/// Release what the projected balance (plus intraday credit) covers; split divisible payments
/// that do not fit, so that part of the value can move now.
#[derive(Debug)]
pub struct Splitting {
    pub max_parts: u32,
    pub min_part: i64,
}
impl CashManagerPolicy for Splitting {
    fn decide(&self, p: &Payment, b: &BankView) -> Decision {
        if b.projected_balance - p.amount as i128 >= -(b.credit_limit as i128) {
            return Decision::Release;
        }
        if !p.divisible {
            return Decision::Hold;
        }
        let parts = (p.amount / self.min_part).min(self.max_parts as i64);
        if parts >= 2 {
            Decision::Split(parts as u32)
        } else {
            Decision::Hold
        }
    }
}

/// Amounts of `parts` equal parts of `amount`; the remainder cents go to the first parts.
pub fn split_amounts(amount: i64, parts: u32) -> Vec<i64> {
    let n = parts as i64;
    let (q, r) = (amount / n, amount % n);
    (0..n).map(|i| q + i64::from(i < r)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pay(amount: i64, deadline: u32, divisible: bool) -> Payment {
        let mut p = Payment::new(0, 1, amount, 0, deadline);
        p.divisible = divisible;
        p
    }

    fn view(now: u32, projected: i64, credit: i64) -> BankView {
        BankView { now, balance: projected, credit_limit: credit, projected_balance: projected as i128 }
    }

    #[test]
    fn deadline_releases_within_threshold() {
        let d = Deadline { urgency_threshold: 3 };
        assert_eq!(d.decide(&pay(10, 10, false), &view(6, 0, 0)), Decision::Hold);
        assert_eq!(d.decide(&pay(10, 10, false), &view(7, 0, 0)), Decision::Release);
    }

    #[test]
    fn liquidity_aware_keeps_buffer_unless_urgent() {
        let l = LiquidityAware { target_buffer: 50, urgency_threshold: 2 };
        assert_eq!(l.decide(&pay(50, 100, false), &view(0, 100, 0)), Decision::Release);
        assert_eq!(l.decide(&pay(51, 100, false), &view(0, 100, 0)), Decision::Hold);
        assert_eq!(l.decide(&pay(500, 100, false), &view(98, 100, 0)), Decision::Release);
    }

    #[test]
    fn splitting_splits_only_divisible_misfits() {
        let s = Splitting { max_parts: 4, min_part: 30 };
        assert_eq!(s.decide(&pay(100, 9, false), &view(0, 100, 0)), Decision::Release);
        assert_eq!(s.decide(&pay(100, 9, false), &view(0, 40, 0)), Decision::Hold);
        assert_eq!(s.decide(&pay(100, 9, true), &view(0, 40, 0)), Decision::Split(3));
        assert_eq!(s.decide(&pay(50, 9, true), &view(0, 10, 0)), Decision::Hold);
        assert_eq!(s.decide(&pay(100, 9, true), &view(0, 40, 60)), Decision::Release);
    }

    #[test]
    fn split_amounts_sum_to_whole() {
        assert_eq!(split_amounts(100, 3), vec![34, 33, 33]);
        assert_eq!(split_amounts(100, 4).iter().sum::<i64>(), 100);
    }
}
