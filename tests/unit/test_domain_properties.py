"""Property tests for dues and identity rules (hypothesis, modest example counts)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from importlib import resources

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum import numdb

from perisai.domain.errors import DomainValidationError
from perisai.domain.identity import (
    nik_birth_date_and_gender,
    normalize_mobile,
    validate_nik,
)
from perisai.domain.months import DuesMonth
from perisai.domain.quote import quote_dues
from perisai.domain.rates import RateBook

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
    return RateBook.model_validate(data)


BOOKS = {"packaged": RateBook.load(), "two-version": _two_version_book()}

months = st.builds(DuesMonth, st.integers(2015, 2032), st.integers(1, 12)).filter(lambda m: m >= DuesMonth(2015, 7))
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
    assert rules.jkk.floor <= q.jkk <= rules.jkk.ceiling
    assert q.jkm == rules.jkm.flat
    assert q.income_bracket in rules.brackets.incomes
    assert 0 <= q.discount <= q.jkk + q.jkm
    assert q.total >= 0
    assert q.total == q.jkk + q.jkm + q.jht - q.discount
    if payer == "government":
        assert q.discount == 0
    # JHT is charged in full (never discounted): adding it adds exactly 2% (or the version's rate).
    with_jht = quote(book, income, sector, ("JKK", "JKM", "JHT"), month, payer)
    without = quote(book, income, sector, ("JKK", "JKM"), month, payer)
    expected_jht = q.income_bracket * rules.jht.rate_bp // 10_000
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
    only = book.model_copy(update={"versions": (in_force,)})  # the same book with only that version
    expected = quote(only, income, sector, programs, month, payer)
    assert quote(book, income, sector, programs, month, payer) == expected
    assert only.versions == (in_force,)
    if data is not None:
        # Same check built from raw data, independent of the book's own copy.
        data["versions"] = [
            v
            for v in data["versions"]
            if DuesMonth.parse(v["effective_from"]) <= month
            and (v["effective_until"] is None or month <= DuesMonth.parse(v["effective_until"]))
        ]
        assert quote(RateBook.model_validate(data), income, sector, programs, month, payer) == expected


@SETTINGS
@given(a=months, b=months)
def test_month_text_round_trips_and_orders(a, b):
    assert DuesMonth.parse(str(a)) == a
    assert (a < b) == (str(a) < str(b))  # "YYYY-MM" sorts as the months do
    assert DuesMonth.of(a.due_date()) == a


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


def _extra_regency_codes() -> list[str]:
    # Kemendagri codes stdnum's loc.dat lacks (Kalimantan Utara, the Papua provinces, regencies since 2012).
    text = resources.files("perisai.domain").joinpath("data", "nik_regencies.json").read_text("utf-8")
    data = json.loads(text)
    return sorted({*data["current"], *data["before_2022_papua_split"]})


REGION_CODES = _regency_codes() + _extra_regency_codes()
KNOWN_REGIONS = frozenset(REGION_CODES)
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


@SETTINGS
@given(region=st.integers(0, 9999).map(lambda i: f"{i:04d}").filter(lambda r: r not in KNOWN_REGIONS))
def test_unknown_regions_are_refused(region):
    # Defect 9: a known province is not enough, the regency must exist too.
    with pytest.raises(DomainValidationError) as info:
        validate_nik(f"{region}011708900001")
    assert info.value.field_names == ["nik"] and "region" in info.value.fields[0].message


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
