//! What the engine records: the tick result and agent states it reports, this tick's per-bank
//! accounts, and the logs (one row per tick and bank, one per payment), kept as columns so they
//! reach Python and Parquet without per-row objects.

use serde::{Deserialize, Serialize};

use crate::error::{EngineError, Loc, Result};
use crate::model::{Bank, Payment, SettledVia, DROP_REASON_NAMES, NONE, N_MEANS, SETTLED_VIA_NAMES, STATUS_NAMES};
use crate::schema::{columns_schema, Column, Field};

/// A money figure as the logs, tick results and metrics report it: a 64-bit integer. Sums of
/// money are kept in `i128` so none can wrap; one too large to report stops with a clean error
/// located at `at()` (a location and the figure's name), never cut or wrapped
/// (docs/semantics.md#engine-configuration).
pub fn reported(value: i128, at: impl FnOnce() -> (Loc, String)) -> Result<i64> {
    i64::try_from(value).map_err(|_| {
        let (loc, what) = at();
        EngineError::config(
            loc,
            format!(
                "{what} reached {value}, more than a 64-bit log or metric value holds ({}); \
                 see docs/semantics.md#engine-configuration",
                i64::MAX
            ),
        )
    })
}

/// Where a bank's figure is reported from: the bank's entry in the config.
fn bank_loc(bank: usize) -> Loc {
    Loc::from("agent_configs").index(bank)
}

/// Cost components, in the order of the log columns and the metrics (`cost_<name>` each).
pub const COST_NAMES: &[&str] = &["liquidity", "delay", "collateral", "split", "deadline", "eod", "eod_borrowing"];
/// How many cost components there are.
pub const N_COSTS: usize = COST_NAMES.len();
/// Costs of one bank, by component (indexed like [`COST_NAMES`]).
pub type Costs = [f64; N_COSTS];
pub const LIQUIDITY: usize = 0;
pub const DELAY: usize = 1;
pub const COLLATERAL: usize = 2;
pub const SPLIT: usize = 3;
pub const DEADLINE: usize = 4;
pub const EOD: usize = 5;
/// Central-bank loans at a close with borrowing (docs/semantics.md#end-of-day).
pub const EOD_BORROWING: usize = 6;

crate::record! {
    /// What one tick did (the dict `tick()` returns in Python). Fields marked `[position]` are
    /// where things stand after the tick; the others are flows during it.
    #[derive(Debug, Clone, PartialEq)]
    pub struct TickResult {
        tick: u32 [position],
        day: u32 [position],
        num_arrivals: u32,
        num_settlements: u32,
        num_drops: u32,
        /// Payments settled by the bilateral LSM.
        lsm_bilateral_releases: u32,
        /// Payments settled by the cycle or multilateral LSM.
        lsm_cycle_releases: u32,
        queue1_size: u64 [position],
        queue2_size: u64 [position],
        total_liquidity_cost: f64,
        total_delay_cost: f64,
        total_cost: f64,
        value_arrived: i64,
        value_settled: i64,
        value_dropped: i64,
        queue1_value: i64 [position],
        queue2_value: i64 [position],
    }
}

crate::record! {
    /// Where one bank stands now (an item of `agent_states()` in Python).
    #[derive(Debug, Clone, PartialEq)]
    pub struct AgentState {
        id: String,
        balance: i64,
        opening_balance: i64,
        credit_limit: i64,
        credit_used: i64,
        queue1_size: u64,
        queue1_value: i64,
        queue2_size: u64,
        queue2_value: i64,
        /// Every cost this bank has accrued so far.
        cost_total: f64,
    }
}

/// Counters for the tick in progress, per bank and in total.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TickAccounts {
    /// Money sums are `i128`: one tick can move more than `i64` holds (an LSM offset nets any
    /// number of payments), so nothing wraps; [`reported`] checks them on the way out.
    pub value_sent: Vec<i128>,
    pub value_received: Vec<i128>,
    /// Payments sent by the bank settled this tick, by means (rtgs, queue, bilateral, multilateral).
    pub settled_by: Vec<[u32; N_MEANS]>,
    pub costs: Vec<Costs>,
    pub num_arrivals: u32,
    pub value_arrived: i128,
    pub num_settlements: u32,
    pub value_settled: i128,
    pub num_drops: u32,
    pub value_dropped: i128,
    pub lsm_bilateral_releases: u32,
    pub lsm_cycle_releases: u32,
}

