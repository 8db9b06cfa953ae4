//! What the engine records: this tick's per-bank accounts, and the tick log (one row per tick
//! and bank), kept as columns so they reach Python and Parquet without per-row objects.

use serde::{Deserialize, Serialize};

use crate::model::{Bank, SettledVia};

/// Cost components, in the order of the log columns and the metrics.
pub const COST_NAMES: [&str; 6] = ["liquidity", "delay", "collateral", "split", "deadline", "eod"];
pub const LIQUIDITY: usize = 0;
pub const DELAY: usize = 1;
pub const COLLATERAL: usize = 2;
pub const SPLIT: usize = 3;
pub const DEADLINE: usize = 4;
pub const EOD: usize = 5;

/// Counters for the tick in progress, per bank and in total.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TickAccounts {
    pub value_sent: Vec<i64>,
    pub value_received: Vec<i64>,
    /// Payments sent by the bank settled this tick, by means (rtgs, queue, bilateral, multilateral).
    pub settled_by: Vec<[u32; 4]>,
    pub costs: Vec<[f64; 6]>,
    pub num_arrivals: u32,
    pub value_arrived: i64,
    pub num_settlements: u32,
    pub value_settled: i64,
    pub num_drops: u32,
    pub value_dropped: i64,
    pub lsm_bilateral_releases: u32,
    pub lsm_cycle_releases: u32,
}

impl TickAccounts {
    pub fn new(n: usize) -> Self {
        TickAccounts {
            value_sent: vec![0; n],
            value_received: vec![0; n],
            settled_by: vec![[0; 4]; n],
            costs: vec![[0.0; 6]; n],
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
        self.settled_by.fill([0; 4]);
        self.costs.fill([0.0; 6]);
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
        self.value_arrived += amount;
    }

    pub fn record_settlement(&mut self, sender: usize, receiver: usize, amount: i64, via: SettledVia) {
        self.value_sent[sender] += amount;
        self.value_received[receiver] += amount;
        self.settled_by[sender][via as usize - 1] += 1;
        self.num_settlements += 1;
        self.value_settled += amount;
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
        self.value_dropped += amount;
    }

    pub fn total_cost(&self, component: usize) -> f64 {
        self.costs.iter().map(|c| c[component]).sum()
    }
}

/// One row per tick and bank.
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
    pub settled: [Vec<u32>; 4],
    /// Indexed by [`COST_NAMES`].
    pub costs: [Vec<f64>; 6],
}

impl TickLog {
    pub fn append(&mut self, tick: u32, banks: &[Bank], acc: &TickAccounts) {
        for (i, b) in banks.iter().enumerate() {
            self.tick.push(tick);
            self.bank.push(i as u32);
            self.balance.push(b.balance);
            self.credit_used.push(b.credit_used());
            self.queue1_count.push(b.queue1.len() as u32);
            self.queue1_value.push(b.queue1_value);
            self.queue2_count.push(b.queue2_count);
            self.queue2_value.push(b.queue2_value);
            self.value_sent.push(acc.value_sent[i]);
            self.value_received.push(acc.value_received[i]);
            for m in 0..4 {
                self.settled[m].push(acc.settled_by[i][m]);
            }
            for c in 0..6 {
                self.costs[c].push(acc.costs[i][c]);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.tick.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tick.is_empty()
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
        assert_eq!(acc.settled_by[0], [1, 0, 1, 0]);
        let banks = vec![Bank::new("A".into(), 0, 0), Bank::new("B".into(), 0, 0)];
        let mut log = TickLog::default();
        log.append(7, &banks, &acc);
        assert_eq!((log.len(), log.value_sent.clone(), log.settled[2].clone()), (2, vec![35, 20], vec![1, 1]));
        acc.reset();
        assert_eq!((acc.num_settlements, acc.value_sent.len()), (0, 2));
    }
}
