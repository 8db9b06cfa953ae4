//! Run-level figures (docs/semantics.md#metrics), computed from the payments and the ledger.

use std::sync::OnceLock;

use crate::error::{Loc, Result};
use crate::log::{reported, Costs, COST_NAMES, N_COSTS};
use crate::model::{DropReason, Payment, Status, DROP_REASON_NAMES, NONE, SETTLED_VIA_NAMES};
use crate::orchestrator::Orchestrator;
use crate::schema::{Field, FieldType};
use crate::{ENGINE_VERSION, SCHEMA_VERSION};

mod delay;
pub use delay::DelayRule;

#[derive(Debug, Clone, PartialEq)]
pub enum MetricValue {
    Int(i64),
    Float(f64),
    /// Undefined, e.g. a mean over no payments.
    Missing,
    Text(String),
}

/// One run-level figure: its name, its type, and how it is read off the run's [`Figures`].
pub struct Metric {
    pub name: String,
    pub ty: FieldType,
    value: Box<dyn Fn(&Figures) -> MetricValue + Send + Sync>,
}

fn metric(
    name: impl Into<String>,
    ty: FieldType,
    value: impl Fn(&Figures) -> MetricValue + Send + Sync + 'static,
) -> Metric {
    Metric { name: name.into(), ty, value: Box::new(value) }
}

/// Every metric, in output order: the one list of them. A new metric is one line here (plus
/// its line in docs/semantics.md); `metrics()`, the `runs` Parquet schema, the REST model and
/// the stubs all follow it.
pub fn metrics() -> &'static [Metric] {
    static TABLE: OnceLock<Vec<Metric>> = OnceLock::new();
    TABLE.get_or_init(|| {
        use FieldType::{Float64, Int64, NullableFloat64, Str};
        use MetricValue::*;
        let mut t = vec![
            metric("n_payments", Int64, |f| Int(f.n)),
            metric("value_payments", Int64, |f| Int(f.value)),
            metric("n_settled", Int64, |f| Int(f.n_settled)),
            metric("value_settled", Int64, |f| Int(f.value_settled)),
            metric("settlement_rate", NullableFloat64, |f| ratio(f.n_settled as f64, f.n as f64)),
            metric("value_settlement_rate", NullableFloat64, |f| ratio(f.value_settled as f64, f.value as f64)),
            metric("n_dropped", Int64, |f| Int(f.dropped.iter().sum())),
        ];
        for (reason, name) in DROP_REASON_NAMES.iter().enumerate().skip(1) {
            t.push(metric(format!("n_dropped_{name}"), Int64, move |f| Int(f.dropped[reason])));
        }
        t.push(metric("n_unsettled", Int64, |f| Int(f.n_unsettled)));
        t.push(metric("n_split", Int64, |f| Int(f.n_split)));
        t.push(metric("n_split_parts", Int64, |f| {
            Int(f.o.payments().iter().filter(|p| p.parent != NONE).count() as i64)
        }));
        for (via, name) in SETTLED_VIA_NAMES.iter().enumerate().skip(1) {
            t.push(metric(format!("n_settled_{name}"), Int64, move |f| Int(f.by_via[via].0)));
            t.push(metric(format!("value_settled_{name}"), Int64, move |f| Int(f.by_via[via].1)));
        }
        t.extend([
            metric("mean_delay_ticks", NullableFloat64, |f| ratio(f.delay_sum, f.n as f64)),
            metric("delay_indicator", NullableFloat64, |f| ratio(f.delay_num, f.delay_den)),
            metric("liquidity_used", Int64, |f| Int(f.liquidity_used)),
            metric("peak_credit_used", Int64, |f| Int(f.peak_credit)),
            metric("liquidity_lower_bound", Int64, |f| Int(f.lower)),
            metric("liquidity_upper_bound", Int64, |f| Int(f.upper)),
            metric("cost_total", Float64, |f| Float(f.costs.iter().sum())),
        ]);
        for (c, name) in COST_NAMES.iter().enumerate() {
            t.push(metric(format!("cost_{name}"), Float64, move |f| Float(f.costs[c])));
        }
        t.extend([
            metric("gridlock_ticks", Int64, |f| Int(f.o.gridlock_ticks() as i64)),
            metric("lsm_cycle_search_truncated", Int64, |f| Int(f.o.lsm_cycle_search_truncated() as i64)),
            metric("lsm_optimal_solved", Int64, |f| Int(f.o.lsm_optimal().solved as i64)),
            metric("lsm_optimal_time_limited", Int64, |f| Int(f.o.lsm_optimal().time_limited as i64)),
            metric("lsm_optimal_fallbacks", Int64, |f| Int(f.o.lsm_optimal().fallbacks as i64)),
            metric("lsm_optimal_max_gap", Float64, |f| Float(f.o.lsm_optimal().max_gap)),
            metric("lsm_optimum_share", NullableFloat64, |f| optimum_share(f.o)),
            metric("ticks_run", Int64, |f| Int(f.o.current_tick() as i64)),
            metric("engine_seconds", Float64, |f| Float(f.o.engine_seconds())),
            metric("engine_version", Str, |_| Text(ENGINE_VERSION.to_string())),
            metric("schema_version", Int64, |_| Int(SCHEMA_VERSION as i64)),
        ]);
        t
    })
}

