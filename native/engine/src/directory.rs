//! The bank directory: every bank's index by id, and the banks in id order.
//!
//! Built once per engine from the config. Lookups by id are hash-map lookups, so systems of tens
//! of thousands of banks build and replay scheduled payments without a linear search per id. The id
//! order is what makes receiver draws and LSM tie-breaks independent of the order in which the
//! config lists its banks (docs/semantics.md#random-numbers).

use std::collections::HashMap;

use crate::model::BankIdx;

#[derive(Debug, Clone)]
pub struct BankDirectory {
    index: HashMap<String, BankIdx>,
    /// Config indexes of the banks, sorted by id (byte-wise, as `str` orders).
    by_id: Vec<BankIdx>,
    /// Position of each bank (by config index) in `by_id`.
    rank: Vec<u32>,
}

impl BankDirectory {
    /// `ids` in config order; they were validated to be distinct.
    pub fn new<'a>(ids: impl IntoIterator<Item = &'a str>) -> Self {
        let ids: Vec<&str> = ids.into_iter().collect();
        let index = ids.iter().enumerate().map(|(i, id)| (id.to_string(), i as BankIdx)).collect();
        let mut by_id: Vec<BankIdx> = (0..ids.len() as BankIdx).collect();
        by_id.sort_unstable_by_key(|&b| ids[b as usize]);
        let mut rank = vec![0u32; ids.len()];
        for (r, &b) in by_id.iter().enumerate() {
            rank[b as usize] = r as u32;
        }
        BankDirectory { index, by_id, rank }
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The config index of bank `id`.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.index.get(id).map(|&i| i as usize)
    }

    /// Each bank's position in id order, by config index.
    pub fn rank(&self) -> &[u32] {
        &self.rank
    }

    /// The `k`-th bank in id order, counting every bank but the one at position `skip` (so `k` runs
    /// over `0..len() - 1`): how a bank without counterparty weights picks a receiver.
    pub fn nth_other(&self, k: usize, skip: u32) -> BankIdx {
        self.by_id[k + usize::from(k >= skip as usize)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_follow_ids_not_config_order() {
        let d = BankDirectory::new(["C", "A", "B"]);
        assert_eq!(d.rank(), &[2, 0, 1]);
        assert_eq!(d.index_of("B"), Some(2));
        assert_eq!(d.index_of("Z"), None);
    }

    #[test]
    fn nth_other_skips_the_sender_in_id_order() {
        let d = BankDirectory::new(["C", "A", "B"]);
        // Sender B (rank 1): the others in id order are A, C.
        let others: Vec<BankIdx> = (0..2).map(|k| d.nth_other(k, d.rank()[2])).collect();
        assert_eq!(others, vec![1, 0]);
    }
}
