"""The bench's request-unit and SMS arithmetic against the rules AWS and GSM 03.38 publish
(expected values worked out by hand), so the cost figures in docs/BENCHMARKS.md rest on it."""

from __future__ import annotations

import pytest

from bench.awsmeter import attribute_size, item_size, read_units, sms_segments, write_units


def test_item_size_counts_names_and_values_as_dynamodb_bills_them() -> None:
    # "pk" 2 + "PARTICIPANT#1" 13; "n" 1 + 12345 (5 significant digits: 3 bytes + 1); "ok" 2 + 1
    item = {"pk": {"S": "PARTICIPANT#1"}, "n": {"N": "12345"}, "ok": {"BOOL": True}}
    assert item_size(item) == 15 + 5 + 3
    assert item_size(None) == 0


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ({"N": "100"}, 2),  # trailing zeroes trimmed: one significant digit
        ({"N": "-0.0012"}, 2),
        ({"S": "Rp8.400 bayar sblm 15/12"}, 24),
        ({"S": "é"}, 2),  # UTF-8 bytes, not characters
        ({"L": []}, 3),  # an empty list is its 3 bytes of overhead
        ({"L": [{"S": "ab"}, {"NULL": True}]}, 3 + (1 + 2) + (1 + 1)),  # 1 byte per element
        ({"M": {"k": {"S": "v"}}}, 3 + 1 + 1 + 1),
    ],
)
def test_attribute_sizes(value: dict, size: int) -> None:
    assert attribute_size(value) == size


def test_write_and_read_units() -> None:
    assert write_units(0, 1024, transactional=False) == 1
    assert write_units(1540, 1025, transactional=False) == 2  # the larger of before and after
    assert write_units(1540, 0, transactional=True) == 4  # transactions cost twice
    assert read_units(4096, consistent=True) == 1
    assert read_units(4097, consistent=True) == 2
    assert read_units(100, consistent=False) == 0.5


def test_sms_segments_follow_gsm7_and_ucs2_limits() -> None:
    assert sms_segments("a" * 160) == 1
    assert sms_segments("a" * 161) == 2  # split messages carry 153 septets each
    assert sms_segments("a" * 306) == 2
    assert sms_segments("€" * 80) == 1  # extension characters take two septets
    assert sms_segments("€" * 81) == 2
    assert sms_segments("ā" * 70) == 1  # outside GSM 03.38: UCS-2, 70 then 67 per part
    assert sms_segments("ā" * 71) == 2
