//! One component of Queue 2 as a mixed-integer program, solved by HiGHS
//! (docs/semantics.md#the-optimal-lsm).
//!
//! Maximise Σ amount·x over the component's entries (x binary: the payment settles) subject to:
//!
//! - **Cover.** Bank i with headroom h = max(0, usable balance + credit line) and net position
//!   `net = Σ_in amount·x − Σ_out amount·x` is covered iff `net ≥ 0` or `h + net ≥ floor(L)`,
//!   L the least urgent class i pays in the set ([`crate::settlement::Ledger::shortfall_as`]).
//!   That is `net ≥ c(L)` with `c(L) = min(0, floor(L) − h)`. Floors grow as the class falls
//!   (highly urgent 0 ≤ urgent ≤ normal), so `c(HU) ≤ c(U) ≤ c(N)`; and since `net ≥ −out` always
//!   (out: all of i's outgoing amounts), each `c` is raised to at least `−out` without changing the
//!   set it admits. With indicators `y_U` (i pays an urgent or normal payment) and `y_N` (i pays a
//!   normal one), `x ≤ y` for the payments of those classes and `y_N ≤ y_U`, the cover row is
//!   `net ≥ c(HU) + (c(U) − c(HU))·y_U + (c(N) − c(U))·y_N`: both coefficients are ≥ 0, so an
//!   indicator at 1 only tightens the row and the solver sets it only when a payment forces it.
//!   Without reservations both coefficients are 0 and the row is `net ≥ −h`.
//! - **Limits.** Per bank and limit slot: normal payments out to the slot's banks minus everything
//!   received from them ≤ the room the slot has left today.
//! - **Order.** Under a strict class, `x_next ≤ x_previous` along each sender's queue of that class.
//!
//! Amounts are integers, so every row's activity is an integer; each bound is loosened by 0.5,
//! which changes no integer solution and keeps the rows safe under the solver's tolerances (far
//! below 0.5). The answer is still re-checked exactly ([`super::check`]) before it settles.
//!
//! Ties between subsets of equal value: the model is built the same way from the same queue
//! (columns in queue order, bank rows in bank id order), and HiGHS runs single-threaded with a
//! fixed seed, so the same queue gives the same subset (docs/semantics.md#the-optimal-lsm).

use std::time::Instant;

use highs::{HighsModelStatus, HighsSolutionStatus, RowProblem, Sense, SolvedModel};

use super::check::LocalBanks;
use crate::model::RtgsClass;
use crate::settlement::lsm::Scope;
use crate::settlement::{Ledger, Queued};

/// What the solver returned for a component: the chosen entries, and the best bound it proved on
/// the component's optimum (the chosen value itself when proven optimal).
pub(super) struct Solution {
    pub chosen: Vec<bool>,
    pub bound: f64,
    pub proven: bool,
}

/// Solve one component (`entries` in queue order; no bank outside it is touched) within
/// `seconds`; `None` when the solver has no feasible answer in time (or fails).
pub(super) fn solve(ledger: &Ledger, scope: Scope, entries: &[Queued], rank: &[u32], seconds: f64) -> Option<Solution> {
    let started = Instant::now();
    let mut pb = RowProblem::default();
    // The objective in units of the amounts' common divisor: still integral, and of moderate size.
    let unit = entries.iter().fold(0, |g, e| gcd(g, e.amount as u128)).max(1) as i64;
    let x: Vec<highs::Col> = entries.iter().map(|e| pb.add_integer_column((e.amount / unit) as f64, 0..=1)).collect();
    let banks = LocalBanks::of(entries.iter());
    // Each bank's entries out and in, as indexes into `entries`, in queue order.
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); banks.len()];
    let mut into: Vec<Vec<usize>> = vec![Vec::new(); banks.len()];
    for (j, e) in entries.iter().enumerate() {
        out[banks.local(e.sender)].push(j);
        into[banks.local(e.receiver)].push(j);
    }
    let mut order: Vec<usize> = (0..banks.len()).collect();
    order.sort_unstable_by_key(|&b| rank[banks.bank(b) as usize]);
    for &b in &order {
        cover_row(&mut pb, ledger, entries, &x, (banks.bank(b), &out[b], &into[b]));
        limit_rows(&mut pb, ledger, entries, &x, (banks.bank(b), &out[b], &into[b]));
        order_rows(&mut pb, scope, entries, &x, &out[b]);
    }
    let solved = run(pb.clone(), seconds, true).filter(|s| s.status() != HighsModelStatus::Infeasible);
    // The empty set is always feasible, so "infeasible" is a solver error: HiGHS 1.16's MIP
    // presolve has been seen to declare such a model infeasible (a known class of HiGHS bugs);
    // solved again without presolve, the same model solves (native/engine/tests/optimal_cases.rs).
    let solved = match solved {
        Some(s) => s,
        None => run(pb, (seconds - started.elapsed().as_secs_f64()).max(0.0), false)?,
    };
    if solved.primal_solution_status() != HighsSolutionStatus::Feasible {
        return None;
    }
    let proven = solved.status() == HighsModelStatus::Optimal;
    let columns = solved.get_solution().columns().to_vec();
    let chosen: Vec<bool> = x.iter().map(|c| columns[c.index()] > 0.5).collect();
    let value: i128 = entries.iter().zip(&chosen).filter(|(_, c)| **c).map(|(e, _)| e.amount as i128).sum();
    let bound = match proven {
        true => value as f64,
        false => (solved.double_info_value(c"mip_dual_bound").ok()? * unit as f64).max(value as f64),
    };
    Some(Solution { chosen, bound, proven })
}

