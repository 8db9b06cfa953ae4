//! Steps 1, 2, 7 and 8 of docs/semantics.md#the-tick-loop: the ones that move payments in and out
//! of the queues directly. Steps 3 to 6 are [`crate::settlement::rtgs`], [`crate::settlement::lsm`]
//! and [`crate::costs`].

use super::Orchestrator;
use crate::arrivals::{pair_key, Origin};
use crate::config::EodUnsettled;
use crate::error::Result;
use crate::events::{EventRow, EventType};
use crate::log::{DEADLINE, EOD, EOD_BORROWING, SPLIT};
use crate::model::{BankIdx, DropReason, Payment, Status, TxIdx, NONE};
use crate::policy::{split_amounts, BankView, Decision};

impl Orchestrator {
    /// Step 1: scheduled payments for this tick in list order, then each bank's random arrivals.
    pub(super) fn arrivals(&mut self, now: u32) {
        while let Some(&i) = self.schedule.get(self.state.next_scheduled) {
            let s = &self.config.scheduled_payments[i];
            if s.arrival_tick > now {
                break;
            }
            self.state.next_scheduled += 1;
            let sender = self.directory.index_of(&s.sender).expect("validated") as BankIdx;
            let receiver = self.directory.index_of(&s.receiver).expect("validated") as BankIdx;
            let day_end = self.last_tick_of_day(now);
            let mut p = Payment::new(sender, receiver, s.amount, now, s.deadline_tick.unwrap_or(day_end));
            p.priority = s.priority;
            p.rtgs_class = s.rtgs_class;
            p.divisible = s.divisible;
            self.arrive(p, pair_key(Origin::Scheduled, i as u32));
        }
        for b in 0..self.samplers.len() {
            let Some(sampler) = &self.samplers[b] else { continue };
            let cfg = self.config.agents[b].arrival_config.as_ref().expect("sampler has config");
            let (offset, priority, divisible) = (cfg.deadline_offset, cfg.priority, cfg.divisible);
            let rtgs_class = cfg.rtgs_class;
            let mut draws = std::mem::take(&mut self.draws);
            draws.clear();
            sampler.draw_scaled(&mut self.state.rngs[b], self.rate_factor[b], &self.directory, &mut draws);
            for d in &draws {
                let mut p = Payment::new(b as BankIdx, d.receiver, d.amount, now, now.saturating_add(offset));
                p.priority = priority;
                p.rtgs_class = rtgs_class;
                p.divisible = divisible;
                let key = pair_key(Origin::Random, self.state.drawn[b]);
                self.state.drawn[b] += 1;
                self.arrive(p, key);
            }
            self.draws = draws;
        }
    }

    fn last_tick_of_day(&self, tick: u32) -> u32 {
        let tpd = self.config.ticks_per_day;
        (tick / tpd) * tpd + tpd - 1
    }

    pub(super) fn arrive(&mut self, mut p: Payment, pair_key: i64) -> TxIdx {
        p.pair_key = pair_key;
        let (amount, deadline) = (p.amount, p.deadline_tick);
        let tx = self.state.ledger.create(p);
        self.state.ledger.enqueue1(tx);
        self.state.ledger.acc.record_arrival(amount);
        self.watch_deadline(tx, deadline);
        tx
    }

    fn watch_deadline(&mut self, tx: TxIdx, deadline: u32) {
        if (deadline as u64) < self.total_ticks() {
            self.state.deadlines.entry(deadline).or_default().push(tx);
        }
    }

    /// Step 2: each bank's policy walks its Queue 1 in order and decides per payment.
    pub(super) fn policies(&mut self, now: u32) {
        let split_cost = self.config.cost_rates.split_friction_cost;
        for b in 0..self.state.ledger.banks.len() {
            // An outage (docs/semantics.md#scenario-events): nothing leaves Queue 1.
            if self.out_of_service[b] {
                continue;
            }
            let bank = &mut self.state.ledger.banks[b];
            let queue = std::mem::take(&mut bank.queue1);
            let mut view = BankView {
                now,
                balance: bank.balance,
                credit_limit: bank.credit_limit,
                projected_balance: bank.balance as i128,
            };
            let mut kept = Vec::with_capacity(queue.len());
            for tx in queue {
                let decision = self.policies[b].decide(&self.state.ledger.payments[tx as usize], &view);
                let ledger = &mut self.state.ledger;
                let amount = ledger.payments[tx as usize].amount;
                match decision {
                    Decision::Hold => {
                        kept.push(tx);
                        continue;
                    }
                    Decision::Release => {
                        ledger.payments[tx as usize].release_tick = now;
                        self.releases.push(tx);
                    }
                    Decision::Split(parts) => {
                        let parent = ledger.payments[tx as usize].clone();
                        ledger.payments[tx as usize].status = Status::Split;
                        ledger.payments[tx as usize].release_tick = now;
                        for part in split_amounts(amount, parts) {
                            let mut p = parent.clone();
                            p.amount = part;
                            p.divisible = false;
                            p.parent = tx;
                            p.release_tick = now;
                            let child = self.state.ledger.create(p);
                            self.releases.push(child);
                            if !parent.late {
                                self.watch_deadline(child, parent.deadline_tick);
                            }
                        }
                        self.state.ledger.acc.costs[b][SPLIT] += split_cost * (parts - 1) as f64;
                    }
                    Decision::Drop => {
                        let p = &mut ledger.payments[tx as usize];
                        p.status = Status::Dropped;
                        p.drop_reason = DropReason::Policy;
                        p.drop_tick = now;
                        ledger.acc.record_drop(amount);
                    }
                }
                // Released, split or dropped: it leaves Queue 1.
                self.state.ledger.banks[b].queue1_value -= amount as i128;
                if decision != Decision::Drop {
                    view.projected_balance -= amount as i128;
                }
            }
            self.state.ledger.banks[b].queue1 = kept;
        }
    }