impl TickAccounts {
    pub fn new(n: usize) -> Self {
        TickAccounts {
            value_sent: vec![0; n],
            value_received: vec![0; n],
            settled_by: vec![[0; N_MEANS]; n],
            costs: vec![[0.0; N_COSTS]; n],
            num_arrivals: 0,
            value_arrived: 0,
            num_settlements: 0,
            value_settled: 0,
            num_drops: 0,
            value_dropped: 0,
            lsm_bilateral_releases: 0,
            lsm_cycle_releases: 0,
        }
    }

    /// Zero every counter for the next tick, keeping the per-bank vectors' memory.
    pub fn reset(&mut self) {
        self.value_sent.fill(0);
        self.value_received.fill(0);
        self.settled_by.fill([0; N_MEANS]);
        self.costs.fill([0.0; N_COSTS]);
        self.num_arrivals = 0;
        self.value_arrived = 0;
        self.num_settlements = 0;
        self.value_settled = 0;
        self.num_drops = 0;
        self.value_dropped = 0;
        self.lsm_bilateral_releases = 0;
        self.lsm_cycle_releases = 0;
    }

    pub fn record_arrival(&mut self, amount: i64) {
        self.num_arrivals += 1;
        self.value_arrived += amount as i128;
    }

    pub fn record_settlement(&mut self, sender: usize, receiver: usize, amount: i64, via: SettledVia) {
        self.value_sent[sender] += amount as i128;
        self.value_received[receiver] += amount as i128;
        self.settled_by[sender][via as usize - 1] += 1;
        self.num_settlements += 1;
        self.value_settled += amount as i128;
    }

    /// LSM counters count payments, not pairs or cycles.
    pub fn lsm_released(&mut self, via: SettledVia, payments: u32) {
        match via {
            SettledVia::Bilateral => self.lsm_bilateral_releases += payments,
            SettledVia::Multilateral => self.lsm_cycle_releases += payments,
            _ => {}
        }
    }

    pub fn record_drop(&mut self, amount: i64) {
        self.num_drops += 1;
        self.value_dropped += amount as i128;
    }

    pub fn total_cost(&self, component: usize) -> f64 {
        self.costs.iter().map(|c| c[component]).sum()
    }
}

/// Per-bank flows of the ticks since the last logged row, waiting for the next one
/// (docs/semantics.md#tick-log-sampling): a row's flow columns sum every tick it covers, so a
/// sampled log loses no money, payment or cost. Always zero when every tick is logged.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PendingFlows {
    pub value_sent: Vec<i128>,
    pub value_received: Vec<i128>,
    /// No sum overflows: a bank cannot settle more payments than there are tx ids (`u32`).
    pub settled_by: Vec<[u32; N_MEANS]>,
    pub costs: Vec<Costs>,
}

impl PendingFlows {
    fn new(n: usize) -> Self {
        PendingFlows {
            value_sent: vec![0; n],
            value_received: vec![0; n],
            settled_by: vec![[0; N_MEANS]; n],
            costs: vec![[0.0; N_COSTS]; n],
        }
    }

    /// Whether nothing is waiting for a row.
    pub fn is_zero(&self) -> bool {
        self.value_sent.iter().chain(&self.value_received).all(|&v| v == 0)
            && self.settled_by.iter().flatten().all(|&c| c == 0)
            && self.costs.iter().flatten().all(|&c| c == 0.0)
    }

    fn add(&mut self, acc: &TickAccounts) {
        for i in 0..self.value_sent.len() {
            self.value_sent[i] += acc.value_sent[i];
            self.value_received[i] += acc.value_received[i];
            for m in 0..N_MEANS {
                self.settled_by[i][m] += acc.settled_by[i][m];
            }
            for c in 0..N_COSTS {
                self.costs[i][c] += acc.costs[i][c];
            }
        }
    }

    fn clear(&mut self) {
        self.value_sent.fill(0);
        self.value_received.fill(0);
        self.settled_by.fill([0; N_MEANS]);
        self.costs.fill([0.0; N_COSTS]);
    }
}

/// One row per logged tick and bank (every tick by default; see [`crate::config::TickLogging`]).
/// Levels (balances, credit, queues) are as at the end of the row's tick; flows (values sent and
/// received, payments settled, costs) are summed over the ticks since the bank's previous row.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TickLog {
    pub tick: Vec<u32>,
    pub bank: Vec<u32>,
    pub balance: Vec<i64>,
    pub credit_used: Vec<i64>,
    pub queue1_count: Vec<u32>,
    pub queue1_value: Vec<i64>,
    pub queue2_count: Vec<u32>,
    pub queue2_value: Vec<i64>,
    pub value_sent: Vec<i64>,
    pub value_received: Vec<i64>,
    /// Indexed like `settled_by`: rtgs, queue, bilateral, multilateral.
    pub settled: [Vec<u32>; N_MEANS],
    /// Indexed by [`COST_NAMES`].
    pub costs: [Vec<f64>; N_COSTS],
    /// Flows of ticks not logged yet.
    pub pending: PendingFlows,
}

