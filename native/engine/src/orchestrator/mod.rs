//! The tick loop: the nine steps of docs/semantics.md#the-tick-loop, in order, every tick.
//!
//! Modules by job: `steps` holds the steps that move payments through the queues (1, 2, 7, 8),
//! `state` saves and restores the engine, `invariants` checks the books, `scenario` applies the
//! scenario events.

mod config_json;
mod invariants;
mod restore;
#[cfg(test)]
mod restore_tests;
mod scenario;
mod state;
#[cfg(test)]
mod state_fuzz;
mod steps;

use std::collections::BTreeMap;
use std::time::Instant;

use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::arrivals::{bank_stream, pair_key, ArrivalSampler, Draw, Origin};
use crate::config::EngineConfig;
use crate::costs;
use crate::directory::BankDirectory;
use crate::error::{EngineError, Loc, Result};
use crate::events::EventLog;
use crate::log::{reported, AgentState, Costs, TickLog, TickResult, N_COSTS};
use crate::model::{Bank, BankIdx, Payment, RtgsClass, TxIdx, MAX_AMOUNT, RTGS_CLASS_NAMES};
use crate::policy::{rebuild, CashManagerPolicy};
use crate::receivers::SizeTable;
use crate::settlement::idle::IdlePass;
use crate::settlement::optimal::OptimalStats;
use crate::settlement::rules::SenderRules;
use crate::settlement::{rtgs, Ledger};

/// A payment entered by hand (REST API, CLI) rather than drawn or scheduled.
#[derive(Debug, Clone)]
pub struct Submission {
    pub sender: String,
    pub receiver: String,
    pub amount: i64,
    pub deadline_offset: u32,
    pub priority: u8,
    /// `highly_urgent`, `urgent` or `normal`; `None` = from `priority`.
    pub rtgs_class: Option<String>,
    pub divisible: bool,
}

/// Everything that changes during a run; with the config, it is the whole saved state.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SimState {
    ledger: Ledger,
    /// The next tick to run.
    now: u32,
    rngs: Vec<ChaCha8Rng>,
    /// Per bank: random orders drawn and payments submitted so far, numbering their pair keys.
    drawn: Vec<u32>,
    submitted: Vec<u32>,
    /// Position in `Orchestrator::schedule` of the next scheduled payment to arrive.
    next_scheduled: usize,
    /// Queued payments by deadline tick, so expiry touches only what expires.
    deadlines: BTreeMap<u32, Vec<TxIdx>>,
    tick_log: TickLog,
    /// Scenario events as they took effect, and central-bank loans at closes.
    event_log: EventLog,
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
    /// Banks by id; their id order breaks LSM ties and orders receiver draws.
    directory: BankDirectory,
    initial_money: i64,
    draws: Vec<Draw>,
    releases: Vec<TxIdx>,
    /// This tick's outages and arrival-rate factors per bank, set by the scenario events at the
    /// start of every tick (so they derive from the config and the tick, not saved state).
    out_of_service: Vec<bool>,
    rate_factor: Vec<f64>,
    /// The last LSM pass, if it settled nothing: a pass on the same inputs is skipped.
    idle_pass: IdlePass,
    /// Wall time spent in `tick()` by this engine object. Kept out of the saved state so that
    /// equal runs save equal bytes; a restored engine counts from zero.
    engine_nanos: u128,
    /// Why the run stopped in the middle of a tick (a money figure too large to report): every
    /// later `tick()` and `save_state()` returns it, so a half-run tick is never continued or saved.
    halted: Option<EngineError>,
}

impl Orchestrator {
    pub fn new(config: EngineConfig) -> Result<Self> {
        let banks: Vec<Bank> =
            config.agents.iter().map(|a| Bank::new(a.id.clone(), a.opening_balance, a.credit_limit)).collect();
        let n = banks.len();
        let mut ledger = Ledger::new(banks);
        let ids = BankDirectory::new(config.agents.iter().map(|a| a.id.as_str()));
        ledger.rules = SenderRules::new(&config.agents, |id| ids.index_of(id));
        let state = SimState {
            ledger,
            now: 0,
            rngs: config.agents.iter().map(|a| bank_stream(config.rng_seed, &a.id)).collect(),
            drawn: vec![0; n],
            submitted: vec![0; n],
            next_scheduled: 0,
            deadlines: BTreeMap::new(),
            tick_log: TickLog::new(n),
            event_log: EventLog::default(),
            bank_costs: vec![[0.0; N_COSTS]; n],
            gridlock_ticks: 0,
            value_settled_total: 0,
        };
        Self::assemble(config, state)
    }