/// Σ settled by the LSM ÷ Σ best known feasible value over the run's passes; only when
/// `lsm.measure_optimum` asked for it (docs/semantics.md#the-optimal-lsm).
fn optimum_share(o: &Orchestrator) -> MetricValue {
    if !o.config().lsm.measure_optimum {
        return MetricValue::Missing;
    }
    let s = o.lsm_optimal();
    ratio(s.share_settled as f64, s.share_best as f64)
}

/// The metrics' names and types, in output order.
pub fn schema() -> Vec<Field> {
    metrics().iter().map(|m| Field::new(m.name.clone(), m.ty)).collect()
}

/// A money metric summed in `i128`, reported as `i64` or a clean error (never saturated).
fn money_metric(x: i128, name: &str) -> Result<i64> {
    reported(x, || (Loc::root(), format!("metric {name}")))
}

fn ratio(num: f64, den: f64) -> MetricValue {
    if den > 0.0 {
        MetricValue::Float(num / den)
    } else {
        MetricValue::Missing
    }
}

/// Each bank's liquidity bounds for the payment stream that arrived (originals, not parts):
/// lower = max(0, net debit over the run); upper = peak cumulative net debit had every payment
/// settled on arrival (payments in arrival order, which is tx order). Summed, they are the
/// `liquidity_lower_bound` and `liquidity_upper_bound` metrics. A bound too large for `i64` is an
/// error naming the bank (see [`reported`]).
pub fn bank_liquidity_bounds(o: &Orchestrator) -> Result<Vec<(i64, i64)>> {
    let n = o.banks().len();
    let mut net_out = vec![0i128; n];
    let mut peak_out = vec![0i128; n];
    for p in o.payments().iter().filter(|p| p.parent == NONE) {
        let (s, r) = (p.sender as usize, p.receiver as usize);
        net_out[s] += p.amount as i128;
        net_out[r] -= p.amount as i128;
        peak_out[s] = peak_out[s].max(net_out[s]);
    }
    let bank = |b: usize, what: &'static str| move || (Loc::from("agent_configs").index(b), what.to_string());
    (0..n)
        .map(|b| {
            let lower = reported(net_out[b].max(0), bank(b, "liquidity lower bound"))?;
            Ok((lower, reported(peak_out[b], bank(b, "liquidity upper bound"))?))
        })
        .collect()
}

/// Outcome of an original payment: a split payment is settled once all its parts are, dropped
/// if any part was dropped, and otherwise still unsettled.
struct Outcome {
    settled_at: Option<u32>,
    dropped: Option<DropReason>,
}

fn outcomes(o: &Orchestrator) -> Vec<Option<Outcome>> {
    let ps = o.payments();
    let mut out: Vec<Option<Outcome>> = ps
        .iter()
        .map(|p| {
            (p.parent == NONE).then(|| Outcome {
                settled_at: (p.status == Status::Settled).then_some(p.settle_tick),
                dropped: (p.status == Status::Dropped).then_some(p.drop_reason),
            })
        })
        .collect();
    // A split original starts as "all parts settled" and each part can only take that back.
    for (o, p) in out.iter_mut().zip(ps) {
        if let (Some(o), Status::Split) = (o.as_mut(), p.status) {
            o.settled_at = Some(p.arrival_tick);
        }
    }
    // Parts are never divisible, so a part's parent is always an original.
    for p in ps.iter().filter(|p| p.parent != NONE) {
        let Some(o) = out[p.parent as usize].as_mut() else { continue };
        match p.status {
            Status::Settled => o.settled_at = o.settled_at.map(|t| t.max(p.settle_tick)),
            Status::Dropped => o.dropped = o.dropped.or(Some(p.drop_reason)),
            _ => o.settled_at = None,
        }
    }
    out
}

