//! proptest properties with the T2 rules (classes, `rtgs.queue: t2`, `lsm.include_urgent`, sender
//! limits, reservations) switched on at random: conservation, credit limits, limits never
//! breached, reservations respected, settlement at most once.

mod common;
use common::*;
use paysim_engine::config::{EngineConfig, LsmConfig, LsmMode, NoFiles, QueueDiscipline};
use paysim_engine::model::{Bank, Payment, RtgsClass, SettledVia, Status, NONE};
use paysim_engine::settlement::rules::SenderRules;
use paysim_engine::settlement::{lsm, rtgs, Ledger};
use proptest::prelude::*;
use serde_json::{json, Value};

const MODES: [&str; 6] = ["none", "bilateral", "cycles", "multilateral", "t2", "t2_classic"];
const QUEUES: [&str; 3] = ["fifo_bypass", "strict_fifo", "t2"];
const CLOSES: [&str; 3] = ["drop", "carry", "borrow"];
const CLASSES: [Option<&str>; 4] = [None, Some("highly_urgent"), Some("urgent"), Some("normal")];

/// Per bank: (balance, credit, limit towards the next bank, multilateral limit, HU and U reservations),
/// each rule present or not at random.
type BankRules = (i64, i64, Option<i64>, Option<i64>, Option<(i64, i64)>);

fn bank_rules() -> impl Strategy<Value = BankRules> {
    (
        0i64..3000,
        0i64..1000,
        prop::option::of(0i64..2000),
        prop::option::of(0i64..3000),
        prop::option::of((0i64..800, 0i64..800)),
    )
}

fn agents(n: usize, banks: &[BankRules]) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let (bal, credit, bilateral, multilateral, reserve) = banks[i];
            let mut a = json!({"id": format!("B{i}"), "opening_balance": bal, "credit_limit": credit,
                "policy": {"type": "Fifo"}});
            if bilateral.is_some() || multilateral.is_some() {
                let mut limits = json!({});
                if let Some(x) = bilateral {
                    limits["bilateral"] = json!({format!("B{}", (i + 1) % n): x});
                }
                if let Some(x) = multilateral {
                    limits["multilateral"] = json!(x);
                }
                a["limits"] = limits;
            }
            if let Some((hu, u)) = reserve {
                a["reservations"] = json!({"highly_urgent": hu, "urgent": u});
            }
            a
        })
        .collect()
}

prop_compose! {
    fn scenario()(n in 2usize..6, seed in 0u64..1000, mode in 0usize..6, queue in 0usize..3,
                  include_urgent in prop::option::of(any::<bool>()), close in 0usize..3, deferred in any::<bool>(),
                  days in 1u32..3,
                  banks in prop::collection::vec(bank_rules(), 6),
                  rates in prop::collection::vec((0.0f64..1.5, 0u8..11, 0usize..4), 6),
                  scheduled in prop::collection::vec((0usize..6, 0usize..6, 1i64..3000, 0u32..20, 0usize..4), 0..12))
                  -> Value {
        let mut agents = agents(n, &banks);
        for (i, a) in agents.iter_mut().enumerate() {
            let (rate, priority, class) = rates[i];
            a["arrival_config"] = json!({"rate_per_tick": rate, "deadline_offset": 6, "priority": priority,
                "distribution": {"type": "LogNormal", "mean_log": 6.0, "std_dev_log": 1.0}, "rtgs_class": CLASSES[class]});
        }
        let sched: Vec<Value> = scheduled.iter().filter(|(s, r, ..)| s % n != r % n)
            .map(|(s, r, a, t, c)| json!({"sender": format!("B{}", s % n), "receiver": format!("B{}", r % n), "amount": a,
                "arrival_tick": t % (10 * days), "priority": (a % 11), "rtgs_class": CLASSES[*c]}))
            .collect();
        json!({"ticks_per_day": 10, "num_days": days, "rng_seed": seed, "agent_configs": agents, "scheduled_payments": sched,
               "lsm": {"mode": MODES[mode], "include_urgent": include_urgent},
               "rtgs": {"queue": QUEUES[queue], "crediting": if deferred {"deferred"} else {"immediate"}},
               "end_of_day": {"unsettled": CLOSES[close]}})
    }
}