/// One solve of the model, single-threaded with a fixed seed, with or without HiGHS's presolve;
/// `None` when HiGHS fails.
fn run(pb: RowProblem, seconds: f64, presolve: bool) -> Option<SolvedModel> {
    let mut model = pb.optimise(Sense::Maximise);
    model.make_quiet();
    // One thread always: HiGHS keeps one scheduler per calling thread, sized by its first solve.
    model.set_option("threads", 1);
    model.set_option("random_seed", 0);
    model.set_option("mip_rel_gap", 0.0);
    // The objective is an integer, so a bound less than 1 above the value proves it optimal.
    model.set_option("mip_abs_gap", 0.5);
    model.set_option("time_limit", seconds);
    // Measured on t2_day (benchmarks/lsm.py, docs/performance.md#lsm): the components are
    // multi-dimensional knapsacks on which HiGHS finds the optimum early and spends its time
    // proving it; restarts and the primal heuristics then cost more than they save (1.4-1.9x).
    // The answer is still proven optimal.
    model.set_option("mip_allow_restart", false);
    model.set_option("mip_heuristic_run_feasibility_jump", false);
    model.set_option("mip_heuristic_effort", 0.0);
    if !presolve {
        model.set_option("presolve", "off");
    }
    model.try_solve().ok()
}

/// A bank's entries out and in (indexes into the component's entries).
type BankEntries<'a> = (crate::model::BankIdx, &'a [usize], &'a [usize]);

/// The cover row of one bank, with its class indicators when reservations make them matter.
fn cover_row(pb: &mut RowProblem, ledger: &Ledger, entries: &[Queued], x: &[highs::Col], bank: BankEntries) {
    let (b, out, into) = bank;
    let total_out: i128 = out.iter().map(|&j| entries[j].amount as i128).sum();
    if total_out == 0 {
        return;
    }
    let h = ledger.banks[b as usize].headroom().max(0);
    let c = |class: RtgsClass| (ledger.rules.floor(b, class) - h).min(0).max(-total_out);
    let (c_hu, c_u, c_n) = (c(RtgsClass::HighlyUrgent), c(RtgsClass::Urgent), c(RtgsClass::Normal));
    if c_n == -total_out {
        return; // even the strictest bound admits every subset
    }
    let pays = |class: RtgsClass| out.iter().any(|&j| entries[j].class == class);
    let mut terms: Vec<(highs::Col, i128)> = into.iter().map(|&j| (x[j], entries[j].amount as i128)).collect();
    terms.extend(out.iter().map(|&j| (x[j], -(entries[j].amount as i128))));
    let (d_u, d_n) = (c_u - c_hu, c_n - c_u);
    let y_u =
        (d_u > 0 && (pays(RtgsClass::Urgent) || pays(RtgsClass::Normal))).then(|| pb.add_integer_column(0.0, 0..=1));
    let y_n = (d_n > 0 && pays(RtgsClass::Normal)).then(|| pb.add_integer_column(0.0, 0..=1));
    if let Some(y) = y_u {
        terms.push((y, -d_u));
    }
    if let Some(y) = y_n {
        terms.push((y, -d_n));
    }
    integer_row(pb, &terms, Bound::AtLeast(c_hu));
    for &j in out {
        let class = entries[j].class;
        // A normal payment is tied to y_N, and y_N to y_U; an urgent one to y_U directly.
        let y = match (class, y_n) {
            (RtgsClass::Normal, Some(y)) => Some(y),
            (RtgsClass::HighlyUrgent, _) => None,
            _ => y_u,
        };
        if let Some(y) = y {
            pb.add_row(..=0.0, [(x[j], 1.0), (y, -1.0)]);
        }
    }
    if let (Some(u), Some(n)) = (y_u, y_n) {
        pb.add_row(..=0.0, [(n, 1.0), (u, -1.0)]);
    }
}

