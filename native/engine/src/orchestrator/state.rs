//! The saved state (`paysim create`, `paysim tick` between shell commands): the config and the
//! `SimState` behind a magic header and a checksum, so a restored engine continues byte for
//! byte where the saved one would have, and a foreign or damaged file is refused.

use bincode::Options as _;

use super::{Orchestrator, SimState};
use crate::config::EngineConfig;
use crate::error::{EngineError, Result};

/// Version 2: queue values and run totals are `i128`. Version 3: payments carry pair keys, banks
/// count their random orders and submissions. Version 4: crediting, borrowing and scenario events
/// in the config, banks' lowest headroom, the event log. Version 5: payments carry a named class,
/// Queue 2 has three classes, and the ledger carries sender limits, positions and reservations.
/// Version 6: the config's `lsm.optimal` and `lsm.measure_optimum`, and the ledger's counts of
/// what the optimal LSM's solver did. Version 7: the config's bank `size` and arrivals'
/// `receivers_by_size`. Version 8: the config's `tick_log` and the tick log's pending flows. An
/// older file is refused, not misread.
const STATE_MAGIC: &[u8; 8] = b"PAYSIM\x00\x08";

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

/// The framed bytes of a state: header, payload, then a checksum of the payload.
pub(super) fn encode(config: &EngineConfig, state: &SimState) -> Result<Vec<u8>> {
    let mut out = STATE_MAGIC.to_vec();
    state_codec().serialize_into(&mut out, &(config, state)).map_err(|e| EngineError::State(e.to_string()))?;
    let sum = checksum(&out[STATE_MAGIC.len()..]);
    out.extend_from_slice(&sum.to_le_bytes());
    Ok(out)
}

/// The config and state in framed bytes, once header and checksum are found good.
pub(super) fn decode(bytes: &[u8]) -> Result<(EngineConfig, SimState)> {
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
    state_codec().deserialize(body).map_err(|e| EngineError::State(format!("corrupt state: {e}")))
}

impl Orchestrator {
    /// Header, payload, then a checksum of the payload so a damaged file is refused on load.
    pub fn save_state(&self) -> Result<Vec<u8>> {
        if let Some(e) = &self.halted {
            return Err(e.clone());
        }
        encode(&self.config, &self.state)
    }

    pub fn load_state(bytes: &[u8]) -> Result<Self> {
        let (config, state) = decode(bytes)?;
        super::restore::check(&config, &state)?;
        let o = Self::assemble(config, state).map_err(|e| EngineError::State(format!("corrupt state: {e}")))?;
        o.check_invariants().map_err(|e| EngineError::State(format!("corrupt state: {e}")))?;
        Ok(o)
    }
}