/// What the metrics are read from: one pass over the payments and the ledger.
pub struct Figures<'a> {
    o: &'a Orchestrator,
    n: i64,
    value: i64,
    n_settled: i64,
    value_settled: i64,
    n_unsettled: i64,
    n_split: i64,
    /// Count and value settled, by [`crate::model::SettledVia`] code.
    by_via: [(i64, i64); SETTLED_VIA_NAMES.len()],
    /// Originals dropped, by [`DropReason`] code.
    dropped: [i64; DROP_REASON_NAMES.len()],
    delay_sum: f64,
    delay_num: f64,
    delay_den: f64,
    liquidity_used: i64,
    peak_credit: i64,
    lower: i64,
    upper: i64,
    costs: Costs,
}

/// Compute every metric. Counts, rates and delays are per original payment (a split payment
/// counts once, settled when its last part settles), so cells with and without splitting share a
/// denominator under common random numbers. Values and the by-means figures count what actually
/// moved: parts included. A money figure too large for `i64` is an error (see [`reported`]).
pub fn compute(o: &Orchestrator) -> Result<Vec<(&'static str, MetricValue)>> {
    let f = figures(o)?;
    Ok(metrics()
        .iter()
        .map(|m| {
            let v = (m.value)(&f);
            debug_assert!(admits(m.ty, &v), "metric {} does not fit its type {}", m.name, m.ty.name());
            (m.name.as_str(), v)
        })
        .collect())
}

fn admits(ty: FieldType, v: &MetricValue) -> bool {
    matches!(
        (ty, v),
        (FieldType::Int64, MetricValue::Int(_))
            | (FieldType::Float64 | FieldType::NullableFloat64, MetricValue::Float(_))
            | (FieldType::NullableFloat64, MetricValue::Missing)
            | (FieldType::Str, MetricValue::Text(_))
    )
}

fn figures(o: &Orchestrator) -> Result<Figures<'_>> {
    let rule = DelayRule::of(o);
    let moved = moved(o.payments(), rule);
    let originals = originals(o, rule);
    let value_settled: i128 = moved.by_via[1..].iter().map(|x| x.1).sum();
    let mut by_via = [(0i64, 0i64); SETTLED_VIA_NAMES.len()];
    for ((name, (count, value)), out) in SETTLED_VIA_NAMES.iter().zip(moved.by_via).zip(&mut by_via).skip(1) {
        *out = (count, money_metric(value, &format!("value_settled_{name}"))?);
    }
    // Per bank: max over ticks of (opening − end-of-tick balance), floored at 0; summed. Each term
    // is at most opening + credit, whose total the config keeps ≤ i64::MAX / 4: these sums fit.
    let liquidity_used: i64 = o.banks().iter().map(|b| (b.opening_balance - b.min_tick_balance).max(0)).sum();
    let peak_credit: i64 = o.banks().iter().map(|b| (-b.min_tick_balance).max(0)).sum();
    let bounds = bank_liquidity_bounds(o)?;
    let lower: i128 = bounds.iter().map(|b| b.0 as i128).sum();
    let upper: i128 = bounds.iter().map(|b| b.1 as i128).sum();
    Ok(Figures {
        o,
        n: originals.n,
        value: money_metric(originals.value, "value_payments")?,
        n_settled: originals.n_settled,
        value_settled: money_metric(value_settled, "value_settled")?,
        n_unsettled: originals.n_unsettled,
        n_split: moved.n_split,
        by_via,
        dropped: originals.dropped,
        delay_sum: originals.delay_sum,
        delay_num: moved.delay_num,
        delay_den: moved.delay_den,
        liquidity_used,
        peak_credit,
        lower: money_metric(lower, "liquidity_lower_bound")?,
        upper: money_metric(upper, "liquidity_upper_bound")?,
        costs: total_costs(o),
    })
}

/// What the payment records that move (parts and unsplit originals) add up to.
struct Moved {
    /// Originals split into parts (their parts are the records that move).
    n_split: i64,
    /// Count and value settled, by [`crate::model::SettledVia`] code; values in `i128`.
    by_via: [(i64, i128); SETTLED_VIA_NAMES.len()],
    /// The delay indicator's numerator and denominator, value-weighted ([`DelayRule`]).
    delay_num: f64,
    delay_den: f64,
}

fn moved(ps: &[Payment], rule: DelayRule) -> Moved {
    let mut m = Moved { n_split: 0, by_via: [(0, 0); SETTLED_VIA_NAMES.len()], delay_num: 0.0, delay_den: 0.0 };
    for p in ps {
        match p.status {
            Status::Split => {
                m.n_split += 1;
                continue;
            }
            Status::Settled => {
                let via = &mut m.by_via[p.settled_via as usize];
                via.0 += 1;
                via.1 += p.amount as i128;
            }
            _ => {}
        }
        let v = p.amount as f64;
        let settled_at = (p.status == Status::Settled).then_some(p.settle_tick);
        m.delay_den += v * rule.most(p.arrival_tick) as f64;
        m.delay_num += v * rule.ticks(p.arrival_tick, settled_at) as f64;
    }
    m
}