/// One row per limit slot of the bank that its normal payments out could exceed.
fn limit_rows(pb: &mut RowProblem, ledger: &Ledger, entries: &[Queued], x: &[highs::Col], bank: BankEntries) {
    let (b, out, into) = bank;
    let Some(limits) = ledger.rules.bank_limits(b) else { return };
    let mut slots: Vec<(usize, highs::Col, i128)> = Vec::new();
    for &j in out.iter().filter(|&&j| entries[j].class == RtgsClass::Normal) {
        if let Some(s) = limits.slot(entries[j].receiver) {
            slots.push((s, x[j], entries[j].amount as i128));
        }
    }
    for &j in into {
        if let Some(s) = limits.slot(entries[j].sender) {
            slots.push((s, x[j], -(entries[j].amount as i128)));
        }
    }
    // Stable: within a slot, payments out then in, each in queue order.
    slots.sort_by_key(|t| t.0);
    for run in slots.chunk_by(|a, b| a.0 == b.0) {
        let room = limits.room(run[0].0);
        let most: i128 = run.iter().map(|t| t.2.max(0)).sum();
        if most <= room {
            continue; // even paying all of it and receiving nothing stays within the limit
        }
        let terms: Vec<(highs::Col, i128)> = run.iter().map(|t| (t.1, t.2)).collect();
        integer_row(pb, &terms, Bound::AtMost(room));
    }
}

/// Which side of a row its integer bound is on.
enum Bound {
    AtLeast(i128),
    AtMost(i128),
}

/// An integer row (integer coefficients on binaries, integer bound), divided by the greatest
/// common divisor of its coefficients and bound, then loosened by 0.5. The division is exact and
/// keeps the row's integer solutions; it matters for round amounts (payments in whole millions),
/// where without it the 0.5 would be a vanishing fraction of the coefficients and HiGHS's presolve
/// has been seen to cut off an optimum lying exactly on the bound.
fn integer_row(pb: &mut RowProblem, terms: &[(highs::Col, i128)], bound: Bound) {
    let value = match bound {
        Bound::AtLeast(v) | Bound::AtMost(v) => v,
    };
    let g = terms.iter().fold(value.unsigned_abs(), |g, t| gcd(g, t.1.unsigned_abs())).max(1) as i128;
    let scaled = terms.iter().map(|t| (t.0, (t.1 / g) as f64));
    match bound {
        Bound::AtLeast(v) => pb.add_row((v / g) as f64 - 0.5.., scaled),
        Bound::AtMost(v) => pb.add_row(..=(v / g) as f64 + 0.5, scaled),
    }
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `x_next ≤ x_previous` along the bank's queue of each strict class.
fn order_rows(pb: &mut RowProblem, scope: Scope, entries: &[Queued], x: &[highs::Col], out: &[usize]) {
    let mut last: [Option<usize>; crate::model::N_CLASSES] = [None; crate::model::N_CLASSES];
    for &j in out {
        let class = entries[j].class;
        if !scope.discipline.strict(class) {
            continue;
        }
        if let Some(prev) = last[class as usize] {
            pb.add_row(..=0.0, [(x[j], 1.0), (x[prev], -1.0)]);
        }
        last[class as usize] = Some(j);
    }
}
