"""Claims' pure rules: eligibility from the ledger, every benefit formula, refunds and fraud signals.

Amounts are worked out by hand in the tables (literal numbers), not recomputed with the code.
"""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from perisai.domain.claims import (
    FRAUD_SIGNALS,
    Benefit,
    BenefitBook,
    BenefitItem,
    ClaimFacts,
    PaidMonth,
    agent_claims_above_mean,
    death_before_enrollment,
    eligibility,
    fraud_signals,
    heir_phone_shared,
    incident_soon_after_first_payment,
    jht_balance,
    jkk_benefit,
    jkm_benefit,
    months_after,
    refund,
)
from perisai.domain.errors import DomainValidationError, RulesNotInForce
from perisai.domain.months import DuesMonth

BOOK = BenefitBook.packaged()
POLICIES = BOOK.policies
V = BOOK.in_force(date(2026, 6, 1))
BPU = ("JKK", "JKM")
ALL = ("JKK", "JKM", "JHT")


def d(text: str) -> date:
    return date.fromisoformat(text)


def pm(month: str, credited_on: str, jht: int = 20_000, total: int = 36_800) -> PaidMonth:
    return PaidMonth(DuesMonth.parse(month), d(credited_on), jht, total)


def items(benefit: Benefit) -> list[tuple[str, int]]:
    return [(i.item, i.amount) for i in benefit.items]


# Paid 2026-01..2026-03, each on the 5th of its month.
LEDGER = (pm("2026-01", "2026-01-05"), pm("2026-02", "2026-02-05"), pm("2026-03", "2026-03-05"))


# --- The book ----------------------------------------------------------------------------------


def test_the_packaged_book_holds_the_regulation_values() -> None:
    assert V.id == "pp82-2019-bpu"
    assert (V.jkm.lump_sum.amount, V.jkm.periodic.amount, V.jkm.funeral.amount) == (20_000_000, 12_000_000, 10_000_000)
    assert V.scholarship.min_paid_months.value == 36 and V.scholarship.max_children.value == 2
    assert V.jkk.medical.cap is None
    assert (V.jkk.stmb.full_bp.bp, V.jkk.stmb.reduced_bp.bp) == (10_000, 5_000)
    assert V.jht.development_return_bp.bp == 500 and "(assumption)" in V.jht.development_return_bp.source
    assert POLICIES.filing_window_days == 730 and POLICIES.incident_month_paid_before_incident is True
    assert "filing_window_days" in POLICIES.unconfirmed


def test_no_table_before_the_first_version() -> None:
    assert BOOK.in_force(d("2019-12-02")).id == "pp82-2019-bpu"
    with pytest.raises(RulesNotInForce):
        BOOK.in_force(d("2019-12-01"))


def test_a_later_version_applies_from_its_day() -> None:
    data = BenefitBook.default_data()
    later = dict(data["versions"][0], id="next", effective_from="2027-01-01")
    data["versions"].append(later)
    book = BenefitBook.model_validate(data)
    assert book.in_force(d("2026-12-31")).id == "pp82-2019-bpu"
    assert book.in_force(d("2027-01-01")).id == "next"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("versions", 0, "jkm", "funeral", "amont"), 1),  # misspelt key
        (("versions", 0, "jkm", "funeral", "amount"), "10000000"),  # a string, not an int
        (("versions", 0, "jkm", "funeral", "amount"), -1),
        (("versions", 0, "jkk", "stmb", "reduced_bp", "bp"), 10_001),
        (("policies", "unconfirmed"), ["no_such_policy"]),
    ],
)
def test_a_bad_book_is_refused_on_load(path: tuple[str | int, ...], value: object) -> None:
    data = BenefitBook.default_data()
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ValidationError):
        BenefitBook.model_validate(data)


