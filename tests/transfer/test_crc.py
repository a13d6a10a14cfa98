from __future__ import annotations

import os
import random

import google_crc32c
import pytest

from jetraw._crc import crc32c, crc32c_b64, crc32c_combine, crc32c_hex


def test_known_vector() -> None:
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(bytearray(b"123456789")) == 0xE3069283
    assert crc32c(memoryview(bytearray(b"xx123456789"))[2:]) == 0xE3069283
    assert crc32c_hex(0xE3069283) == "e3069283"
    assert crc32c_b64(0xE3069283) == "4waSgw=="


def test_mutable_buffer_larger_than_a_slice() -> None:
    data = os.urandom(3 * (1 << 20) + 17)
    assert crc32c(bytearray(data)) == crc32c(data)


@pytest.mark.parametrize("split", [0, 1, 7, 4096, 99_999, 100_000])
def test_combine_matches_whole(split: int) -> None:
    data = random.Random(split).randbytes(100_000)
    a, b = data[:split], data[split:]
    assert crc32c_combine(crc32c(a), crc32c(b), len(b)) == crc32c(data)


def test_combine_many_parts() -> None:
    data = random.Random(3).randbytes(50_001)
    total = 0
    for start in range(0, len(data), 4096):
        part = data[start : start + 4096]
        total = crc32c_combine(total, crc32c(part), len(part))
    assert total == crc32c(data)


# The GF(2) matrix method of zlib's crc32_combine that jetraw used before: the reference.
_POLY = 0x82F63B78


def _gf2_times(mat: list[int], vec: int) -> int:
    total = 0
    i = 0
    while vec:
        if vec & 1:
            total ^= mat[i]
        vec >>= 1
        i += 1
    return total


def _gf2_square(mat: list[int]) -> list[int]:
    return [_gf2_times(mat, mat[n]) for n in range(32)]


def reference_combine(crc1: int, crc2: int, len2: int) -> int:
    if len2 <= 0:
        return crc1
    odd = [_POLY] + [1 << n for n in range(31)]
    even = _gf2_square(odd)
    odd = _gf2_square(even)
    while True:
        even = _gf2_square(odd)
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


def test_combine_matches_the_matrix_method_on_random_lengths() -> None:
    rng = random.Random(20261128)
    lengths = [0, 1, 2, 3, 8, 255, 4096, 5 << 20, 1 << 20, (1 << 33) + 7, 1 << 40, (1 << 61) + 5]
    lengths += [rng.randrange(1, 1 << 40) for _ in range(200)]
    lengths += [rng.randrange(1, 1 << 64) for _ in range(20)]  # beyond the 64-entry table
    for len2 in lengths:
        crc1, crc2 = rng.getrandbits(32), rng.getrandbits(32)
        assert crc32c_combine(crc1, crc2, len2) == reference_combine(crc1, crc2, len2), len2


def test_combine_matches_google_crc32c_of_concatenated_data() -> None:
    rng = random.Random(7)
    for _ in range(300):
        a = rng.randbytes(rng.randrange(0, 3000))
        b = rng.randbytes(rng.choice([0, 1, 2, rng.randrange(0, 3000)]))
        assert crc32c_combine(crc32c(a), crc32c(b), len(b)) == crc32c(a + b)
        assert crc32c(a + b) == int(google_crc32c.value(a + b))
