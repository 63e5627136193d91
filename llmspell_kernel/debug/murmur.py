"""MurmurHash2 (32-bit), the hash JupyterLab's debugger uses to name cell files."""

from __future__ import annotations

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data: bytes, seed: int) -> int:
    """MurmurHash2 of `data` with `seed` (Austin Appleby's algorithm, little-endian reads)."""
    length = len(data)
    h = (seed ^ length) & _MASK
    blocks = length // 4
    for index in range(blocks):
        k = int.from_bytes(data[4 * index : 4 * index + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = data[4 * blocks :]
    if len(tail) >= 3:
        h ^= tail[2] << 16
    if len(tail) >= 2:
        h ^= tail[1] << 8
    if tail:
        h ^= tail[0]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h