# --- Eligibility: JKK and JKM ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claim_type", "incident", "filed", "paid", "reason"),
    [
        # The incident in the last paid month (paid on the 5th, incident on the 20th): eligible.
        ("JKM", "2026-03-20", "2026-04-01", LEDGER, None),
        ("JKK", "2026-03-20", "2026-04-01", LEDGER, None),
        # Paid the day before the incident: eligible.
        ("JKM", "2026-03-20", "2026-04-01", (pm("2026-03", "2026-03-19"),), None),
        # The first unpaid month.
        ("JKM", "2026-04-10", "2026-04-20", LEDGER, "were not paid"),
        ("JKK", "2026-04-10", "2026-04-20", LEDGER, "were not paid"),
        # A month paid after the incident.
        ("JKM", "2026-03-20", "2026-04-01", (pm("2026-03", "2026-03-25"),), "not before the incident"),
        # Paid on the incident day.
        ("JKK", "2026-03-20", "2026-04-01", (pm("2026-03", "2026-03-20"),), "not before the incident"),
        # Prepaid months ahead count from the day they were credited.
        ("JKM", "2026-05-02", "2026-05-03", (pm("2026-05", "2026-01-05"),), None),
        # Nothing paid at all.
        ("JKM", "2026-03-20", "2026-04-01", (), "were not paid"),
    ],
)
def test_the_incident_month_must_be_paid_before_the_incident(
    claim_type: str, incident: str, filed: str, paid: tuple[PaidMonth, ...], reason: str | None
) -> None:
    reasons = eligibility(
        claim_type=claim_type,  # type: ignore[arg-type]  # table rows are plain dicts; the function checks the values itself
        incident_date=d(incident),
        filed_on=d(filed),
        programs=BPU,
        paid=paid,
        policies=POLICIES,
    )
    if reason is None:
        assert reasons == []
    else:
        assert len(reasons) == 1 and reason in reasons[0], reasons


def test_with_the_policy_off_a_month_paid_after_the_incident_counts() -> None:
    policies = POLICIES.model_copy(update={"incident_month_paid_before_incident": False})
    late = (pm("2026-03", "2026-03-25"),)
    args = {"claim_type": "JKM", "incident_date": d("2026-03-20"), "filed_on": d("2026-04-01"), "programs": BPU}
    assert eligibility(**args, paid=late, policies=policies) == []  # type: ignore[arg-type]  # table rows are plain dicts; the function checks the values itself
    assert eligibility(**args, paid=(), policies=policies) != []  # type: ignore[arg-type]  # table rows are plain dicts; the function checks the values itself


@pytest.mark.parametrize(
    ("incident", "filed", "reason"),
    [
        # 2024-01-10 -> 2025-01-10 is 366 days (2024 is a leap year), -> 2026-01-10 is 731.
        ("2024-01-10", "2026-01-09", None),  # 730 days: the last day of the window
        ("2024-01-10", "2026-01-10", "filed 731 days after the incident"),
        ("2024-01-10", "2024-01-10", None),  # filed on the incident day
        ("2024-01-10", "2024-01-09", "is after the filing date"),  # an incident in the future
    ],
)
def test_the_filing_window(incident: str, filed: str, reason: str | None) -> None:
    paid = (pm("2024-01", "2024-01-02"),)
    reasons = eligibility(
        claim_type="JKK", incident_date=d(incident), filed_on=d(filed), programs=BPU, paid=paid, policies=POLICIES
    )
    if reason is None:
        assert reasons == []
    else:
        assert len(reasons) == 1 and reason in reasons[0], reasons


@pytest.mark.parametrize(
    ("claim_type", "programs", "eligible"),
    [
        ("JKK", BPU, True),
        ("JKM", BPU, True),
        ("JKM", (), True),  # JKK and JKM are mandatory for every BPU participant
        ("JHT", BPU, False),
        ("JHT", ALL, True),
    ],
)
def test_the_program_must_be_paid_for(claim_type: str, programs: tuple[str, ...], eligible: bool) -> None:
    reasons = eligibility(
        claim_type=claim_type,  # type: ignore[arg-type]  # table rows are plain dicts; the function checks the values itself
        incident_date=d("2026-03-20"),
        filed_on=d("2026-04-01"),
        programs=programs,
        paid=LEDGER,
        policies=POLICIES,
        jht_reason="death",
    )
    assert (reasons == []) is eligible, reasons
    if not eligible:
        assert reasons == ["the participant does not pay for JHT"]


