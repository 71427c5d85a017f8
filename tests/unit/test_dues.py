"""Dues computation against /work/shared/domain/BPU_RULES.md (expected values written out by hand)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ValidationError

from perisai.domain.errors import DomainValidationError, FieldError, RulesNotInForce
from perisai.domain.months import DuesMonth
from perisai.domain.quote import DuesQuote, quote_dues
from perisai.domain.rates import RateBook, max_amount_rupiah

BASE = ["JKK", "JKM"]
WITH_JHT = ["JKK", "JKM", "JHT"]


def q(income=1_000_000, sector="other", programs=BASE, month="2025-12", payer_type="self", rate_book=None):
    return quote_dues(
        monthly_income=income,
        sector=sector,
        programs=programs,
        month=DuesMonth.parse(month) if isinstance(month, str) else month,
        payer_type=payer_type,
        rate_book=rate_book,
    )


def book_with(**changes) -> RateBook:
    """The packaged data with parts of the first version replaced."""
    data = RateBook.default_data()
    data["versions"][0].update(changes)
    return RateBook.model_validate(data)


# PP 50/2025 windows: transport 2026-01..2027-03, other 2026-04..2026-12 (inclusive).
WINDOW_TABLE = [
    ("2025-12", "transport", False),
    ("2026-01", "transport", True),
    ("2026-03", "transport", True),
    ("2026-04", "transport", True),
    ("2026-12", "transport", True),
    ("2027-01", "transport", True),
    ("2027-03", "transport", True),
    ("2027-04", "transport", False),
    ("2025-12", "other", False),
    ("2026-01", "other", False),
    ("2026-03", "other", False),
    ("2026-04", "other", True),
    ("2026-12", "other", True),
    ("2027-01", "other", False),
    ("2027-03", "other", False),
    ("2027-04", "other", False),
]


@pytest.mark.parametrize("month,sector,discounted", WINDOW_TABLE)
@pytest.mark.parametrize(
    "programs,full_total,discounted_total",
    [
        (BASE, 16_800, 8_400),  # minimum package; Rp16,800 -> Rp8,400
        (WITH_JHT, 36_800, 28_400),  # JHT Rp20,000 stays undiscounted
    ],
    ids=["jkk+jkm", "with-jht"],
)
def test_minimum_bracket_across_discount_windows(month, sector, discounted, programs, full_total, discounted_total):
    quote = q(income=1_000_000, sector=sector, programs=programs, month=month)
    assert quote.month == month
    assert quote.income_bracket == 1_000_000
    assert (quote.jkk, quote.jkm) == (10_000, 6_800)
    assert quote.jht == (20_000 if "JHT" in programs else 0)
    assert quote.discount == (8_400 if discounted else 0)
    assert quote.total == (discounted_total if discounted else full_total)


@pytest.mark.parametrize("month,sector,discounted", WINDOW_TABLE)
def test_government_paid_dues_never_discounted(month, sector, discounted):
    quote = q(sector=sector, programs=WITH_JHT, month=month, payer_type="government")
    assert quote.discount == 0
    assert quote.total == 36_800


@pytest.mark.parametrize("payer_type", ["self", "sponsor"])
def test_self_and_sponsor_get_discount(payer_type):
    assert q(sector="transport", month="2026-02", payer_type=payer_type).total == 8_400


@pytest.mark.parametrize(
    "income,month,programs,expected",
    [
        # (bracket, jkk, jkm, jht, discount, total)
        (20_700_000, "2025-12", BASE, (20_700_000, 207_000, 6_800, 0, 0, 213_800)),
        (20_700_000, "2025-12", WITH_JHT, (20_700_000, 207_000, 6_800, 414_000, 0, 627_800)),
        (50_000_000, "2025-12", WITH_JHT, (20_700_000, 207_000, 6_800, 414_000, 0, 627_800)),
        # 50% of (207,000 + 6,800) = 106,900 off, JHT untouched.
        (50_000_000, "2026-06", BASE, (20_700_000, 207_000, 6_800, 0, 106_900, 106_900)),
        (50_000_000, "2026-06", WITH_JHT, (20_700_000, 207_000, 6_800, 414_000, 106_900, 520_900)),
        (2_345_678, "2025-12", WITH_JHT, (2_300_000, 23_000, 6_800, 46_000, 0, 75_800)),
        (2_345_678, "2026-06", WITH_JHT, (2_300_000, 23_000, 6_800, 46_000, 14_900, 60_900)),
    ],
    ids=["ceiling", "ceiling-jht", "above-ceiling", "ceiling-discount", "ceiling-discount-jht", "mid", "mid-discount"],
)
def test_ceiling_and_mid_brackets(income, month, programs, expected):
    quote = q(income=income, sector="other", programs=programs, month=month)
    assert (quote.income_bracket, quote.jkk, quote.jkm, quote.jht, quote.discount, quote.total) == expected


@pytest.mark.parametrize(
    "income,bracket",
    [
        (0, 1_000_000),  # below the lowest bracket -> lowest
        (1, 1_000_000),
        (999_999, 1_000_000),
        (1_000_000, 1_000_000),
        (1_099_999, 1_000_000),  # between brackets -> round down
        (1_100_000, 1_100_000),
        (2_345_678, 2_300_000),
        (20_699_999, 20_600_000),
        (20_700_000, 20_700_000),
        (20_700_001, 20_700_000),  # above the highest -> highest
        (10**12, 20_700_000),
    ],
)
def test_bracket_rounding_packaged_table(income, bracket):
    assert RateBook.load().bracket_for(income, DuesMonth(2026, 1)) == bracket
    assert q(income=income).income_bracket == bracket


@pytest.mark.parametrize(
    "income,bracket",
    [(0, 1_000_000), (1_499_999, 1_000_000), (1_500_000, 1_500_000), (1_999_999, 1_500_000), (9_000_000, 2_000_000)],
)
def test_bracket_rounding_sparse_table(income, bracket):
    book = book_with(brackets={"source": "test", "incomes": [1_000_000, 1_500_000, 2_000_000]})
    assert book.bracket_for(income, "2026-01") == bracket


def test_jkk_floor_and_ceiling_clamp_but_jht_does_not():
    book = book_with(brackets={"source": "test", "incomes": [500_000, 30_000_000]})
    low = q(income=0, programs=WITH_JHT, rate_book=book)
    assert (low.jkk, low.jht) == (10_000, 10_000)  # 1% of 500,000 = 5,000 -> floor 10,000
    high = q(income=30_000_000, programs=WITH_JHT, rate_book=book)
    assert (high.jkk, high.jht) == (207_000, 600_000)  # 300,000 -> ceiling 207,000


def test_rounding_is_down_for_each_percentage():
    book = book_with(brackets={"source": "test", "incomes": [1_234_567]})
    quote = q(programs=WITH_JHT, month="2026-06", rate_book=book)
    assert quote.jkk == 12_345  # 12,345.67 rounded down
    assert quote.jht == 24_691  # 24,691.34 rounded down
    assert quote.discount == 9_572  # 50% of 19,145 = 9,572.5 rounded down
    assert quote.total == 12_345 + 6_800 + 24_691 - 9_572


def test_money_fields_are_ints():
    quote = q(income=3_333_333, programs=WITH_JHT, month="2026-06")
    for name in ("income_bracket", "jkk", "jkm", "jht", "discount", "total"):
        assert type(getattr(quote, name)) is int


def test_program_order_and_duplicates_do_not_matter():
    assert q(programs=["JHT", "JKM", "JKK", "JKK"]) == q(programs=WITH_JHT)
    assert q(programs=("JKM", "JKK")) == q(programs=BASE)


# --- validation -----------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"programs": ["JKK"]}, "programs"),
        ({"programs": ["JKM", "JHT"]}, "programs"),
        ({"programs": []}, "programs"),
        ({"programs": ["JKK", "JKM", "JP"]}, "programs"),
        ({"programs": ["jkk", "jkm"]}, "programs"),
        ({"programs": "JKK,JKM"}, "programs"),
        ({"programs": None}, "programs"),
        ({"income": -1}, "monthly_income"),
        ({"income": 1_500_000.0}, "monthly_income"),
        ({"income": "1000000"}, "monthly_income"),
        ({"income": True}, "monthly_income"),
        ({"sector": "farming"}, "sector"),
        ({"payer_type": "bank"}, "payer_type"),
    ],
)
def test_validation_errors_name_the_field(kwargs, field):
    with pytest.raises(DomainValidationError) as info:
        q(**kwargs)
    assert info.value.field_names == [field]
    assert all(isinstance(f, FieldError) and f.message for f in info.value.fields)


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "Nov 2026", 202611])
def test_bad_month_string_is_a_validation_error(month):
    with pytest.raises(DomainValidationError) as info:
        quote_dues(monthly_income=1, sector="other", programs=BASE, month=month)
    assert info.value.field_names == ["month"]


def test_all_validation_errors_reported_together():
    with pytest.raises(DomainValidationError) as info:
        q(income=-5, programs=["JKK", "XYZ"], sector="farming")
    assert set(info.value.field_names) == {"monthly_income", "programs", "sector"}
    messages = " ".join(f.message for f in info.value.fields)
    assert "XYZ" in messages and "JKM" in messages


def test_month_without_rate_version_raises_rules_not_in_force():
    with pytest.raises(RulesNotInForce) as info:
        q(month="2015-06")
    assert info.value.month == "2015-06"
    with pytest.raises(RulesNotInForce):
        RateBook.load().rules_for("2015-06")


# --- rate book ------------------------------------------------------------


def test_packaged_rate_book_matches_rules():
    book = RateBook.load()
    assert RateBook.load() is book  # cached
    rules = book.rules_for(DuesMonth(2026, 1))
    assert (rules.jkk.rate_bp, rules.jkk.floor, rules.jkk.ceiling) == (100, 10_000, 207_000)
    assert (rules.jkm.flat, rules.jht.rate_bp) == (6_800, 200)
    incomes = rules.brackets.incomes
    assert incomes[0] == 1_000_000 and incomes[-1] == 20_700_000
    assert list(incomes) == sorted(set(incomes))
    assert "(unconfirmed)" in rules.brackets.source and not rules.brackets.confirmed
    assert book.policies.min_enrollment_age_years == 15
    assert book.policies.due_day_of_month == 15
    assert book.policies.max_amount_rupiah == 1_000_000_000 == max_amount_rupiah()
    assert {"min_enrollment_age_years", "max_amount_rupiah"} <= book.policies.unconfirmed
    assert set(book.policies.notes) >= book.policies.unconfirmed  # every unconfirmed value says why
    discount = book.discount_for("2026-01", "transport")
    assert discount is not None and discount.rate_bp == 5_000 and discount.programs == {"JKK", "JKM"}
    assert book.discount_for("2026-01", "transport", "government") is None
    assert book.discount_for("2026-01", "other") is None


def test_new_regulation_is_a_data_change():
    data = RateBook.default_data()
    data["versions"][0]["effective_until"] = "2027-12"
    newer = {**data["versions"][0], "id": "future", "effective_from": "2028-01", "effective_until": None}
    newer["jkm"] = {"flat": 9_000}
    data["versions"].append(newer)
    book = RateBook.model_validate(data)
    assert book.rules_for("2027-12").jkm.flat == 6_800
    assert book.rules_for("2028-01").id == "future"
    assert q(month="2028-01", rate_book=book).total == 19_000
    assert q(month="2027-12", rate_book=book).total == 16_800
    assert RateBook.load().rules_for("2028-01").jkm.flat == 6_800  # packaged data untouched


def test_version_with_end_month_stops_covering():
    book = book_with(effective_until="2026-12")
    assert book.rules_for("2026-12")
    with pytest.raises(RulesNotInForce):
        book.rules_for("2027-01")


@pytest.mark.parametrize(
    "mutate,where",
    [
        (lambda d: d["versions"][0]["brackets"].update(incomes=[2_000_000, 1_000_000]), "versions.0.brackets.incomes"),
        (lambda d: d["versions"][0]["brackets"].update(incomes=[]), "versions.0.brackets.incomes"),
        (lambda d: d["versions"][0]["brackets"].update(incomes=[1_000_000.5]), "versions.0.brackets.incomes.0"),
        (lambda d: d["versions"][0]["brackets"].update(incomes=[0, 1_000_000]), "versions.0.brackets.incomes.0"),
        (lambda d: d["versions"][0]["jkk"].update(floor=300_000), "versions.0.jkk"),
        (lambda d: d["versions"][0]["jkk"].update(floor=-1), "versions.0.jkk.floor"),
        (lambda d: d["versions"][0]["jkk"].update(rate_bp=1.0), "versions.0.jkk.rate_bp"),
        (lambda d: d["versions"][0]["jkk"].update(rate_bp=True), "versions.0.jkk.rate_bp"),
        (lambda d: d["versions"][0]["jht"].update(rate_bp=10_001), "versions.0.jht.rate_bp"),
        (lambda d: d["versions"][0]["jkm"].update(flat="6800"), "versions.0.jkm.flat"),
        (lambda d: d["versions"][0].update(effective_from="2015-13"), "versions.0.effective_from"),
        (lambda d: d["versions"][0].update(effective_until="2010-01"), "versions.0"),
        (lambda d: d["versions"][0].update(efective_until="2030-01"), "versions.0.efective_until"),  # typo
        (lambda d: d["versions"][0].update(id=""), "versions.0.id"),
        (lambda d: d["versions"].append({**d["versions"][0], "id": "dup-period"}), "versions"),
        (lambda d: d["versions"].clear(), "versions"),
        (
            lambda d: d["discounts"][0]["windows"].update(fishing={"from": "2026-01", "until": "2026-02"}),
            "discounts.0.windows.fishing",
        ),
        (
            lambda d: d["discounts"][0]["windows"].update(other={"from": "2026-04", "until": "2026-03"}),
            "discounts.0.windows.other",
        ),
        (lambda d: d["discounts"][0].update(programs=["JKK", "JP"]), "discounts.0.programs.1"),
        (lambda d: d["discounts"][0].update(programs=[]), "discounts.0.programs"),
        (lambda d: d["discounts"][0].update(excluded_payer_types=["bank"]), "discounts.0.excluded_payer_types.0"),
        (lambda d: d["discounts"].append({**d["discounts"][0], "id": "stacked"}), "discounts"),
        (
            lambda d: d["discounts"].append({**d["discounts"][0], "id": "pp44-2015-bpu", "windows": {}}),
            "ids must be unique",
        ),
        (lambda d: d.pop("policies"), "policies"),
        (lambda d: d["policies"].pop("max_amount_rupiah"), "policies.max_amount_rupiah"),
        (lambda d: d["policies"].update(max_amount_rupiah=0), "policies.max_amount_rupiah"),
        (lambda d: d["policies"].update(max_amount_rupiah=2**53), "policies.max_amount_rupiah"),
        (lambda d: d["policies"].update(due_day_of_month=29), "policies.due_day_of_month"),
        (lambda d: d["policies"].update(min_enrollment_age_years=15.0), "policies.min_enrollment_age_years"),
        (lambda d: d["policies"]["unconfirmed"].append("min_age"), "policies"),
        (lambda d: d.update(currency="USD"), "currency"),
    ],
)
def test_bad_rate_data_rejected_on_load(mutate, where):
    data = RateBook.default_data()
    mutate(data)
    with pytest.raises(ValidationError) as info:
        RateBook.model_validate(data)
    assert isinstance(info.value, ValueError)
    assert where in str(info.value)  # the error says where the file is wrong


def test_bad_rate_file_names_the_place(tmp_path):
    import json

    data = RateBook.default_data()
    data["versions"][0]["jkk"]["ceiling"] = 1
    path = tmp_path / "rates.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValidationError, match=r"versions\.0\.jkk"):
        RateBook.load(path)


def test_versions_in_any_file_order():
    data = RateBook.default_data()
    data["versions"][0]["effective_until"] = "2027-12"
    data["versions"].insert(
        0, {**data["versions"][0], "id": "later", "effective_from": "2028-01", "effective_until": None}
    )
    book = RateBook.model_validate(data)
    assert [v.id for v in book.versions] == ["pp44-2015-bpu", "later"]
    assert book.rules_for("2028-01").id == "later" and book.rules_for("2027-12").id == "pp44-2015-bpu"


def test_load_from_explicit_path(tmp_path):
    import json

    path = tmp_path / "rates.json"
    data = RateBook.default_data()
    data["versions"][0]["jkm"]["flat"] = 7_000
    path.write_text(json.dumps(data), encoding="utf-8")
    assert RateBook.load(path).rules_for("2026-01").jkm.flat == 7_000


# --- DuesQuote model ------------------------------------------------------


def test_quote_total_must_add_up():
    with pytest.raises(ValidationError):
        DuesQuote(month="2026-01", income_bracket=1, jkk=10_000, jkm=6_800, jht=0, discount=0, total=1)
    with pytest.raises(ValidationError):
        DuesQuote(month="2026-13", income_bracket=1, jkk=1, jkm=1, jht=0, discount=0, total=2)
    quote = DuesQuote(month="2026-01", income_bracket=1, jkk=1, jkm=1, jht=0, discount=0, total=2)
    with pytest.raises(ValidationError):
        quote.total = 3  # frozen


def test_quote_serializes_plain_json():
    quote = q(month="2026-01", sector="transport")
    assert quote.model_dump() == {
        "month": "2026-01",
        "income_bracket": 1_000_000,
        "jkk": 10_000,
        "jkm": 6_800,
        "jht": 0,
        "discount": 8_400,
        "total": 8_400,
    }


# --- DuesMonth ------------------------------------------------------------


def test_dues_month_parse_and_str():
    m = DuesMonth.parse("2026-11")
    assert (m.year, m.month) == (2026, 11)
    assert str(m) == "2026-11"
    assert str(DuesMonth(987, 3)) == "0987-03"


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-1", "26-11", "2026/11", " 2026-11", "2026-11-01", ""])
def test_dues_month_parse_rejects(text):
    with pytest.raises(ValueError, match="2026-11|01..12|YYYY-MM"):
        DuesMonth.parse(text)


def test_dues_month_parse_rejects_non_string():
    with pytest.raises(ValueError):
        DuesMonth.parse(202611)  # type: ignore[arg-type]  # deliberately not a str
    with pytest.raises(ValueError):
        DuesMonth(2026, 13)


def test_dues_month_ordering():
    nov = DuesMonth(2026, 11)
    assert DuesMonth(2025, 12) < DuesMonth(2026, 1) < nov
    assert max([DuesMonth(2026, 2), DuesMonth(2025, 12)]) == DuesMonth(2026, 2)
    assert len({DuesMonth(2026, 1), DuesMonth.parse("2026-01")}) == 1
    with pytest.raises(AttributeError):
        nov.year = 2000  # frozen


def test_dues_month_of_and_due_date():
    assert DuesMonth.of(date(2026, 2, 28)) == DuesMonth(2026, 2)
    # 17:30 UTC on 31 Jan is 00:30 on 1 Feb in Jakarta.
    assert DuesMonth.of(datetime(2026, 1, 31, 17, 30, tzinfo=UTC)) == DuesMonth(2026, 2)
    assert DuesMonth.of(datetime(2026, 1, 31, 16, 59, tzinfo=UTC)) == DuesMonth(2026, 1)
    assert DuesMonth.of(datetime(2026, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=7)))) == DuesMonth(2026, 3)
    with pytest.raises(ValueError):
        DuesMonth.of(datetime(2026, 1, 31, 12, 0))
    assert DuesMonth(2026, 2).due_date() == date(2026, 2, 15)
    data = RateBook.default_data()
    data["policies"]["due_day_of_month"] = 10
    assert DuesMonth(2026, 2).due_date(RateBook.model_validate(data)) == date(2026, 2, 10)


def test_dues_month_in_pydantic_models():
    class Payment(BaseModel):
        month: DuesMonth

    p = Payment(month="2026-04")
    assert p.month == DuesMonth(2026, 4)
    assert Payment(month=DuesMonth(2026, 5)).month == DuesMonth(2026, 5)
    assert p.model_dump(mode="json") == {"month": "2026-04"}
    assert Payment.model_validate_json('{"month": "2026-04"}') == p
    assert Payment.model_json_schema()["properties"]["month"]["type"] == "string"
    with pytest.raises(ValidationError):
        Payment(month="2026-13")
