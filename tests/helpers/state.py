"""Engine state files as a user could edit them: the checksum recomputed after an edit."""

from __future__ import annotations


def fnv1a64(data: bytes) -> int:
    """The engine's state checksum (FNV-1a, 64 bit; native/engine/src/hash.rs), to re-sum an edited state."""
    digest = 0xCBF29CE484222325
    for byte in data:
        digest = ((digest ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return digest


def resummed(state: bytes, body: bytes) -> bytes:
    """``state``'s header, then ``body`` as its payload with a checksum that matches it."""
    return state[:8] + body + fnv1a64(body).to_bytes(8, "little")