# --- Eligibility: JHT --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "filed", "birth", "stopped", "expected"),
    [
        # Born 1970-03-15: 55 on 2026-03-14, 56 on 2026-03-15.
        ("age_56", "2026-03-14", "1970-03-15", None, "is 55 on the filing date"),
        ("age_56", "2026-03-15", "1970-03-15", None, None),
        ("age_56", "2026-03-15", None, None, "needs the participant's birth date"),
        # Born 29 Feb 1968: 56 on 29 Feb 2024 (a leap year), still 55 the day before.
        ("age_56", "2024-02-28", "1968-02-29", None, "is 55"),
        ("age_56", "2024-02-29", "1968-02-29", None, None),
        # One month's wait: stopped 2026-03-10 -> payable from 2026-04-10.
        ("stopped_working", "2026-04-09", None, "2026-03-10", "payable from 2026-04-10"),
        ("stopped_working", "2026-04-10", None, "2026-03-10", None),
        # Stopped 2026-01-31 -> 2026-02-28 (clamped to the end of February).
        ("stopped_working", "2026-02-27", None, "2026-01-31", "payable from 2026-02-28"),
        ("stopped_working", "2026-02-28", None, "2026-01-31", None),
        ("stopped_working", "2026-04-10", None, None, "needs the date work stopped"),
        ("death", "2026-04-10", None, None, None),
        ("permanent_disability", "2026-04-10", None, None, None),
        (None, "2026-04-10", None, None, "needs a reason"),
        ("retired", "2026-04-10", None, None, "needs a reason"),
    ],
)
def test_jht_reasons(
    reason: str | None, filed: str, birth: str | None, stopped: str | None, expected: str | None
) -> None:
    reasons = eligibility(
        claim_type="JHT",
        # JHT has no filing window: an incident years back is fine.
        incident_date=d("2020-01-01"),
        filed_on=d(filed),
        programs=ALL,
        paid=LEDGER,
        policies=POLICIES,
        birth_date=d(birth) if birth else None,
        jht_reason=reason,
        stopped_working_on=d(stopped) if stopped else None,
    )
    if expected is None:
        assert reasons == []
    else:
        assert len(reasons) == 1 and expected in reasons[0], reasons


def test_jht_needs_a_positive_balance() -> None:
    no_jht = (pm("2026-01", "2026-01-05", jht=0, total=16_800),)
    reasons = eligibility(
        claim_type="JHT",
        incident_date=d("2026-03-01"),
        filed_on=d("2026-03-01"),
        programs=ALL,
        paid=no_jht,
        policies=POLICIES,
        jht_reason="death",
    )
    assert reasons == ["the participant's JHT balance is zero"]


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2026-03-10", 1, "2026-04-10"),
        ("2026-01-31", 1, "2026-02-28"),
        ("2024-01-31", 1, "2024-02-29"),
        ("2026-12-15", 1, "2027-01-15"),
    ],
)
def test_months_after(start: str, months: int, expected: str) -> None:
    assert months_after(d(start), months) == d(expected)


# --- JKM ---------------------------------------------------------------------------------------

JKM_BASE = [("lump_sum", 20_000_000), ("periodic", 12_000_000), ("funeral", 10_000_000)]


def test_jkm_pays_42_million_itemised() -> None:
    benefit = jkm_benefit(V, paid_months=1, children=[])
    assert items(benefit) == JKM_BASE
    assert benefit.total == 42_000_000
    assert benefit.as_dict() == {
        "items": [
            {"item": "lump_sum", "amount": 20_000_000},
            {"item": "periodic", "amount": 12_000_000},
            {"item": "funeral", "amount": 10_000_000},
        ],
        "total": 42_000_000,
    }