impl TickLog {
    /// An empty log for `n` banks.
    pub fn new(n: usize) -> Self {
        TickLog { pending: PendingFlows::new(n), ..TickLog::default() }
    }

    /// Close the tick's flows: with `logged`, append the tick's row for every bank (its flows plus
    /// those pending), else keep them pending. A value too large for its column is an error (see
    /// [`reported`]) and leaves the log as it was.
    pub fn append(&mut self, tick: u32, banks: &[Bank], acc: &TickAccounts, logged: bool) -> Result<()> {
        if !logged {
            self.pending.add(acc);
            return Ok(());
        }
        let rows = self.len();
        let appended = self.push_rows(tick, banks, acc);
        match appended {
            Ok(()) => self.pending.clear(),
            Err(_) => self.truncate(rows),
        }
        appended
    }

    fn push_rows(&mut self, tick: u32, banks: &[Bank], acc: &TickAccounts) -> Result<()> {
        let p = &self.pending;
        for (i, b) in banks.iter().enumerate() {
            let at = |column: &'static str| move || (bank_loc(i), format!("tick {tick}: bank '{}' {column}", b.id));
            self.queue1_value.push(reported(b.queue1_value, at("queue1_value"))?);
            self.queue2_value.push(reported(b.queue2_value, at("queue2_value"))?);
            self.value_sent.push(reported(p.value_sent[i] + acc.value_sent[i], at("value_sent"))?);
            self.value_received.push(reported(p.value_received[i] + acc.value_received[i], at("value_received"))?);
            self.tick.push(tick);
            self.bank.push(i as u32);
            self.balance.push(b.balance);
            self.credit_used.push(b.credit_used());
            self.queue1_count.push(b.queue1.len() as u32);
            self.queue2_count.push(b.queue2_count);
            for m in 0..N_MEANS {
                self.settled[m].push(p.settled_by[i][m] + acc.settled_by[i][m]);
            }
            for c in 0..N_COSTS {
                // Nothing pending (every tick logged) adds +0.0: the same bits as the tick's cost.
                self.costs[c].push(p.costs[i][c] + acc.costs[i][c]);
            }
        }
        Ok(())
    }

    /// Keep the first `rows` rows of every column.
    pub(crate) fn truncate(&mut self, rows: usize) {
        self.tick.truncate(rows);
        self.bank.truncate(rows);
        self.balance.truncate(rows);
        self.credit_used.truncate(rows);
        self.queue1_count.truncate(rows);
        self.queue1_value.truncate(rows);
        self.queue2_count.truncate(rows);
        self.queue2_value.truncate(rows);
        self.value_sent.truncate(rows);
        self.value_received.truncate(rows);
        self.settled.iter_mut().for_each(|c| c.truncate(rows));
        self.costs.iter_mut().for_each(|c| c.truncate(rows));
    }

    pub fn len(&self) -> usize {
        self.tick.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tick.is_empty()
    }

    /// The log as named columns, as Python and the `ticks` Parquet table see it. This is the one
    /// list of tick-log columns: [`TickLog::schema`] is read off it.
    pub fn columns(&self) -> Vec<(String, Column)> {
        let mut out = vec![
            ("tick".to_string(), Column::Int64(widen(&self.tick))),
            ("bank".to_string(), Column::Int32(self.bank.iter().map(|b| *b as i32).collect())),
            ("balance".to_string(), Column::Int64(self.balance.clone())),
            ("credit_used".to_string(), Column::Int64(self.credit_used.clone())),
            ("queue1_count".to_string(), Column::Int64(widen(&self.queue1_count))),
            ("queue1_value".to_string(), Column::Int64(self.queue1_value.clone())),
            ("queue2_count".to_string(), Column::Int64(widen(&self.queue2_count))),
            ("queue2_value".to_string(), Column::Int64(self.queue2_value.clone())),
            ("value_sent".to_string(), Column::Int64(self.value_sent.clone())),
            ("value_received".to_string(), Column::Int64(self.value_received.clone())),
        ];
        for (m, name) in SETTLED_VIA_NAMES[1..].iter().enumerate() {
            out.push((format!("settled_{name}"), Column::Int64(widen(&self.settled[m]))));
        }
        for (c, name) in COST_NAMES.iter().enumerate() {
            out.push((format!("cost_{name}"), Column::Float64(self.costs[c].clone())));
        }
        out
    }

    pub fn schema() -> Vec<Field> {
        columns_schema(&TickLog::default().columns())
    }
}

