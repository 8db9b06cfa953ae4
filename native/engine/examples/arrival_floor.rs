//! The physical limit of a day (benchmarks/engine.py, docs/performance.md#engine): draw the same
//! random arrivals as the engine, from the same per-bank streams and receiver tables, and settle
//! each gross at once, with no queue, no LSM, no policy and no log. What the engine spends beyond
//! this is the price of everything it models and records.
//!
//! `cargo run --release -p paysim-engine --example arrival_floor -- config.json` prints
//! `{"seconds": …, "payments": …}`; the config is an engine dict as JSON.

use std::time::Instant;

use paysim_engine::arrivals::{bank_stream, ArrivalSampler};
use paysim_engine::config::{EngineConfig, NoFiles};
use paysim_engine::directory::BankDirectory;
use paysim_engine::receivers::SizeTable;

fn main() {
    let path = std::env::args().nth(1).expect("usage: arrival_floor CONFIG.json");
    let text = std::fs::read_to_string(&path).expect("readable config");
    let value: serde_json::Value = serde_json::from_str(&text).expect("a JSON engine config");
    let config = EngineConfig::from_value(&value, &NoFiles).unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let directory = BankDirectory::new(config.agents.iter().map(|a| a.id.as_str()));
    let sizes: Vec<f64> = config.agents.iter().map(|a| a.size).collect();
    let table = SizeTable::build(&sizes, &directory);
    let samplers: Vec<Option<ArrivalSampler>> = (config.agents.iter().enumerate())
        .map(|(i, a)| a.arrival_config.as_ref().map(|c| ArrivalSampler::new(c, i, &directory, &sizes, table.as_ref())))
        .collect();
    let mut rngs: Vec<_> = config.agents.iter().map(|a| bank_stream(config.rng_seed, &a.id)).collect();
    let mut balances: Vec<i64> = config.agents.iter().map(|a| a.opening_balance).collect();
    let (mut draws, mut payments) = (Vec::new(), 0u64);
    for _ in 0..config.total_ticks() {
        for (b, sampler) in samplers.iter().enumerate() {
            let Some(sampler) = sampler else { continue };
            draws.clear();
            sampler.draw(&mut rngs[b], &directory, &mut draws);
            for d in &draws {
                balances[b] -= d.amount;
                balances[d.receiver as usize] += d.amount;
            }
            payments += draws.len() as u64;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    // The balances are read, so the loop cannot be optimised away.
    assert_eq!(balances.iter().sum::<i64>(), config.agents.iter().map(|a| a.opening_balance).sum::<i64>());
    println!("{}", serde_json::json!({"seconds": seconds, "payments": payments}));
}