@pytest.mark.parametrize(
    ("paid_months", "children", "scholarships", "total"),
    [
        # 35 paid months: no scholarship yet.
        (35, [("Ani", "tk_sd")], [], 42_000_000),
        # 36: the first year of each level.
        (36, [("Ani", "tk_sd")], [("scholarship:Ani", 1_500_000)], 43_500_000),
        (36, [("Ani", "smp")], [("scholarship:Ani", 2_000_000)], 44_000_000),
        (36, [("Ani", "sma")], [("scholarship:Ani", 3_000_000)], 45_000_000),
        (36, [("Ani", "university")], [("scholarship:Ani", 12_000_000)], 54_000_000),
        # At most 2 children: the first two given; 42 M + 1.5 M + 12 M.
        (
            120,
            [("Ani", "tk_sd"), ("Budi", "university"), ("Cici", "sma")],
            [("scholarship:Ani", 1_500_000), ("scholarship:Budi", 12_000_000)],
            55_500_000,
        ),
        (36, [], [], 42_000_000),
    ],
)
def test_jkm_scholarship(
    paid_months: int, children: list[tuple[str, str]], scholarships: list[tuple[str, int]], total: int
) -> None:
    benefit = jkm_benefit(V, paid_months=paid_months, children=children)
    assert items(benefit) == JKM_BASE + scholarships
    assert benefit.total == total


def test_an_unknown_school_level_names_the_field() -> None:
    with pytest.raises(DomainValidationError) as caught:
        jkm_benefit(V, paid_months=36, children=[("Ani", "tk_sd"), ("Budi", "kindergarten")])
    assert caught.value.field_names == ["children.1.school_level"]


# --- JKK ---------------------------------------------------------------------------------------


def jkk(**overrides: object) -> Benefit:
    args: dict[str, object] = {
        "kind": "medical",
        "declared_income": 3_000_000,
        "medical_costs": 0,
        "transport_costs": 0,
        "transport_mode": "land",
        "days_off_work": 0,
    }
    args.update(overrides)
    return jkk_benefit(V, **args)  # type: ignore[arg-type]  # table rows are plain dicts; the function checks the values itself


@pytest.mark.parametrize(
    ("mode", "claimed", "paid"),
    [
        ("land", 4_999_999, 4_999_999),
        ("land", 5_000_000, 5_000_000),
        ("land", 5_000_001, 5_000_000),
        ("sea", 1_999_999, 1_999_999),
        ("sea", 2_000_000, 2_000_000),
        ("sea", 2_500_000, 2_000_000),
        ("air", 9_999_999, 9_999_999),
        ("air", 10_000_000, 10_000_000),
        ("air", 15_000_000, 10_000_000),
    ],
)
def test_jkk_transport_is_capped_by_mode(mode: str, claimed: int, paid: int) -> None:
    benefit = jkk(medical_costs=7_250_000, transport_costs=claimed, transport_mode=mode)
    assert items(benefit) == [("medical", 7_250_000), ("transport", paid)]
    assert benefit.total == 7_250_000 + paid


def test_jkk_medical_is_paid_as_claimed_and_zero_items_are_left_out() -> None:
    assert items(jkk(medical_costs=950_000_000)) == [("medical", 950_000_000)]
    assert items(jkk()) == []
    assert items(jkk(transport_costs=300_000, transport_mode="sea")) == [("transport", 300_000)]


@pytest.mark.parametrize(
    ("income", "days", "stmb"),
    [
        (3_000_000, 15, 1_500_000),  # half a month at 100%
        (3_000_000, 30, 3_000_000),  # one month at 100%
        (3_000_000, 360, 36_000_000),  # 12 months at 100%: the last day at the full rate
        (3_000_000, 361, 36_050_000),  # + 1 day at 50%: 3,000,000 / 30 / 2 = 50,000
        (3_000_000, 390, 37_500_000),  # + 1 month at 50%: 1,500,000
        (3_000_000, 0, 0),
        (2_000_001, 1, 66_666),  # 2,000,001 / 30 = 66,666.7, rounded down
        (2_000_001, 361, 24_033_345),  # 12 x 2,000,001 = 24,000,012 + 2,000,001 / 60 = 33,333.35 -> 33,333
    ],
)
def test_jkk_stmb_switches_to_half_after_12_months(income: int, days: int, stmb: int) -> None:
    benefit = jkk(kind="temporary_incapacity", declared_income=income, days_off_work=days, medical_costs=100_000)
    assert items(benefit) == [("medical", 100_000), ("stmb", stmb)]