    /// Rebuild what derives from the config (policies, samplers, orderings) around a state.
    fn assemble(config: EngineConfig, mut state: SimState) -> Result<Self> {
        state.ledger.deferred_crediting = config.crediting == crate::config::Crediting::Deferred;
        let n = config.agents.len();
        let directory = BankDirectory::new(config.agents.iter().map(|a| a.id.as_str()));
        // A restored state's limits and reservations must be the config's, or settlement would
        // index banks that are not there.
        if !state.ledger.rules.same_rules(&SenderRules::new(&config.agents, |id| directory.index_of(id))) {
            return Err(EngineError::State("corrupt state: sender rules and config disagree".into()));
        }
        let policies = config.agents.iter().map(|a| rebuild(&a.policy)).collect::<Result<Vec<_>>>()?;
        let sizes: Vec<f64> = config.agents.iter().map(|a| a.size).collect();
        let by_size = config.agents.iter().any(|a| a.arrival_config.as_ref().is_some_and(|c| c.receivers_by_size));
        let table = by_size.then(|| SizeTable::build(&sizes, &directory)).flatten();
        let samplers = config
            .agents
            .iter()
            .enumerate()
            .map(|(i, a)| {
                a.arrival_config.as_ref().map(|c| ArrivalSampler::new(c, i, &directory, &sizes, table.as_ref()))
            })
            .collect();
        let mut schedule: Vec<usize> = (0..config.scheduled_payments.len()).collect();
        schedule.sort_by_key(|&i| config.scheduled_payments[i].arrival_tick);
        let initial_money = config.agents.iter().map(|a| a.opening_balance).sum();
        Ok(Orchestrator {
            config,
            state,
            policies,
            samplers,
            schedule,
            directory,
            initial_money,
            draws: Vec::new(),
            releases: Vec::new(),
            out_of_service: vec![false; n],
            rate_factor: vec![1.0; n],
            idle_pass: IdlePass::default(),
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
    pub fn event_log(&self) -> &EventLog {
        &self.state.event_log
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
    /// LSM passes this engine object skipped because the last one settled nothing on the same
    /// inputs (docs/semantics.md#the-tick-loop); not saved, as the figure of a cache.
    pub fn lsm_passes_skipped(&self) -> u64 {
        self.idle_pass.skipped
    }
    pub fn lsm_optimal(&self) -> &OptimalStats {
        &self.state.ledger.optimal
    }
    pub fn engine_seconds(&self) -> f64 {
        self.engine_nanos as f64 / 1e9
    }

    /// The index of bank `id`; an unknown id is an error located at `field` (the argument or
    /// payment field that named it).
    pub fn bank_index(&self, id: &str, field: &str) -> Result<usize> {
        self.directory.index_of(id).ok_or_else(|| EngineError::UnknownBank { loc: field.into(), id: id.to_string() })
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
        self.apply_events(now); // 0
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
        let (lsm, rank) = (&self.config.lsm, self.directory.rank());
        let settled = self
            .idle_pass
            .run(&mut self.state.ledger, lsm, discipline, rank, now)
            .inspect_err(|e| self.halted = Some(e.clone()))?;
        if settled > 0 {
            rtgs::process_queue(&mut self.state.ledger, discipline, now); // 5, then 4 once more
        }
        costs::accrue(&self.state.ledger.banks, &self.config.cost_rates, &mut self.state.ledger.acc); // 6
                                                                                                      // Under `borrow` the close comes first, so a payment due at the last tick of the day
                                                                                                      // settles on time instead of expiring (docs/semantics.md#end-of-day).
        let close_first = self.config.eod_unsettled == crate::config::EodUnsettled::Borrow;
        if close_first {
            self.end_of_day(now).inspect_err(|e| self.halted = Some(e.clone()))?;
            // 8
        }
        self.expire(now); // 7
        if !close_first {
            self.end_of_day(now).inspect_err(|e| self.halted = Some(e.clone()))?;
            // 8
        }
        if (now + 1).is_multiple_of(self.config.ticks_per_day) {
            // The day is over (a close with borrowing included): sender-limit positions start again.
            self.state.ledger.rules.start_day();
        }
        // As the ticks table shows it (docs/semantics.md#metrics): Queue 2 not empty at the end of the tick.
        if self.state.ledger.queue2.len > 0 && self.state.ledger.acc.num_settlements == 0 {
            self.state.gridlock_ticks += 1;
        }
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
    pub fn run(&mut self, keep_going: impl FnMut() -> bool) -> Result<()> {
        let remaining = self.total_ticks().saturating_sub(self.state.now as u64);
        self.tick_n(remaining, keep_going).map(|_| ())
    }

    /// Run up to `n` ticks, exactly as `n` calls of [`Self::tick`] would, and return the last one's
    /// result: one call from Python instead of `n`, so a caller that only needs the figures at
    /// intervals pays the crossing once. It stops after the run's last tick (returning that tick's
    /// result); asked for ticks when none are left it fails as `tick()` does, and it returns `None`
    /// only for `n == 0`. An error stops it where `tick()` would, keeping the ticks already run.
    /// `keep_going` is asked every 256 ticks, as in [`Self::run`].
    pub fn tick_n(&mut self, n: u64, mut keep_going: impl FnMut() -> bool) -> Result<Option<TickResult>> {
        let mut last = None;
        for done in 1..=n {
            last = Some(self.tick()?);
            if self.is_finished() {
                break;
            }
            if done % 256 == 0 && !keep_going() {
                return Err(EngineError::Interrupted);
            }
        }
        Ok(last)
    }

    /// Log the tick (or keep its flows for the next logged tick), fold its accounts into the run
    /// totals, and start fresh accounts. A money
    /// figure too large to report is an error, and then nothing of the tick is logged.
    fn close_tick(&mut self, now: u32) -> Result<TickResult> {
        let st = &mut self.state;
        for b in &mut st.ledger.banks {
            b.min_tick_balance = b.min_tick_balance.min(b.balance);
            b.unusable = 0;
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
        let logged = self.config.tick_log.logs(now, self.config.ticks_per_day);
        st.tick_log.append(now, &st.ledger.banks, &st.ledger.acc, logged)?;
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
        if let Some(name) = &s.rtgs_class {
            let i = RTGS_CLASS_NAMES.iter().position(|n| n == name).ok_or_else(|| {
                bad("rtgs_class", format!("unknown class '{name}' (expected {})", RTGS_CLASS_NAMES.join(", ")))
            })?;
            p.rtgs_class = Some(RtgsClass::ALL[i]);
        }
        p.divisible = s.divisible;
        let key = pair_key(Origin::Submitted, self.state.submitted[sender]);
        self.state.submitted[sender] += 1;
        Ok(self.arrive(p, key))
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
    use crate::model::{DropReason, Status};
    use crate::policy::{BankView, Decision};
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
