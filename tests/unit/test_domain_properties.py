"""Property tests for dues and identity rules (hypothesis, modest example counts)."""

from __future__ import annotations

from datetime import date, timedelta

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum import numdb

from perisai.domain.dues import DuesMonth, RateBook, quote_dues
from perisai.domain.errors import DomainValidationError
from perisai.domain.identity import (
    mask_nik,
    mask_phone,
    nik_birth_date_and_gender,
    normalize_mobile,
    validate_nik,
)

# database=None: no .hypothesis/ directory left in the work tree.
SETTINGS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def _two_version_book() -> RateBook:
    # Packaged data plus a made-up later regulation, so "the version in force"
    # is a real choice rather than the only version.
    data = RateBook.default_data()
    data["versions"][0]["effective_until"] = "2029-12"
    later = {**data["versions"][0], "id": "test-2030", "effective_from": "2030-01", "effective_until": None}
    later["brackets"] = {"source": "test", "incomes": [1_500_000, 3_000_000, 9_000_000]}
    later["jkk"] = {"rate_bp": 120, "floor": 12_000, "ceiling": 100_000}
    later["jkm"] = {"flat": 7_250}
    later["jht"] = {"rate_bp": 250}
    data["versions"].append(later)
    return RateBook.from_dict(data)


BOOKS = {"packaged": RateBook.load(), "two-version": _two_version_book()}

months = st.integers(DuesMonth(2015, 7).ordinal, DuesMonth(2032, 12).ordinal).map(DuesMonth.from_ordinal)
incomes = st.integers(0, 40_000_000)
sectors = st.sampled_from(["transport", "other"])
payers = st.sampled_from(["self", "sponsor", "government"])
program_sets = st.sampled_from([("JKK", "JKM"), ("JKK", "JKM", "JHT")])


def quote(book, income, sector, programs, month, payer):
    return quote_dues(
        monthly_income=income, sector=sector, programs=programs, month=month, payer_type=payer, rate_book=book
    )


@pytest.mark.parametrize("book_name", BOOKS)
@SETTINGS
@given(a=incomes, b=incomes, sector=sectors, programs=program_sets, month=months, payer=payers)
def test_dues_non_decreasing_in_income(book_name, a, b, sector, programs, month, payer):
    book = BOOKS[book_name]
    lo, hi = sorted((a, b))
    q_lo = quote(book, lo, sector, programs, month, payer)
    q_hi = quote(book, hi, sector, programs, month, payer)
    assert q_lo.income_bracket <= q_hi.income_bracket
    assert q_lo.jkk <= q_hi.jkk and q_lo.jht <= q_hi.jht
    assert q_lo.total <= q_hi.total


@pytest.mark.parametrize("book_name", BOOKS)
@SETTINGS
@given(income=incomes, sector=sectors, programs=program_sets, month=months, payer=payers)
def test_quote_invariants(book_name, income, sector, programs, month, payer):
    book = BOOKS[book_name]
    rules = book.rules_for(month)
    q = quote(book, income, sector, programs, month, payer)
    assert rules.jkk_floor <= q.jkk <= rules.jkk_ceiling
    assert q.jkm == rules.jkm_flat
    assert q.income_bracket in rules.bracket_incomes
    assert 0 <= q.discount <= q.jkk + q.jkm
    assert q.total >= 0
    assert q.total == q.jkk + q.jkm + q.jht - q.discount
    if payer == "government":
        assert q.discount == 0
    # JHT is charged in full (never discounted): adding it adds exactly 2% (or the version's rate).
    with_jht = quote(book, income, sector, ("JKK", "JKM", "JHT"), month, payer)
    without = quote(book, income, sector, ("JKK", "JKM"), month, payer)
    expected_jht = q.income_bracket * rules.jht_rate_bp // 10_000
    assert with_jht.jht == expected_jht
    assert with_jht.total - without.total == expected_jht
    assert with_jht.discount == without.discount
    assert all(type(v) is int for k, v in q.model_dump().items() if k != "month")