@pytest.mark.parametrize(
    ("kind", "income", "item"),
    [
        ("death", 2_500_000, ("death_benefit", 120_000_000)),  # 48 x 2,500,000
        ("permanent_disability", 2_500_000, ("disability_benefit", 140_000_000)),  # 56 x 2,500,000
        ("death", 1_000_000, ("death_benefit", 48_000_000)),
        ("permanent_disability", 20_700_000, ("disability_benefit", 1_159_200_000)),  # 56 x 20.7 M
    ],
)
def test_jkk_death_and_disability_multiples(kind: str, income: int, item: tuple[str, int]) -> None:
    benefit = jkk(kind=kind, declared_income=income, medical_costs=2_000_000, transport_costs=600_000)
    assert items(benefit) == [("medical", 2_000_000), ("transport", 600_000), item]
    assert benefit.total == 2_600_000 + item[1]


def test_jkk_death_pays_the_scholarship_without_a_minimum_of_paid_months() -> None:
    benefit = jkk(kind="death", declared_income=1_000_000, children=[("Ani", "smp"), ("Budi", "sma"), ("Cici", "sma")])
    assert items(benefit) == [
        ("death_benefit", 48_000_000),
        ("scholarship:Ani", 2_000_000),
        ("scholarship:Budi", 3_000_000),
    ]
    assert items(jkk(kind="medical", medical_costs=1, children=[("Ani", "smp")])) == [("medical", 1)]


def test_jkk_refuses_negative_amounts_naming_each_field() -> None:
    with pytest.raises(DomainValidationError) as caught:
        jkk(medical_costs=-1, days_off_work=-5)
    assert caught.value.field_names == ["medical_costs", "days_off_work"]


# --- JHT balance and refunds -------------------------------------------------------------------

JHT_LEDGER = (pm("2025-01", "2025-01-05"), pm("2025-02", "2025-02-05"), pm("2025-03", "2025-03-05"))


@pytest.mark.parametrize(
    ("on", "through", "contributions", "development"),
    [
        # On 2026-01-15 the months are held 12, 11 and 10 months, at 5%/year simple:
        # 20,000 x 5% x 12/12 = 1,000; x 11/12 = 916.67 -> 916; x 10/12 = 833.33 -> 833. Sum 2,749.
        ("2026-01-15", None, 60_000, 2_749),
        # Only months up to 2025-02 (the rest refunded): 1,000 + 916.
        ("2026-01-15", "2025-02", 40_000, 1_916),
        # In 2025-03: held 2, 1 and 0 months: 166.67 -> 166; 83.33 -> 83; 0.
        ("2025-03-31", None, 60_000, 249),
        # In 2025-02: 2025-03 is a month ahead, not counted yet.
        ("2025-02-10", None, 40_000, 83),
    ],
)
def test_jht_balance(on: str, through: str | None, contributions: int, development: int) -> None:
    benefit = jht_balance(V, JHT_LEDGER, d(on), through=DuesMonth.parse(through) if through else None)
    assert items(benefit) == [("contributions", contributions), ("development", development)]
    assert benefit.total == contributions + development


@pytest.mark.parametrize(
    ("ends_with", "expected"),
    [
        ("2026-03", [("refund:2026-04", 36_800), ("refund:2026-05", 16_800)]),
        ("2026-04", [("refund:2026-05", 16_800)]),
        ("2026-05", []),
        (
            "2025-12",
            [
                ("refund:2026-01", 36_800),
                ("refund:2026-02", 36_800),
                ("refund:2026-03", 36_800),
                ("refund:2026-04", 36_800),
                ("refund:2026-05", 16_800),
            ],
        ),
    ],
)
def test_refund_of_months_after_the_end(ends_with: str, expected: list[tuple[str, int]]) -> None:
    paid = (*LEDGER, pm("2026-05", "2026-01-05", jht=0, total=16_800), pm("2026-04", "2026-01-05"))
    benefit = refund(paid, DuesMonth.parse(ends_with))
    assert items(benefit) == expected
    assert benefit.total == sum(amount for _, amount in expected)


