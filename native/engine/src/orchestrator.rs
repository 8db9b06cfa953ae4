//! The tick loop: the nine steps of docs/semantics.md#the-tick-loop, in order, every tick.

use std::collections::BTreeMap;
use std::time::Instant;

use bincode::Options as _;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::arrivals::{bank_stream, ArrivalSampler, Draw};
use crate::config::{EngineConfig, EodUnsettled};
use crate::costs;
use crate::error::{EngineError, Loc, Result};
use crate::log::{reported, AgentState, Costs, TickLog, TickResult, DEADLINE, EOD, N_COSTS, SPLIT};
use crate::model::{Bank, BankIdx, DropReason, Payment, Status, TxIdx, MAX_AMOUNT, NONE};
use crate::policy::{rebuild, split_amounts, BankView, CashManagerPolicy, Decision};
use crate::settlement::{lsm, rtgs, Ledger};

/// A payment entered by hand (REST API, CLI) rather than drawn or scheduled.
#[derive(Debug, Clone)]
pub struct Submission {
    pub sender: String,
    pub receiver: String,
    pub amount: i64,
    pub deadline_offset: u32,
    pub priority: u8,
    pub divisible: bool,
}

/// Everything that changes during a run; with the config, it is the whole saved state.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SimState {
    ledger: Ledger,
    /// The next tick to run.
    now: u32,
    rngs: Vec<ChaCha8Rng>,
    /// Position in `Orchestrator::schedule` of the next scheduled payment to arrive.
    next_scheduled: usize,
    /// Queued payments by deadline tick, so expiry touches only what expires.
    deadlines: BTreeMap<u32, Vec<TxIdx>>,
    tick_log: TickLog,
    /// Cumulative costs per bank, by component.
    bank_costs: Vec<Costs>,
    gridlock_ticks: u64,
    /// `i128`: a run can settle more than `i64` holds.
    value_settled_total: i128,
}

pub struct Orchestrator {
    config: EngineConfig,
    state: SimState,
    policies: Vec<Box<dyn CashManagerPolicy>>,
    samplers: Vec<Option<ArrivalSampler>>,
    /// Indexes of scheduled payments in arrival order (stable, so list order breaks ties).
    schedule: Vec<usize>,
    /// Rank of each bank id in sorted order: LSM ties are broken by id.
    bank_rank: Vec<u32>,
    initial_money: i64,
    draws: Vec<Draw>,
    releases: Vec<TxIdx>,
    /// Wall time spent in `tick()` by this engine object. Kept out of the saved state so that
    /// equal runs save equal bytes; a restored engine counts from zero.
    engine_nanos: u128,
    /// Why the run stopped in the middle of a tick (a money figure too large to report): every
    /// later `tick()` and `save_state()` returns it, so a half-run tick is never continued or saved.
    halted: Option<EngineError>,
}

/// Version 2: queue values and run totals are `i128`; a version-1 file is refused, not misread.
const STATE_MAGIC: &[u8; 8] = b"PAYSIM\x00\x02";

/// FNV-1a over the state payload: detects damaged files (not tampering).
fn checksum(bytes: &[u8]) -> u64 {
    crate::hash::fnv1a64(bytes)
}

/// Fixed-width encoding with a size limit, so a forged length in a corrupt file is an error,
/// never a huge allocation.
fn state_codec() -> impl bincode::Options {
    use bincode::Options;
    bincode::DefaultOptions::new().with_fixint_encoding().with_limit(1 << 34)
}

impl Orchestrator {
    pub fn new(config: EngineConfig) -> Result<Self> {
        let banks: Vec<Bank> =
            config.agents.iter().map(|a| Bank::new(a.id.clone(), a.opening_balance, a.credit_limit)).collect();
        let n = banks.len();
        let state = SimState {
            ledger: Ledger::new(banks),
            now: 0,
            rngs: config.agents.iter().map(|a| bank_stream(config.rng_seed, &a.id)).collect(),
            next_scheduled: 0,
            deadlines: BTreeMap::new(),
            tick_log: TickLog::default(),
            bank_costs: vec![[0.0; N_COSTS]; n],
            gridlock_ticks: 0,
            value_settled_total: 0,
        };
        Self::assemble(config, state)
    }