/// The payments as named columns, one row per payment in tx order: the one list of
/// transaction-log columns ([`transaction_schema`] is read off it).
pub fn transaction_columns(ps: &[Payment]) -> Vec<(String, Column)> {
    let col = |name: &str, c: Column| (name.to_string(), c);
    let ticks = |f: fn(&Payment) -> u32| ps.iter().map(|p| none_as_minus_one(f(p))).collect();
    vec![
        col("tx_id", Column::Int64((0..ps.len() as i64).collect())),
        col("parent_id", Column::NullableInt64(ticks(|p| p.parent))),
        col("pair_key", Column::Int64(ps.iter().map(|p| p.pair_key).collect())),
        col("sender", Column::Int32(ps.iter().map(|p| p.sender as i32).collect())),
        col("receiver", Column::Int32(ps.iter().map(|p| p.receiver as i32).collect())),
        col("amount", Column::Int64(ps.iter().map(|p| p.amount).collect())),
        col("priority", Column::UInt8(ps.iter().map(|p| p.priority).collect())),
        col("divisible", Column::Bool(ps.iter().map(|p| p.divisible).collect())),
        col("arrival_tick", Column::Int64(ps.iter().map(|p| p.arrival_tick as i64).collect())),
        col("deadline_tick", Column::Int64(ps.iter().map(|p| p.deadline_tick as i64).collect())),
        col("release_tick", Column::NullableInt64(ticks(|p| p.release_tick))),
        col("settle_tick", Column::NullableInt64(ticks(|p| p.settle_tick))),
        col("drop_tick", Column::NullableInt64(ticks(|p| p.drop_tick))),
        col("settled_via", Column::Code(ps.iter().map(|p| p.settled_via as u8).collect(), SETTLED_VIA_NAMES)),
        col("status", Column::Code(ps.iter().map(|p| p.status as u8).collect(), STATUS_NAMES)),
        col("drop_reason", Column::Code(ps.iter().map(|p| p.drop_reason as u8).collect(), DROP_REASON_NAMES)),
    ]
}

pub fn transaction_schema() -> Vec<Field> {
    columns_schema(&transaction_columns(&[]))
}

fn widen<T: Copy + Into<i64>>(v: &[T]) -> Vec<i64> {
    v.iter().map(|x| (*x).into()).collect()
}

/// -1 for "none" in tick and parent columns.
fn none_as_minus_one(t: u32) -> i64 {
    if t == NONE {
        -1
    } else {
        t as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_count_payments_by_means_and_reset() {
        let mut acc = TickAccounts::new(2);
        acc.record_settlement(0, 1, 30, SettledVia::Bilateral);
        acc.record_settlement(1, 0, 20, SettledVia::Bilateral);
        acc.lsm_released(SettledVia::Bilateral, 2);
        acc.record_settlement(0, 1, 5, SettledVia::Rtgs);
        assert_eq!((acc.num_settlements, acc.value_settled, acc.lsm_bilateral_releases), (3, 55, 2));
        assert_eq!(acc.settled_by[0], [1, 0, 1, 0, 0]);
        let banks = vec![Bank::new("A".into(), 0, 0), Bank::new("B".into(), 0, 0)];
        let mut log = TickLog::new(2);
        log.append(7, &banks, &acc, true).unwrap();
        assert_eq!((log.len(), log.value_sent.clone(), log.settled[2].clone()), (2, vec![35, 20], vec![1, 1]));
        acc.reset();
        assert_eq!((acc.num_settlements, acc.value_sent.len()), (0, 2));
    }

    #[test]
    fn a_value_too_large_for_the_log_is_an_error_naming_the_bank_and_appends_no_row() {
        let mut banks = vec![Bank::new("A".into(), 0, 0), Bank::new("B".into(), 0, 0)];
        let acc = TickAccounts::new(2);
        let mut log = TickLog::new(2);
        log.append(0, &banks, &acc, true).unwrap();
        banks[1].queue2_value = i64::MAX as i128 + 1;
        let err = log.append(1, &banks, &acc, true).unwrap_err();
        let problem = "tick 1: bank 'B' queue2_value reached 9223372036854775808, more than a 64-bit log or \
                       metric value holds (9223372036854775807); see docs/semantics.md#engine-configuration";
        assert_eq!(err, EngineError::config(bank_loc(1), problem));
        let lengths = [log.tick.len(), log.queue1_value.len(), log.queue2_value.len(), log.value_sent.len()];
        assert_eq!(lengths, [2; 4]);
        assert_eq!((log.settled[0].len(), log.costs[0].len()), (2, 2));
    }
}