def test_a_benefit_plus_its_refund() -> None:
    total = jkm_benefit(V, paid_months=3, children=[]).plus(refund(LEDGER, DuesMonth(2026, 2)))
    assert total.items[-1] == BenefitItem("refund:2026-03", 36_800)
    assert total.total == 42_036_800


# --- Fraud signals -----------------------------------------------------------------------------


def facts(**overrides: object) -> ClaimFacts:
    args: dict[str, object] = {
        "claim_type": "JKM",
        "kind": None,
        "incident_date": d("2026-06-01"),
        "enrolled_on": d("2026-01-05"),
        "first_payment_on": d("2026-01-10"),
        "heir_phone_participants": 1,
        "agent_claims": 2,
        "mean_agent_claims": 1.5,
    }
    args.update(overrides)
    return ClaimFacts(**args)  # type: ignore[arg-type]  # table rows are plain dicts; the function checks the values itself


def test_a_plain_claim_raises_no_signal() -> None:
    assert fraud_signals(facts(), POLICIES) == []
    assert len(FRAUD_SIGNALS) == 4


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        # First payment 2026-01-10; 2026-04-10 is 21 + 28 + 31 + 10 = 90 days later.
        ({"incident_date": d("2026-04-10")}, "incident_within_90_days_of_first_payment"),
        ({"incident_date": d("2026-04-11")}, None),
        ({"incident_date": d("2026-01-10")}, "incident_within_90_days_of_first_payment"),
        ({"incident_date": d("2026-01-09")}, "incident_within_90_days_of_first_payment"),  # before paying
        ({"incident_date": d("2026-01-20"), "first_payment_on": None}, None),
    ],
)
def test_incident_soon_after_first_payment(overrides: dict[str, object], code: str | None) -> None:
    assert incident_soon_after_first_payment(facts(**overrides), POLICIES) == code


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"incident_date": d("2026-01-04")}, "death_before_enrollment"),  # JKM, enrolled 2026-01-05
        ({"incident_date": d("2026-01-05")}, None),  # died on the enrollment day
        ({"claim_type": "JKK", "kind": "death", "incident_date": d("2026-01-04")}, "death_before_enrollment"),
        ({"claim_type": "JKK", "kind": "medical", "incident_date": d("2026-01-04")}, None),
        ({"claim_type": "JHT", "jht_reason": "death", "incident_date": d("2026-01-04")}, "death_before_enrollment"),
        ({"claim_type": "JHT", "jht_reason": "age_56", "incident_date": d("2026-01-04")}, None),
    ],
)
def test_death_before_enrollment(overrides: dict[str, object], code: str | None) -> None:
    assert death_before_enrollment(facts(**overrides), POLICIES) == code


@pytest.mark.parametrize(
    ("participants", "code"), [(0, None), (1, None), (2, "heir_phone_shared"), (5, "heir_phone_shared")]
)
def test_heir_phone_shared(participants: int, code: str | None) -> None:
    assert heir_phone_shared(facts(heir_phone_participants=participants), POLICIES) == code


@pytest.mark.parametrize(
    ("claims", "mean", "code"),
    [
        (5, 1.5, "agent_claims_above_mean"),  # 5 > 3 x 1.5 = 4.5, and at least 5
        (4, 1.0, None),  # 4 > 3.0 but fewer than 5 claims
        (6, 2.0, None),  # 6 is not above 3 x 2.0 = 6.0
        (7, 2.0, "agent_claims_above_mean"),
        (None, None, None),  # no enrolling agent
        (9, None, None),
    ],
)
def test_agent_claims_above_mean(claims: int | None, mean: float | None, code: str | None) -> None:
    assert agent_claims_above_mean(facts(agent_claims=claims, mean_agent_claims=mean), POLICIES) == code


def test_every_signal_together_in_registry_order() -> None:
    suspicious = facts(incident_date=d("2026-01-04"), heir_phone_participants=3, agent_claims=12, mean_agent_claims=2.0)
    assert fraud_signals(suspicious, POLICIES) == [
        "incident_within_90_days_of_first_payment",
        "death_before_enrollment",
        "heir_phone_shared",
        "agent_claims_above_mean",
    ]
