//! How long a payment counts as delayed in `mean_delay_ticks` and `delay_indicator`
//! (docs/semantics.md#metrics).

use crate::config::EodUnsettled;
use crate::orchestrator::Orchestrator;

/// A settled payment counts its true delay, settle − arrival. One that never settles (dropped, or
/// still queued) counts as delayed until its *horizon*, the last tick at which it could still have
/// settled: the close of its arrival day under `end_of_day: drop`, where it is dropped at the
/// latest, and the last tick of the run under `carry`, where it waits on. A payment settles by its
/// horizon at the latest, so never settling always scores at least as badly as settling late.
///
/// The horizon is fixed by the config, not by how far the run has got: a figure taken mid-run
/// counts a queued payment as if it never settles (as `drop` always has), each payment's weight in
/// the delay indicator never changes during the run, and a one-day `carry` run scores exactly as
/// the same run under `drop`.
#[derive(Clone, Copy, Debug)]
pub struct DelayRule {
    ticks_per_day: u32,
    /// The run's last tick, under `carry`; `None` under `drop`.
    run_end: Option<u32>,
}

impl DelayRule {
    pub fn of(o: &Orchestrator) -> Self {
        let c = o.config();
        // The config keeps ticks_per_day × num_days ≤ u32::MAX / 2, and both are ≥ 1.
        let last_tick = (c.total_ticks() - 1) as u32;
        DelayRule {
            ticks_per_day: c.ticks_per_day,
            run_end: (c.eod_unsettled == EodUnsettled::Carry).then_some(last_tick),
        }
    }

    /// The last tick at which a payment arriving at `arrival` can settle.
    pub fn horizon(&self, arrival: u32) -> u32 {
        let tpd = self.ticks_per_day;
        self.run_end.unwrap_or((arrival / tpd) * tpd + tpd - 1)
    }

    /// The most delay a payment arriving at `arrival` can count: its weight, per unit of value, in
    /// the delay indicator's denominator.
    pub fn most(&self, arrival: u32) -> u32 {
        self.horizon(arrival) - arrival
    }

    /// Ticks counted as delay for a payment arriving at `arrival` and settled at `settled_at`
    /// (`None`: never settled).
    pub fn ticks(&self, arrival: u32, settled_at: Option<u32>) -> u32 {
        settled_at.unwrap_or_else(|| self.horizon(arrival)) - arrival
    }
}
