from __future__ import annotations

import os
import random

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