    /// Rebuild what derives from the config (policies, samplers, orderings) around a state.
    fn assemble(config: EngineConfig, state: SimState) -> Result<Self> {
        let ids: Vec<String> = config.agents.iter().map(|a| a.id.clone()).collect();
        let policies = config.agents.iter().map(|a| rebuild(&a.policy)).collect::<Result<Vec<_>>>()?;
        let samplers = config
            .agents
            .iter()
            .enumerate()
            .map(|(i, a)| a.arrival_config.as_ref().map(|c| ArrivalSampler::new(c, i, &ids)))
            .collect();
        let mut schedule: Vec<usize> = (0..config.scheduled_payments.len()).collect();
        schedule.sort_by_key(|&i| config.scheduled_payments[i].arrival_tick);
        let mut by_id: Vec<usize> = (0..ids.len()).collect();
        by_id.sort_by(|&a, &b| ids[a].cmp(&ids[b]));
        let mut bank_rank = vec![0u32; ids.len()];
        for (rank, &b) in by_id.iter().enumerate() {
            bank_rank[b] = rank as u32;
        }
        let initial_money = config.agents.iter().map(|a| a.opening_balance).sum();
        Ok(Orchestrator {
            config,
            state,
            policies,
            samplers,
            schedule,
            bank_rank,
            initial_money,
            draws: Vec::new(),
            releases: Vec::new(),
            engine_nanos: 0,
            halted: None,
        })
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }
    pub fn current_tick(&self) -> u32 {
        self.state.now
    }
    pub fn current_day(&self) -> u32 {
        self.state.now / self.config.ticks_per_day
    }
    pub fn total_ticks(&self) -> u64 {
        self.config.total_ticks()
    }
    pub fn is_finished(&self) -> bool {
        self.state.now as u64 >= self.total_ticks()
    }
    pub fn banks(&self) -> &[Bank] {
        &self.state.ledger.banks
    }
    pub fn payments(&self) -> &[Payment] {
        &self.state.ledger.payments
    }
    pub fn tick_log(&self) -> &TickLog {
        &self.state.tick_log
    }
    pub fn bank_costs(&self) -> &[Costs] {
        &self.state.bank_costs
    }

    /// Every bank's position now, in config order; a queue value too large to report is an error.
    pub fn agent_states(&self) -> Result<Vec<AgentState>> {
        let at = |i: usize, what: &'static str| move || (Loc::from("agent_configs").index(i), what.to_string());
        self.banks()
            .iter()
            .zip(self.bank_costs())
            .enumerate()
            .map(|(i, (b, costs))| {
                Ok(AgentState {
                    id: b.id.clone(),
                    balance: b.balance,
                    opening_balance: b.opening_balance,
                    credit_limit: b.credit_limit,
                    credit_used: b.credit_used(),
                    queue1_size: b.queue1.len() as u64,
                    queue1_value: reported(b.queue1_value, at(i, "queue1_value"))?,
                    queue2_size: b.queue2_count as u64,
                    queue2_value: reported(b.queue2_value, at(i, "queue2_value"))?,
                    cost_total: costs.iter().sum(),
                })
            })
            .collect()
    }
    pub fn queue2_size(&self) -> usize {
        self.state.ledger.queue2.len
    }
    pub fn gridlock_ticks(&self) -> u64 {
        self.state.gridlock_ticks
    }
    pub fn lsm_cycle_search_truncated(&self) -> u64 {
        self.state.ledger.lsm_cycle_search_truncated
    }
    pub fn engine_seconds(&self) -> f64 {
        self.engine_nanos as f64 / 1e9
    }

    /// The index of bank `id`; an unknown id is an error located at `field` (the argument or
    /// payment field that named it).
    pub fn bank_index(&self, id: &str, field: &str) -> Result<usize> {
        self.config.bank_index(id).ok_or_else(|| EngineError::UnknownBank { loc: field.into(), id: id.to_string() })
    }