    /// Step 7: payments still unsettled at the end of their deadline tick pay the deadline
    /// penalty once, and are dropped unless `drop_expired` is false.
    pub(super) fn expire(&mut self, now: u32) {
        let Some(due) = self.state.deadlines.remove(&now) else { return };
        let penalty = self.config.cost_rates.deadline_penalty;
        for tx in due {
            let p = &self.state.ledger.payments[tx as usize];
            if !p.is_queued() || p.late {
                continue;
            }
            let (sender, parent) = (p.sender as usize, p.parent);
            // A split payment's parts share its deadline and count as one payment (docs/semantics.md#costs):
            // the first part to expire charges the penalty and marks the original as charged.
            if parent == NONE || !self.state.ledger.payments[parent as usize].late {
                self.state.ledger.acc.costs[sender][DEADLINE] += penalty;
                if parent != NONE {
                    self.state.ledger.payments[parent as usize].late = true;
                }
            }
            if self.config.drop_expired {
                self.state.ledger.drop_payment(tx, DropReason::Deadline, now);
            } else {
                self.state.ledger.payments[tx as usize].late = true;
            }
        }
        self.state.ledger.compact_queue1();
        self.state.ledger.compact_queue2();
    }

    /// Step 8: at the last tick of a day every unsettled payment pays the EOD penalty, then is
    /// dropped (RTGS systems reject at close) or carried to the next day; or, under `borrow`, the
    /// central bank settles them all, lending what senders lack (no penalty: nothing is left).
    pub(super) fn end_of_day(&mut self, now: u32) -> Result<()> {
        if now != self.last_tick_of_day(now) {
            return Ok(());
        }
        if self.config.eod_unsettled == EodUnsettled::Borrow {
            return self.close_with_borrowing(now);
        }
        let ledger = &mut self.state.ledger;
        let mut unsettled: Vec<TxIdx> = ledger.banks.iter().flat_map(|b| b.queue1.iter().copied()).collect();
        unsettled.extend(ledger.queue2.entries().map(|e| e.tx));
        let penalty = self.config.cost_rates.eod_penalty;
        // Once per original payment: the parts of a split payment count as one (docs/semantics.md#costs).
        let mut split_charged = std::collections::HashSet::new();
        for &tx in &unsettled {
            let p = &ledger.payments[tx as usize];
            if p.parent == NONE || split_charged.insert(p.parent) {
                ledger.acc.costs[p.sender as usize][EOD] += penalty;
            }
        }
        if self.config.eod_unsettled == EodUnsettled::Drop {
            for tx in unsettled {
                ledger.drop_payment(tx, DropReason::Eod, now);
            }
            ledger.compact_queue1();
            ledger.compact_queue2();
        }
        Ok(())
    }

    /// `end_of_day.unsettled: borrow`: each loan is charged `eod_borrowing_rate` per unit and
    /// recorded in the event log (docs/semantics.md#end-of-day).
    fn close_with_borrowing(&mut self, now: u32) -> Result<()> {
        let lent = self.state.ledger.close_with_borrowing(now)?;
        let rate = self.config.cost_rates.eod_borrowing_rate;
        for (b, &amount) in lent.iter().enumerate().filter(|(_, a)| **a > 0) {
            self.state.ledger.acc.costs[b][EOD_BORROWING] += rate * amount as f64;
            let (event, counterparty, event_type) = (NONE, NONE, EventType::EodBorrowing);
            self.state.event_log.push(EventRow {
                tick: now,
                event,
                event_type,
                bank: b as BankIdx,
                counterparty,
                amount,
            });
        }
        Ok(())
    }
}
