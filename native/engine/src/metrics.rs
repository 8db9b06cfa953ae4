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
pub const METRIC_NAMES: [&str; 38] = [
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

/// Compute every metric. Payments replaced by their parts (split) are not counted themselves:
/// their parts are.
pub fn compute(o: &Orchestrator) -> Vec<(&'static str, MetricValue)> {
    use MetricValue::*;
    let tpd = o.config().ticks_per_day;
    let n_banks = o.banks().len();
    let (mut n, mut value, mut n_split, mut n_unsettled) = (0i64, 0i128, 0i64, 0i64);
    let mut by_via = [(0i64, 0i128); 5];
    let mut dropped = [0i64; 4];
    let (mut delay_sum, mut delay_num, mut delay_den) = (0f64, 0f64, 0f64);
    // Liquidity bounds of the payment stream as it arrived (originals, not parts).
    let mut net_out = vec![0i128; n_banks];
    let mut peak_out = vec![0i128; n_banks];
    for p in o.payments() {
        if p.parent == NONE {
            let (s, r) = (p.sender as usize, p.receiver as usize);
            net_out[s] += p.amount as i128;
            net_out[r] -= p.amount as i128;
            peak_out[s] = peak_out[s].max(net_out[s]);
        }
        if p.status == Status::Split {
            n_split += 1;
            continue;
        }
        n += 1;
        value += p.amount as i128;
        let v = p.amount as f64;
        let day_end = (p.arrival_tick / tpd) * tpd + tpd - 1;
        let max_delay = (day_end - p.arrival_tick) as f64;
        delay_den += v * max_delay;
        match p.status {
            Status::Settled => {
                let via = &mut by_via[p.settled_via as usize];
                via.0 += 1;
                via.1 += p.amount as i128;
                let d = (p.settle_tick - p.arrival_tick) as f64;
                delay_sum += d;
                delay_num += v * d.min(max_delay);
            }
            Status::Dropped => {
                dropped[p.drop_reason as usize] += 1;
                delay_num += v * max_delay;
            }
            _ => {
                n_unsettled += 1;
                delay_num += v * max_delay;
            }
        }
    }
    let n_settled: i64 = by_via[1..].iter().map(|x| x.0).sum();
    let value_settled: i128 = by_via[1..].iter().map(|x| x.1).sum();
    // Per bank: max over ticks of (opening − end-of-tick balance), floored at 0; summed.
    let liquidity_used: i64 = o.banks().iter().map(|b| (b.opening_balance - b.min_tick_balance).max(0)).sum();
    let peak_credit: i64 = o.banks().iter().map(|b| (-b.min_tick_balance).max(0)).sum();
    let lower: i128 = net_out.iter().map(|x| (*x).max(0)).sum();
    let upper: i128 = peak_out.iter().sum();
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
        ("mean_delay_ticks", ratio(delay_sum, n_settled as f64)),
        ("delay_indicator", ratio(delay_num, delay_den)),
        ("liquidity_used", Int(liquidity_used)),
        ("peak_credit_used", Int(peak_credit)),
        ("liquidity_lower_bound", int(lower)),
        ("liquidity_upper_bound", int(upper)),
        ("cost_total", Float(costs.iter().sum())),
    ]);
    for (c, name) in ["cost_liquidity", "cost_delay", "cost_collateral", "cost_split", "cost_deadline", "cost_eod"].into_iter().enumerate() {
        out.push((name, Float(costs[c])));
    }
    out.extend([
        ("gridlock_ticks", Int(o.gridlock_ticks() as i64)),
        ("ticks_run", Int(o.current_tick() as i64)),
        ("engine_seconds", Float(o.engine_seconds())),
        ("engine_version", Text(ENGINE_VERSION.to_string())),
        ("schema_version", Int(SCHEMA_VERSION as i64)),
    ]);
    debug_assert_eq!(out.iter().map(|x| x.0).collect::<Vec<_>>(), METRIC_NAMES.to_vec());
    out
}