/// Each limit of `cfg`, recomputed from the payments settled so far today: (bank, counterparties
/// of the slot, limit). The multilateral slot covers every bank without a bilateral limit.
fn limit_slots(cfg: &EngineConfig) -> Vec<(usize, Vec<usize>, i64)> {
    let ids: Vec<&str> = cfg.agents.iter().map(|a| a.id.as_str()).collect();
    let mut out = Vec::new();
    for (b, a) in cfg.agents.iter().enumerate() {
        let Some(l) = &a.limits else { continue };
        let bilateral: Vec<usize> =
            l.bilateral.iter().map(|(id, _)| ids.iter().position(|x| x == id).unwrap()).collect();
        for ((_, x), &c) in l.bilateral.iter().zip(&bilateral) {
            out.push((b, vec![c], *x));
        }
        if let Some(x) = l.multilateral {
            out.push((b, (0..ids.len()).filter(|c| *c != b && !bilateral.contains(c)).collect(), x));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn invariants_hold_with_rules_on(cfg in scenario()) {
        let parsed = EngineConfig::from_value(&cfg, &NoFiles).unwrap();
        let slots = limit_slots(&parsed);
        // A close with borrowing takes banks below their lines on purpose; check_invariants allows for the loans.
        let borrows = cfg["end_of_day"]["unsettled"] == "borrow";
        let mut o = engine(cfg);
        let total: i64 = balances(&o).iter().sum();
        let mut settlements = 0u64;
        while !o.is_finished() {
            let now = o.current_tick();
            let day_start = now - now % 10;
            settlements += o.tick().unwrap().num_settlements as u64;
            prop_assert_eq!(balances(&o).iter().sum::<i64>(), total);
            for b in o.banks().iter().filter(|_| !borrows) {
                prop_assert!(b.min_balance >= -b.credit_limit, "{} reached {}", b.id, b.min_balance);
            }
            // Every limit holds on today's settled payments, recomputed from the payments themselves.
            for (bank, counterparties, limit) in &slots {
                let position: i128 = o.payments().iter()
                    // The close with borrowing settles regardless of limits (docs/semantics.md#t2-settlement-rules).
                    .filter(|p| p.status == Status::Settled && p.settle_tick >= day_start
                        && p.settled_via != SettledVia::EodBorrowing)
                    .map(|p| {
                        let sent = p.sender as usize == *bank && counterparties.contains(&(p.receiver as usize))
                            && p.class() == RtgsClass::Normal;
                        let received = p.receiver as usize == *bank && counterparties.contains(&(p.sender as usize));
                        (if sent { p.amount as i128 } else { 0 }) - (if received { p.amount as i128 } else { 0 })
                    })
                    .sum();
                prop_assert!(position <= *limit as i128, "bank {} at {} over {} at tick {}", bank, position, limit, now);
            }
        }
        o.check_invariants().unwrap();
        // At most once: each settled payment has one settle tick and the log counts each once.
        let settled = o.payments().iter().filter(|p| p.status == Status::Settled).count() as u64;
        prop_assert_eq!(settlements, settled);
        for p in o.payments() {
            prop_assert_eq!(p.settle_tick != NONE, p.status == Status::Settled);
        }
    }

    #[test]
    fn a_restored_engine_continues_with_its_positions(cfg in scenario(), cut in 0u32..20) {
        let mut whole = engine(cfg.clone());
        whole.run(|| true).unwrap();
        let mut first = engine(cfg);
        while first.current_tick() < cut.min(first.total_ticks() as u32) {
            first.tick().unwrap();
        }
        let mut restored = paysim_engine::Orchestrator::load_state(&first.save_state().unwrap()).unwrap();
        restored.run(|| true).unwrap();
        let outcome = |o: &paysim_engine::Orchestrator| {
            o.payments().iter().map(|p| (p.status, p.settle_tick, p.settled_via)).collect::<Vec<_>>()
        };
        prop_assert_eq!(outcome(&whole), outcome(&restored));
        prop_assert_eq!(balances(&whole), balances(&restored));
    }

    #[test]
    fn every_settlement_leaves_the_reservations_and_limits(
        n in 2usize..5, banks in prop::collection::vec(bank_rules(), 5),
        pays in prop::collection::vec((0usize..5, 0usize..5, 1i64..2000, 0usize..4), 1..25),
        mode in 1usize..6, queue in 0usize..3,
    ) {
        let cfg = json!({"ticks_per_day": 1, "rng_seed": 0, "agent_configs": agents(n, &banks)});
        let parsed = EngineConfig::from_value(&cfg, &NoFiles).unwrap();
        let rules = SenderRules::new(&parsed.agents, |id| parsed.agents.iter().position(|a| a.id == id));
        let mut l = Ledger::new(parsed.agents.iter().map(|a| Bank::new(a.id.clone(), a.opening_balance, a.credit_limit)).collect());
        l.rules = rules;
        let discipline = [QueueDiscipline::FifoBypass, QueueDiscipline::StrictFifo, QueueDiscipline::T2][queue];
        // Gross, one release at a time: each settlement on its own must leave the floor and the limits.
        for (s, r, amount, c) in pays.iter().filter(|(s, r, ..)| s % n != r % n) {
            let mut p = Payment::new((s % n) as u32, (r % n) as u32, *amount, 0, 0);
            p.rtgs_class = [None, Some(RtgsClass::HighlyUrgent), Some(RtgsClass::Urgent), Some(RtgsClass::Normal)][*c];
            let (sender, class) = (p.sender, p.class());
            let tx = l.create(p);
            rtgs::release(&mut l, tx, discipline, 0);
            if l.payments[tx as usize].status == Status::Settled {
                let b = &l.banks[sender as usize];
                prop_assert!(b.balance as i128 + b.credit_limit as i128 >= l.rules.floor(sender, class));
            }
            prop_assert_eq!(l.rules.worst_breach(), None);
        }
        // One LSM pass on what is queued: limits hold, and (multilateral settles one batch, so its
        // net payers are known) every net payer leaves the floor of its lowest class paying.
        let before: Vec<i64> = l.banks.iter().map(|b| b.balance).collect();
        let queued: Vec<u32> = (0..l.payments.len() as u32).filter(|t| l.payments[*t as usize].status == Status::Queue2).collect();
        let modes = [LsmMode::None, LsmMode::Bilateral, LsmMode::Cycles, LsmMode::Multilateral, LsmMode::T2, LsmMode::T2Classic];
        let rank: Vec<u32> = (0..n as u32).collect();
        lsm::run(&mut l, &LsmConfig { mode: modes[mode], max_cycle_length: 4, include_urgent: Some(true), ..LsmConfig::default() }, discipline, &rank, 0);
        prop_assert_eq!(l.rules.worst_breach(), None);
        for (b, bank) in l.banks.iter().enumerate() {
            let lowest = queued.iter().map(|t| &l.payments[*t as usize])
                .filter(|p| p.status == Status::Settled && p.sender as usize == b).map(|p| p.class()).max();
            if let (Some(class), true, LsmMode::Multilateral) = (lowest, bank.balance < before[b], modes[mode]) {
                prop_assert!(bank.balance as i128 + bank.credit_limit as i128 >= l.rules.floor(b as u32, class),
                    "bank {} paid net into its reservation", b);
            }
        }
    }
}
