//! FNV-1a (64-bit): a fixed, documented hash for what must never change between builds — the
//! bank-keyed RNG streams (docs/semantics.md, random numbers) and the checksum of saved states.
//! std's `DefaultHasher` is explicitly allowed to change between Rust releases, so it cannot key
//! a stream that a golden test pins.

const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// An FNV-1a state fed in pieces; `Fnv1a::new().write(a).write(b)` equals hashing `a ++ b`.
#[derive(Clone, Copy, Debug)]
pub struct Fnv1a(u64);

impl Fnv1a {
    pub fn new() -> Self {
        Fnv1a(OFFSET_BASIS)
    }

    pub fn write(mut self, bytes: &[u8]) -> Self {
        for b in bytes {
            self.0 = (self.0 ^ *b as u64).wrapping_mul(PRIME);
        }
        self
    }

    pub fn finish(self) -> u64 {
        self.0
    }
}

impl Default for Fnv1a {
    fn default() -> Self {
        Self::new()
    }
}

/// FNV-1a of one byte string.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    Fnv1a::new().write(bytes).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_test_vectors() {
        // From the FNV reference (isthe.com/chongo/tech/comp/fnv): "" and "a" under FNV-1a 64.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(Fnv1a::new().write(b"foo").write(b"bar").finish(), fnv1a64(b"foobar"));
    }
}
