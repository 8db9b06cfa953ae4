//! `tick_log`: at which ticks the tick log (the `ticks` table) has its rows
//! (docs/semantics.md#tick-log-sampling). The transaction log and the metrics never depend on it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::read::{check_range, Obj};
use crate::error::{EngineError, Loc, Result};

/// Which ticks get a row per bank. The last tick of every day always does, so a row never
/// covers ticks of two days and per-day sums of the flow columns are those of the full log.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum TickLogging {
    /// Every `k`-th tick of the day (its ticks `k − 1`, `2k − 1`, …, counted from the day's first)
    /// and the day's last; `Every(1)`, the default, is every tick.
    Every(u32),
    /// Only the last tick of each day.
    DayEnd,
}

impl Default for TickLogging {
    fn default() -> Self {
        TickLogging::Every(1)
    }
}

/// The `at` choices, each spelt once (parser and restored configs).
pub const TICK_LOG_POINTS: &[(&str, TickLogging)] = &[("day_end", TickLogging::DayEnd)];

/// Largest `every`: the longest run has 2³¹ − 1 ticks, so any larger step would log day ends only.
const MAX_EVERY: i64 = i32::MAX as i64;

impl TickLogging {
    /// Whether tick `now` gets its rows in the log.
    pub fn logs(self, now: u32, ticks_per_day: u32) -> bool {
        let in_day = now % ticks_per_day + 1;
        in_day == ticks_per_day || matches!(self, TickLogging::Every(k) if in_day.is_multiple_of(k))
    }

    /// The ticks [`TickLogging::logs`] is true of, in order from tick 0: a restored log is checked
    /// against them in time proportional to its rows, however sparse they are.
    pub fn logged_ticks(self, ticks_per_day: u32) -> impl Iterator<Item = u32> + Clone {
        let step = match self {
            TickLogging::Every(k) => k.min(ticks_per_day),
            TickLogging::DayEnd => ticks_per_day,
        };
        let last = (!ticks_per_day.is_multiple_of(step)).then_some(ticks_per_day - 1);
        (0u32..).flat_map(move |day| {
            let start = day * ticks_per_day;
            (1..=ticks_per_day / step).map(move |j| start + j * step - 1).chain(last.map(|t| start + t))
        })
    }
}

/// `tick_log: {every: k}` (an integer ≥ 1) or `tick_log: {at: day_end}`; absent or `{}` is every tick.
pub(super) fn parse_tick_log(v: &Value, loc: &Loc) -> Result<TickLogging> {
    let mut o = Obj::new(v, loc)?;
    // Read as i64 so a negative step is reported against the step's own bounds.
    let every: Option<i64> = o.opt("every")?;
    let at = o.opt::<String>("at")?;
    if let Some(k) = every {
        check_range(k, 1, MAX_EVERY, &o.field("every"))?;
    }
    let logging = match (every, at) {
        (Some(_), Some(_)) => {
            return Err(EngineError::config(loc.clone(), "give either every or at, not both"));
        }
        (Some(k), None) => TickLogging::Every(k as u32),
        (None, None) => TickLogging::default(),
        (None, Some(name)) => {
            let found = TICK_LOG_POINTS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t);
            found.ok_or_else(|| {
                let names: Vec<&str> = TICK_LOG_POINTS.iter().map(|(n, _)| *n).collect();
                EngineError::config(
                    o.field("at"),
                    format!("unknown tick-log point '{name}' (expected {})", names.join(", ")),
                )
            })?
        }
    };
    o.finish()?;
    Ok(logging)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> std::result::Result<TickLogging, String> {
        parse_tick_log(&v, &Loc::from("tick_log")).map_err(|e| e.to_string())
    }

    #[test]
    fn every_k_logs_each_kth_tick_of_the_day_and_its_last() {
        let logged: Vec<u32> = (0..20).filter(|&t| TickLogging::Every(3).logs(t, 10)).collect();
        assert_eq!(logged, [2, 5, 8, 9, 12, 15, 18, 19]);
        let ends: Vec<u32> = (0..20).filter(|&t| TickLogging::DayEnd.logs(t, 10)).collect();
        assert_eq!(ends, [9, 19]);
        assert!((0..20).all(|t| TickLogging::Every(1).logs(t, 10)));
        assert_eq!((0..20).filter(|&t| TickLogging::Every(50).logs(t, 10)).count(), 2);
    }

    #[test]
    fn logged_ticks_are_the_ticks_logs_accepts() {
        for logging in [1, 2, 3, 4, 7, 10, 11, 100].map(TickLogging::Every).into_iter().chain([TickLogging::DayEnd]) {
            for tpd in [1, 2, 5, 10, 12] {
                let listed: Vec<u32> = logging.logged_ticks(tpd).take_while(|&t| t < 60).collect();
                let filtered: Vec<u32> = (0..60).filter(|&t| logging.logs(t, tpd)).collect();
                assert_eq!(listed, filtered, "{logging:?}, {tpd} ticks a day");
            }
        }
    }

    #[test]
    fn shapes_parse_and_bad_values_name_the_field() {
        assert_eq!(parse(json!({})), Ok(TickLogging::Every(1)));
        assert_eq!(parse(json!({"every": 5})), Ok(TickLogging::Every(5)));
        assert_eq!(parse(json!({"every": 5.0})), Ok(TickLogging::Every(5)));
        assert_eq!(parse(json!({"at": "day_end"})), Ok(TickLogging::DayEnd));
        assert_eq!(parse(json!({"every": 0})), Err("tick_log.every: must be between 1 and 2147483647, got 0".into()));
        assert_eq!(parse(json!({"every": -2})), Err("tick_log.every: must be between 1 and 2147483647, got -2".into()));
        assert_eq!(parse(json!({"every": 2.5})), Err("tick_log.every: expected an integer, got a float".into()));
        assert_eq!(parse(json!({"every": "2"})), Err("tick_log.every: expected an integer, got a string".into()));
        assert_eq!(
            parse(json!({"at": "noon"})),
            Err("tick_log.at: unknown tick-log point 'noon' (expected day_end)".into())
        );
        assert_eq!(
            parse(json!({"every": 2, "at": "day_end"})),
            Err("tick_log: give either every or at, not both".into())
        );
        assert!(parse(json!({"each": 2})).unwrap_err().starts_with("tick_log.each: unknown key"));
        assert_eq!(parse(json!(3)), Err("tick_log: expected a mapping, got an integer".into()));
    }
}