    /// Run one tick: the nine steps in order.
    pub fn tick(&mut self) -> Result<TickResult> {
        if self.is_finished() {
            return Err(EngineError::Finished(self.total_ticks()));
        }
        if let Some(e) = &self.halted {
            return Err(e.clone());
        }
        let started = Instant::now();
        let now = self.state.now;
        self.arrivals(now); // 1
        self.policies(now); // 2
        let discipline = self.config.queue_discipline;
        let releases = std::mem::take(&mut self.releases);
        for &tx in &releases {
            rtgs::release(&mut self.state.ledger, tx, discipline, now); // 3
        }
        self.releases = releases;
        self.releases.clear();
        rtgs::process_queue(&mut self.state.ledger, discipline, now); // 4
        let lsm = &self.config.lsm;
        if lsm::run(&mut self.state.ledger, lsm.mode, lsm.max_cycle_length, discipline, &self.bank_rank, now) > 0 {
            rtgs::process_queue(&mut self.state.ledger, discipline, now); // 5, then 4 once more
        }
        costs::accrue(&self.state.ledger.banks, &self.config.cost_rates, &mut self.state.ledger.acc); // 6
        let acc = &self.state.ledger.acc;
        if self.state.ledger.queue2.len > 0 && acc.num_settlements == 0 {
            self.state.gridlock_ticks += 1;
        }
        self.expire(now); // 7
        self.end_of_day(now); // 8
        let result = self.close_tick(now).inspect_err(|e| self.halted = Some(e.clone()))?;
        self.state.now += 1; // 9
        self.engine_nanos += started.elapsed().as_nanos();
        if self.is_finished() {
            self.check_invariants()?;
        }
        Ok(result)
    }

    /// Run every remaining tick. `keep_going` is asked between ticks (every few hundred) and
    /// stops the run with [`EngineError::Interrupted`] when it returns false.
    pub fn run(&mut self, mut keep_going: impl FnMut() -> bool) -> Result<()> {
        let mut since_check = 0u32;
        while !self.is_finished() {
            self.tick()?;
            since_check += 1;
            if since_check == 256 {
                since_check = 0;
                if !keep_going() {
                    return Err(EngineError::Interrupted);
                }
            }
        }
        Ok(())
    }

    /// Step 1: scheduled payments for this tick in list order, then each bank's random arrivals.
    fn arrivals(&mut self, now: u32) {
        while let Some(&i) = self.schedule.get(self.state.next_scheduled) {
            let s = &self.config.scheduled_payments[i];
            if s.arrival_tick > now {
                break;
            }
            self.state.next_scheduled += 1;
            let sender = self.config.bank_index(&s.sender).expect("validated") as BankIdx;
            let receiver = self.config.bank_index(&s.receiver).expect("validated") as BankIdx;
            let day_end = self.last_tick_of_day(now);
            let mut p = Payment::new(sender, receiver, s.amount, now, s.deadline_tick.unwrap_or(day_end));
            p.priority = s.priority;
            p.divisible = s.divisible;
            self.arrive(p);
        }
        for b in 0..self.samplers.len() {
            let Some(sampler) = &self.samplers[b] else { continue };
            let cfg = self.config.agents[b].arrival_config.as_ref().expect("sampler has config");
            let (offset, priority, divisible) = (cfg.deadline_offset, cfg.priority, cfg.divisible);
            let mut draws = std::mem::take(&mut self.draws);
            draws.clear();
            sampler.draw(&mut self.state.rngs[b], &mut draws);
            for d in &draws {
                let mut p = Payment::new(b as BankIdx, d.receiver, d.amount, now, now.saturating_add(offset));
                p.priority = priority;
                p.divisible = divisible;
                self.arrive(p);
            }
            self.draws = draws;
        }
    }

    fn last_tick_of_day(&self, tick: u32) -> u32 {
        let tpd = self.config.ticks_per_day;
        (tick / tpd) * tpd + tpd - 1
    }

