"""Mandatory programs, defined once in perisai.domain.programs (BPU_RULES: JKK + JKM minimum, JHT optional)."""

from __future__ import annotations

import pytest

from perisai.domain.errors import DomainValidationError
from perisai.domain.programs import (
    MANDATORY_PROGRAMS,
    PROGRAMS,
    missing_mandatory_programs,
    require_mandatory_programs,
)


def test_mandatory_programs_are_jkk_and_jkm():
    assert MANDATORY_PROGRAMS == ("JKK", "JKM")
    assert PROGRAMS == ("JKK", "JKM", "JHT")


@pytest.mark.parametrize(
    "programs,expected",
    [
        (["JKK", "JKM"], ["JKK", "JKM"]),
        (["JHT", "JKM", "JKK"], ["JKK", "JKM", "JHT"]),  # canonical order
        (["JKM", "JKK", "JKK", "JKM"], ["JKK", "JKM"]),  # duplicates dropped
        (("JKK", "JKM", "JHT"), ["JKK", "JKM", "JHT"]),
    ],
)
def test_require_mandatory_programs_orders_and_deduplicates(programs, expected):
    assert require_mandatory_programs(programs) == expected


@pytest.mark.parametrize(
    "programs,missing",
    [(["JKK"], "JKM"), (["JKM", "JHT"], "JKK"), ([], "JKK, JKM"), (["JHT"], "JKK, JKM")],
)
def test_missing_mandatory_program_is_refused_on_programs(programs, missing):
    assert ", ".join(missing_mandatory_programs(programs)) == missing
    with pytest.raises(DomainValidationError) as info:
        require_mandatory_programs(programs)
    assert info.value.field_names == ["programs"]
    assert info.value.fields[0].message.endswith(f"missing {missing}")