/// What the original payments add up to: counts by outcome, and the delay sum.
struct Originals {
    n: i64,
    value: i128,
    n_settled: i64,
    n_unsettled: i64,
    /// Dropped, by [`DropReason`] code.
    dropped: [i64; DROP_REASON_NAMES.len()],
    delay_sum: f64,
}

fn originals(o: &Orchestrator, rule: DelayRule) -> Originals {
    let mut out = Originals {
        n: 0,
        value: 0,
        n_settled: 0,
        n_unsettled: 0,
        dropped: [0; DROP_REASON_NAMES.len()],
        delay_sum: 0.0,
    };
    for (p, outcome) in o.payments().iter().zip(outcomes(o)) {
        let Some(outcome) = outcome else { continue };
        out.n += 1;
        out.value += p.amount as i128;
        // A split payment with a dropped part never settled as a whole.
        let settled_at = if outcome.dropped.is_some() { None } else { outcome.settled_at };
        out.delay_sum += rule.ticks(p.arrival_tick, settled_at) as f64;
        match (outcome.dropped, settled_at) {
            (Some(reason), _) => out.dropped[reason as usize] += 1,
            (None, Some(_)) => out.n_settled += 1,
            (None, None) => out.n_unsettled += 1,
        }
    }
    out
}

/// Every cost component, summed over banks.
fn total_costs(o: &Orchestrator) -> Costs {
    let mut costs = [0f64; N_COSTS];
    for bank in o.bank_costs() {
        for c in 0..N_COSTS {
            costs[c] += bank[c];
        }
    }
    costs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{EngineConfig, NoFiles};
    use serde_json::json;

    fn get(m: &[(&str, MetricValue)], name: &str) -> MetricValue {
        m.iter().find(|x| x.0 == name).unwrap().1.clone()
    }

    #[test]
    fn undefined_figures_are_missing_not_zero() {
        let cfg = json!({"ticks_per_day": 2, "rng_seed": 0, "agent_configs": [
            {"id": "A", "opening_balance": 0, "policy": {"type": "Fifo"}}]});
        let o = Orchestrator::new(EngineConfig::from_value(&cfg, &NoFiles).unwrap()).unwrap();
        let m = compute(&o).unwrap();
        assert_eq!(get(&m, "settlement_rate"), MetricValue::Missing);
        assert_eq!(get(&m, "delay_indicator"), MetricValue::Missing);
        assert_eq!(get(&m, "n_payments"), MetricValue::Int(0));
        let names: Vec<&str> = metrics().iter().map(|m| m.name.as_str()).collect();
        assert_eq!(m.iter().map(|x| x.0).collect::<Vec<_>>(), names);
    }

    #[test]
    fn a_split_payment_counts_once_and_settles_with_its_last_part() {
        let cfg = json!({"ticks_per_day": 4, "rng_seed": 0, "lsm": {"mode": "none"}, "agent_configs": [
            {"id": "A", "opening_balance": 60, "policy": {"type": "Splitting", "max_parts": 2, "min_part": 10}},
            {"id": "B", "opening_balance": 0, "policy": {"type": "Fifo"}}],
            "scheduled_payments": [{"sender": "A", "receiver": "B", "amount": 100, "arrival_tick": 0, "divisible": true},
                                   {"sender": "B", "receiver": "A", "amount": 40, "arrival_tick": 2}]});
        let mut o = Orchestrator::new(EngineConfig::from_value(&cfg, &NoFiles).unwrap()).unwrap();
        o.run(|| true).unwrap();
        // Parts of 50: one at tick 0; B's 40 at tick 2 lets A pay the second part (A: 10 + 40 = 50).
        let m = compute(&o).unwrap();
        assert_eq!(get(&m, "n_payments"), MetricValue::Int(2));
        assert_eq!(get(&m, "n_settled"), MetricValue::Int(2));
        assert_eq!(get(&m, "n_split"), MetricValue::Int(1));
        assert_eq!(get(&m, "n_split_parts"), MetricValue::Int(2));
        assert_eq!(get(&m, "n_settled_rtgs"), MetricValue::Int(2));
        assert_eq!(get(&m, "n_settled_queue"), MetricValue::Int(1));
        // Mean delay per original: the split payment took 2 ticks, B's none.
        assert_eq!(get(&m, "mean_delay_ticks"), MetricValue::Float(1.0));
    }
}
