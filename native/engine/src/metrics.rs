//! Run-level figures (SPEC §4 `runs`), computed from the payments and the ledger.

use crate::log::COST_NAMES;
use crate::model::{DropReason, SettledVia, Status, NONE};
use crate::orchestrator::Orchestrator;
use crate::{ENGINE_VERSION, SCHEMA_VERSION};

#[derive(Debug, Clone, PartialEq)]
pub enum MetricValue {
    Int(i64),
    Float(f64),
    /// Undefined, e.g. a mean over no payments.
    Missing,
    Text(String),
}

/// Names of the metrics, in output order.
pub const METRIC_NAMES: [&str; 39] = [
    "n_payments",
    "value_payments",
    "n_settled",
    "value_settled",
    "settlement_rate",
    "value_settlement_rate",
    "n_dropped",
    "n_dropped_deadline",
    "n_dropped_eod",
    "n_dropped_policy",
    "n_unsettled",
    "n_split",
    "n_settled_rtgs",
    "value_settled_rtgs",
    "n_settled_queue",
    "value_settled_queue",
    "n_settled_bilateral",
    "value_settled_bilateral",
    "n_settled_multilateral",
    "value_settled_multilateral",
    "mean_delay_ticks",
    "delay_indicator",
    "liquidity_used",
    "peak_credit_used",
    "liquidity_lower_bound",
    "liquidity_upper_bound",
    "cost_total",
    "cost_liquidity",
    "cost_delay",
    "cost_collateral",
    "cost_split",
    "cost_deadline",
    "cost_eod",
    "gridlock_ticks",
    "lsm_cycle_search_truncated",
    "ticks_run",
    "engine_seconds",
    "engine_version",
    "schema_version",
];

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
/// `liquidity_lower_bound` and `liquidity_upper_bound` metrics.
pub fn bank_liquidity_bounds(o: &Orchestrator) -> Vec<(i64, i64)> {
    let n = o.banks().len();
    let mut net_out = vec![0i128; n];
    let mut peak_out = vec![0i128; n];
    for p in o.payments().iter().filter(|p| p.parent == NONE) {
        let (s, r) = (p.sender as usize, p.receiver as usize);
        net_out[s] += p.amount as i128;
        net_out[r] -= p.amount as i128;
        peak_out[s] = peak_out[s].max(net_out[s]);
    }
    let clamp = |x: i128| x.clamp(0, i64::MAX as i128) as i64;
    net_out.iter().zip(&peak_out).map(|(l, u)| (clamp(*l), clamp(*u))).collect()
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

/// Compute every metric. Counts, rates and delays are per original payment (a split payment
/// counts once, settled when its last part settles), so cells with and without splitting share a
/// denominator under common random numbers. Values and the by-means figures count what actually
/// moved: parts included.
pub fn compute(o: &Orchestrator) -> Vec<(&'static str, MetricValue)> {
    use MetricValue::*;
    let tpd = o.config().ticks_per_day;
    let ps = o.payments();
    let (mut n, mut value, mut n_split, mut n_unsettled, mut n_settled) = (0i64, 0i128, 0i64, 0i64, 0i64);
    let mut by_via = [(0i64, 0i128); 5];
    let mut dropped = [0i64; 4];
    let (mut delay_sum, mut delay_num, mut delay_den) = (0f64, 0f64, 0f64);
    let day_end = |arrival: u32| (arrival / tpd) * tpd + tpd - 1;
    for p in ps {
        match p.status {
            Status::Split => {
                n_split += 1;
                continue;
            }
            Status::Settled => {
                let via = &mut by_via[p.settled_via as usize];
                via.0 += 1;
                via.1 += p.amount as i128;
            }
            _ => {}
        }
        // Value-weighted delay over what moves (parts carry their own value).
        let v = p.amount as f64;
        let max_delay = (day_end(p.arrival_tick) - p.arrival_tick) as f64;
        delay_den += v * max_delay;
        delay_num += v * match p.status {
            Status::Settled => ((p.settle_tick - p.arrival_tick) as f64).min(max_delay),
            _ => max_delay,
        };
    }
    for (p, outcome) in ps.iter().zip(outcomes(o)) {
        let Some(outcome) = outcome else { continue };
        n += 1;
        value += p.amount as i128;
        let max_delay = (day_end(p.arrival_tick) - p.arrival_tick) as f64;
        // Unsettled payments count as maximal delay (to the end of their arrival day).
        match (outcome.dropped, outcome.settled_at) {
            (Some(reason), _) => {
                dropped[reason as usize] += 1;
                delay_sum += max_delay;
            }
            (None, Some(t)) => {
                n_settled += 1;
                delay_sum += (t - p.arrival_tick) as f64;
            }
            (None, None) => {
                n_unsettled += 1;
                delay_sum += max_delay;
            }
        }
    }
    let value_settled: i128 = by_via[1..].iter().map(|x| x.1).sum();
    // Per bank: max over ticks of (opening − end-of-tick balance), floored at 0; summed.
    let liquidity_used: i64 = o.banks().iter().map(|b| (b.opening_balance - b.min_tick_balance).max(0)).sum();
    let peak_credit: i64 = o.banks().iter().map(|b| (-b.min_tick_balance).max(0)).sum();
    let bounds = bank_liquidity_bounds(o);
    let lower: i128 = bounds.iter().map(|b| b.0 as i128).sum();
    let upper: i128 = bounds.iter().map(|b| b.1 as i128).sum();
    let mut costs = [0f64; 6];
    for bank in o.bank_costs() {
        for c in 0..COST_NAMES.len() {
            costs[c] += bank[c];
        }
    }
    let int = |x: i128| Int(x.clamp(i64::MIN as i128, i64::MAX as i128) as i64);
    let means = |via: SettledVia| by_via[via as usize];
    let mut out: Vec<(&'static str, MetricValue)> = vec![
        ("n_payments", Int(n)),
        ("value_payments", int(value)),
        ("n_settled", Int(n_settled)),
        ("value_settled", int(value_settled)),
        ("settlement_rate", ratio(n_settled as f64, n as f64)),
        ("value_settlement_rate", ratio(value_settled as f64, value as f64)),
        ("n_dropped", Int(dropped.iter().sum())),
        ("n_dropped_deadline", Int(dropped[DropReason::Deadline as usize])),
        ("n_dropped_eod", Int(dropped[DropReason::Eod as usize])),
        ("n_dropped_policy", Int(dropped[DropReason::Policy as usize])),
        ("n_unsettled", Int(n_unsettled)),
        ("n_split", Int(n_split)),
    ];
    for (name_n, name_v, via) in [
        ("n_settled_rtgs", "value_settled_rtgs", SettledVia::Rtgs),
        ("n_settled_queue", "value_settled_queue", SettledVia::Queue),
        ("n_settled_bilateral", "value_settled_bilateral", SettledVia::Bilateral),
        ("n_settled_multilateral", "value_settled_multilateral", SettledVia::Multilateral),
    ] {
        out.push((name_n, Int(means(via).0)));
        out.push((name_v, int(means(via).1)));
    }
    out.extend([
        ("mean_delay_ticks", ratio(delay_sum, n as f64)),
        ("delay_indicator", ratio(delay_num, delay_den)),
        ("liquidity_used", Int(liquidity_used)),
        ("peak_credit_used", Int(peak_credit)),
        ("liquidity_lower_bound", int(lower)),
        ("liquidity_upper_bound", int(upper)),
        ("cost_total", Float(costs.iter().sum())),
    ]);
    for (c, name) in ["cost_liquidity", "cost_delay", "cost_collateral", "cost_split", "cost_deadline", "cost_eod"]
        .into_iter()
        .enumerate()
    {
        out.push((name, Float(costs[c])));
    }
    out.extend([
        ("gridlock_ticks", Int(o.gridlock_ticks() as i64)),
        ("lsm_cycle_search_truncated", Int(o.lsm_cycle_search_truncated() as i64)),
        ("ticks_run", Int(o.current_tick() as i64)),
        ("engine_seconds", Float(o.engine_seconds())),
        ("engine_version", Text(ENGINE_VERSION.to_string())),
        ("schema_version", Int(SCHEMA_VERSION as i64)),
    ]);
    debug_assert_eq!(out.iter().map(|x| x.0).collect::<Vec<_>>(), METRIC_NAMES.to_vec());
    out
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
        let m = compute(&o);
        assert_eq!(get(&m, "settlement_rate"), MetricValue::Missing);
        assert_eq!(get(&m, "delay_indicator"), MetricValue::Missing);
        assert_eq!(get(&m, "n_payments"), MetricValue::Int(0));
        assert_eq!(m.iter().map(|x| x.0).collect::<Vec<_>>(), METRIC_NAMES.to_vec());
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
        let m = compute(&o);
        assert_eq!(get(&m, "n_payments"), MetricValue::Int(2));
        assert_eq!(get(&m, "n_settled"), MetricValue::Int(2));
        assert_eq!(get(&m, "n_split"), MetricValue::Int(1));
        assert_eq!(get(&m, "n_settled_rtgs"), MetricValue::Int(2));
        assert_eq!(get(&m, "n_settled_queue"), MetricValue::Int(1));
        // Mean delay per original: the split payment took 2 ticks, B's none.
        assert_eq!(get(&m, "mean_delay_ticks"), MetricValue::Float(1.0));
    }
}
