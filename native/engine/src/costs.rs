//! Step 6: what each bank pays this tick for liquidity, delay and collateral. The one-off
//! charges (split friction, deadline and end-of-day penalties) are booked where they happen.

use crate::config::CostRates;
use crate::log::{TickAccounts, COLLATERAL, DELAY, LIQUIDITY};
use crate::model::Bank;

pub fn accrue(banks: &[Bank], rates: &CostRates, acc: &mut TickAccounts) {
    for (i, b) in banks.iter().enumerate() {
        let c = &mut acc.costs[i];
        // Intraday credit in use is what the bank borrows from the central bank.
        c[LIQUIDITY] += rates.liquidity_cost_per_unit_per_tick * b.credit_used() as f64;
        // Only Queue 1 is the bank's own choice to hold; Queue 2 waits are not charged as delay.
        // The value is an `i128` (it can exceed `i64`); as `f64` it is rounded, never wrapped.
        c[DELAY] += rates.delay_cost_per_tick * b.queue1_value as f64;
        // The collateral behind the whole credit line is tied up whether used or not.
        c[COLLATERAL] += rates.collateral_cost_per_unit_per_tick * b.credit_limit as f64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_follow_the_rates() {
        let mut b = Bank::new("A".into(), 0, 1_000);
        b.balance = -400;
        b.queue1_value = 2_000;
        let rates = CostRates {
            liquidity_cost_per_unit_per_tick: 0.01,
            delay_cost_per_tick: 0.001,
            collateral_cost_per_unit_per_tick: 0.0001,
            ..CostRates::default()
        };
        let mut acc = TickAccounts::new(1);
        accrue(&[b], &rates, &mut acc);
        assert_eq!(acc.costs[0][LIQUIDITY], 4.0);
        assert_eq!(acc.costs[0][DELAY], 2.0);
        assert!((acc.costs[0][COLLATERAL] - 0.1).abs() < 1e-12);
    }
}