    fn arrive(&mut self, p: Payment) -> TxIdx {
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
    fn policies(&mut self, now: u32) {
        let split_cost = self.config.cost_rates.split_friction_cost;
        for b in 0..self.state.ledger.banks.len() {
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
    fn expire(&mut self, now: u32) {
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
    /// dropped (RTGS systems reject at close) or carried to the next day.
    fn end_of_day(&mut self, now: u32) {
        if now != self.last_tick_of_day(now) {
            return;
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
    }

    /// Log the tick, fold its accounts into the run totals, and start fresh accounts. A money
    /// figure too large to report is an error, and then nothing of the tick is logged.
    fn close_tick(&mut self, now: u32) -> Result<TickResult> {
        let st = &mut self.state;
        for b in &mut st.ledger.banks {
            b.min_tick_balance = b.min_tick_balance.min(b.balance);
        }
        // Run totals first: what settled did settle, even in a tick that then cannot be reported.
        let acc = &st.ledger.acc;
        for (total, tick) in st.bank_costs.iter_mut().zip(&acc.costs) {
            for c in 0..N_COSTS {
                total[c] += tick[c];
            }
        }
        st.value_settled_total += acc.value_settled;
        let rows = st.tick_log.len();
        st.tick_log.append(now, &st.ledger.banks, &st.ledger.acc)?;
        let result = Self::tick_result(now, self.config.ticks_per_day, &st.ledger)
            .inspect_err(|_| st.tick_log.truncate(rows))?;
        st.ledger.acc.reset();
        Ok(result)
    }

    /// The tick's figures as `tick()` returns them; money sums are checked to fit (see [`reported`]).
    fn tick_result(now: u32, ticks_per_day: u32, ledger: &Ledger) -> Result<TickResult> {
        let (acc, banks) = (&ledger.acc, &ledger.banks);
        let total = |what: &'static str| move || (Loc::root(), format!("tick {now}: {what} of all banks"));
        Ok(TickResult {
            tick: now,
            day: now / ticks_per_day,
            num_arrivals: acc.num_arrivals,
            num_settlements: acc.num_settlements,
            num_drops: acc.num_drops,
            lsm_bilateral_releases: acc.lsm_bilateral_releases,
            lsm_cycle_releases: acc.lsm_cycle_releases,
            queue1_size: banks.iter().map(|b| b.queue1.len() as u64).sum(),
            queue2_size: ledger.queue2.len as u64,
            total_liquidity_cost: acc.total_cost(crate::log::LIQUIDITY),
            total_delay_cost: acc.total_cost(crate::log::DELAY),
            total_cost: (0..N_COSTS).map(|c| acc.total_cost(c)).sum(),
            value_arrived: reported(acc.value_arrived, total("value_arrived"))?,
            value_settled: reported(acc.value_settled, total("value_settled"))?,
            value_dropped: reported(acc.value_dropped, total("value_dropped"))?,
            queue1_value: reported(banks.iter().map(|b| b.queue1_value).sum(), total("queue1_value"))?,
            queue2_value: reported(banks.iter().map(|b| b.queue2_value).sum(), total("queue2_value"))?,
        })
    }

    /// Enter a payment in the sender's Queue 1 now; it is decided on in the next tick.
    pub fn submit(&mut self, s: &Submission) -> Result<TxIdx> {
        if self.is_finished() {
            return Err(EngineError::Finished(self.total_ticks()));
        }
        let sender = self.bank_index(&s.sender, "sender")?;
        let receiver = self.bank_index(&s.receiver, "receiver")?;
        let bad = |field: &str, problem: String| EngineError::invalid_payment(field, problem);
        if sender == receiver {
            return Err(bad("receiver", "must differ from sender".into()));
        }
        if s.amount < 1 || s.amount > MAX_AMOUNT {
            return Err(bad("amount", format!("must be between 1 and {MAX_AMOUNT}, got {}", s.amount)));
        }
        if s.priority > 10 {
            return Err(bad("priority", format!("must be between 0 and 10, got {}", s.priority)));
        }
        let now = self.state.now;
        let mut p =
            Payment::new(sender as BankIdx, receiver as BankIdx, s.amount, now, now.saturating_add(s.deadline_offset));
        p.priority = s.priority;
        p.divisible = s.divisible;
        Ok(self.arrive(p))
    }

    /// Cheap checks of the invariants of docs/semantics.md#invariants; a breach is a bug and becomes an error.
    pub fn check_invariants(&self) -> Result<()> {
        let ledger = &self.state.ledger;
        // Sums in i128: payments can move more than i64 holds over a run.
        let money: i128 = ledger.banks.iter().map(|b| b.balance as i128).sum();
        if money != self.initial_money as i128 {
            return Err(EngineError::Invariant(format!("balances sum to {money}, not {}", self.initial_money)));
        }
        for b in &ledger.banks {
            if b.min_balance < -b.credit_limit {
                return Err(EngineError::Invariant(format!(
                    "bank '{}' reached {} below its credit limit {}",
                    b.id, b.min_balance, b.credit_limit
                )));
            }
        }
        // Every bank exactly, not only the sum: opening + received − sent over the settled payments.
        let mut flows: Vec<i128> = ledger.banks.iter().map(|b| b.opening_balance as i128).collect();
        let (mut settled_value, mut queued) = (0i128, 0usize);
        for p in &ledger.payments {
            match p.status {
                Status::Settled => {
                    settled_value += p.amount as i128;
                    flows[p.sender as usize] -= p.amount as i128;
                    flows[p.receiver as usize] += p.amount as i128;
                }
                Status::Queue1 | Status::Queue2 => queued += 1,
                _ => {}
            }
        }
        if let Some((b, flow)) = ledger.banks.iter().zip(&flows).find(|(b, flow)| b.balance as i128 != **flow) {
            return Err(EngineError::Invariant(format!(
                "bank '{}' has balance {} but opening + received − sent is {flow}",
                b.id, b.balance
            )));
        }
        if settled_value != self.state.value_settled_total {
            return Err(EngineError::Invariant(format!(
                "settled payments sum to {settled_value} but settlements moved {}",
                self.state.value_settled_total
            )));
        }
        let in_queues = ledger.banks.iter().map(|b| b.queue1.len()).sum::<usize>() + ledger.queue2.len;
        if in_queues != queued {
            return Err(EngineError::Invariant(format!(
                "{queued} payments are queued but the queues hold {in_queues}"
            )));
        }
        Ok(())
    }

    /// Header, payload, then a checksum of the payload so a damaged file is refused on load.
    pub fn save_state(&self) -> Result<Vec<u8>> {
        if let Some(e) = &self.halted {
            return Err(e.clone());
        }
        let mut out = STATE_MAGIC.to_vec();
        state_codec()
            .serialize_into(&mut out, &(&self.config, &self.state))
            .map_err(|e| EngineError::State(e.to_string()))?;
        let sum = checksum(&out[STATE_MAGIC.len()..]);
        out.extend_from_slice(&sum.to_le_bytes());
        Ok(out)
    }

    pub fn load_state(bytes: &[u8]) -> Result<Self> {
        let framed = bytes
            .strip_prefix(STATE_MAGIC.as_slice())
            .ok_or_else(|| EngineError::State("not a paysim engine state (bad header or version)".into()))?;
        if framed.len() < 8 {
            return Err(EngineError::State("truncated state".into()));
        }
        let (body, sum) = framed.split_at(framed.len() - 8);
        if checksum(body).to_le_bytes() != sum {
            return Err(EngineError::State("corrupt state: checksum mismatch".into()));
        }
        let (config, state): (EngineConfig, SimState) =
            state_codec().deserialize(body).map_err(|e| EngineError::State(format!("corrupt state: {e}")))?;
        if state.ledger.banks.len() != config.agents.len() || state.rngs.len() != config.agents.len() {
            return Err(EngineError::State("corrupt state: bank count mismatch".into()));
        }
        let consistent =
            state.ledger.banks.iter().zip(&config.agents).all(|(b, a)| {
                b.id == a.id && b.opening_balance == a.opening_balance && b.credit_limit == a.credit_limit
            });
        if !consistent || config.ticks_per_day == 0 || state.now as u64 > config.total_ticks() {
            return Err(EngineError::State("corrupt state: config and ledger disagree".into()));
        }
        let o = Self::assemble(config, state)?;
        o.check_invariants().map_err(|e| EngineError::State(format!("corrupt state: {e}")))?;
        Ok(o)
    }

    #[cfg(test)]
    pub(crate) fn set_policy(&mut self, bank: usize, policy: Box<dyn CashManagerPolicy>) {
        self.policies[bank] = policy;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NoFiles;
    use crate::policy::BankView;
    use serde_json::json;

    /// A cash manager that cancels everything: exercises the policy-drop path.
    #[derive(Debug)]
    struct CancelAll;
    impl CashManagerPolicy for CancelAll {
        fn decide(&self, _: &Payment, _: &BankView) -> Decision {
            Decision::Drop
        }
    }

    #[test]
    fn policy_drops_leave_queue1_with_reason_policy() {
        let cfg = json!({"ticks_per_day": 3, "rng_seed": 0, "agent_configs": [
            {"id": "A", "opening_balance": 10, "policy": {"type": "Fifo"}},
            {"id": "B", "opening_balance": 10, "policy": {"type": "Fifo"}}],
            "scheduled_payments": [{"sender": "A", "receiver": "B", "amount": 5, "arrival_tick": 0}]});
        let mut o = Orchestrator::new(EngineConfig::from_value(&cfg, &NoFiles).unwrap()).unwrap();
        o.set_policy(0, Box::new(CancelAll));
        let r = o.tick().unwrap();
        assert_eq!(r.num_drops, 1);
        let p = &o.payments()[0];
        assert_eq!((p.status, p.drop_reason), (Status::Dropped, DropReason::Policy));
        assert_eq!((o.banks()[0].queue1.len(), o.banks()[0].queue1_value), (0, 0));
        o.check_invariants().unwrap();
    }
}