@pytest.mark.parametrize("book_name", BOOKS)
@SETTINGS
@given(income=incomes, sector=sectors, programs=program_sets, month=months, payer=payers)
def test_quote_uses_only_the_version_in_force(book_name, income, sector, programs, month, payer):
    book = BOOKS[book_name]
    in_force = book.rules_for(month)
    data = RateBook.default_data() if book_name == "packaged" else None
    only = book.restricted_to(month)
    expected = quote(only, income, sector, programs, month, payer)
    assert quote(book, income, sector, programs, month, payer) == expected
    assert only.versions == (in_force,)
    if data is not None:
        # Same check built from raw data, independent of restricted_to.
        data["versions"] = [
            v
            for v in data["versions"]
            if DuesMonth.parse(v["effective_from"]) <= month
            and (v["effective_until"] is None or month <= DuesMonth.parse(v["effective_until"]))
        ]
        assert quote(RateBook.from_dict(data), income, sector, programs, month, payer) == expected


@SETTINGS
@given(month=months, n=st.integers(-500, 500))
def test_month_arithmetic_round_trips(month, n):
    moved = month.plus(n)
    assert moved.months_since(month) == n
    assert moved.plus(-n) == month
    assert DuesMonth.parse(str(month)) == month
    assert month.next().previous() == month
    assert (moved > month) == (n > 0)
    assert DuesMonth.of(month.due_date()) == month


# --- NIK ------------------------------------------------------------------


def _regency_codes() -> list[str]:
    db = numdb.get("id/loc")
    codes = []
    for i in range(10_000):
        prefix = f"{i:04d}"
        levels = db.info(prefix)
        if len(levels) >= 2 and levels[0][1] and levels[1][1]:
            codes.append(prefix)
    return codes


REGION_CODES = _regency_codes() + ["6501", "6571", "9201", "9301", "9501", "9601"]
ON = date(2026, 1, 1)


@SETTINGS
@given(
    region=st.sampled_from(REGION_CODES),
    district=st.integers(1, 99),
    birth=st.dates(min_value=ON - timedelta(days=365 * 100 - 30), max_value=ON),
    female=st.booleans(),
    serial=st.integers(1, 9999),
)
def test_any_well_formed_nik_is_valid_and_round_trips(region, district, birth, female, serial):
    day = birth.day + (40 if female else 0)
    nik = f"{region}{district:02d}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"
    assert validate_nik(nik) == nik
    assert nik_birth_date_and_gender(nik, on=ON) == (birth, "F" if female else "M")
    masked = mask_nik(nik)
    assert masked[:4] == nik[:4] and masked[-4:] == nik[-4:] and set(masked[4:-4]) == {"*"}


@SETTINGS
@given(st.text(max_size=20))
def test_validate_nik_raises_only_domain_errors(text):
    try:
        assert validate_nik(text).isdigit()
    except DomainValidationError as exc:
        assert exc.field_names == ["nik"]


# --- phone ----------------------------------------------------------------


def _is_valid_id_mobile(e164: str) -> bool:
    n = phonenumbers.parse(e164)
    return phonenumbers.is_valid_number_for_region(n, "ID") and phonenumbers.number_type(n) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


mobile_candidates = (
    st.integers(8, 11)
    .flatmap(lambda k: st.text("0123456789", min_size=k, max_size=k))
    .map(lambda digits: "+628" + digits)
)


@SETTINGS
@given(mobile_candidates.filter(_is_valid_id_mobile))
def test_valid_mobiles_accepted_in_every_form(e164):
    assert normalize_mobile(e164) == e164
    assert normalize_mobile(normalize_mobile(e164)) == normalize_mobile(e164)
    national = e164[3:]
    assert normalize_mobile("0" + national) == e164
    assert normalize_mobile("62" + national) == e164
    assert normalize_mobile(f"0{national[:3]}-{national[3:7]}-{national[7:]}") == e164
    masked = mask_phone(e164)
    assert masked.startswith("+62") and masked.endswith(e164[-3:]) and national[:-3] not in masked


@SETTINGS
@given(mobile_candidates.filter(lambda x: not _is_valid_id_mobile(x)))
def test_invalid_628_numbers_rejected(e164):
    with pytest.raises(DomainValidationError) as info:
        normalize_mobile(e164)
    assert info.value.field_names == ["phone"]


@SETTINGS
@given(st.text(max_size=25))
def test_normalize_mobile_raises_only_domain_errors(text):
    try:
        out = normalize_mobile(text)
    except DomainValidationError as exc:
        assert exc.field_names == ["phone"]
    else:
        assert out.startswith("+628") and out[1:].isdigit() and normalize_mobile(out) == out
