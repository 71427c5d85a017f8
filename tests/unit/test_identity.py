from __future__ import annotations

from datetime import date

import pytest

from perisai.clock import clock
from perisai.domain.errors import DomainValidationError
from perisai.domain.identity import (
    age_on,
    check_min_age,
    check_nik_consistency,
    nik_birth_date_and_gender,
    normalize_mobile,
    validate_nik,
)
from perisai.domain.rates import RateBook

ON = date(2026, 1, 1)
MALE_1945 = "3171011708450001"  # Jakarta Selatan, 17-08-45, male
FEMALE_1945 = "3171015708450001"  # same date, day + 40


def field_of(exc_info) -> list[str]:
    return exc_info.value.field_names


# --- NIK ------------------------------------------------------------------


@pytest.mark.parametrize(
    "nik,expected",
    [
        (MALE_1945, MALE_1945),
        (FEMALE_1945, FEMALE_1945),
        ("3273014101900123", "3273014101900123"),  # Bandung, 01-01-90, female
        ("3171 0117 0845 0001", MALE_1945),  # typed with spaces
        ("3171-011708-450001", MALE_1945),
        (" 3171011708450001 ", MALE_1945),
        ("３１７１０１１７０８４５０００１", MALE_1945),  # full-width digits from some keyboards
        ("3171012902000001", "3171012902000001"),  # 29 Feb 2000
        ("6571011708900001", "6571011708900001"),  # Kalimantan Utara: missing from stdnum's table
        ("9271011708900001", "9271011708900001"),  # Papua Barat (2022 codes)
        ("9671011708900001", "9671011708900001"),  # Papua Barat Daya
    ],
)
def test_valid_nik(nik, expected):
    assert validate_nik(nik) == expected


@pytest.mark.parametrize(
    "nik,hint",
    [
        ("317101170845000", "16 digits"),  # 15 digits
        ("31710117084500011", "16 digits"),  # 17 digits
        ("", "16 digits"),
        ("3171O11708450001", "digits only"),  # letter O
        ("3171011708450001٠", "digits only"),  # trailing Arabic-Indic zero
        ("9971011708450001", "region"),  # unknown province
        ("0071011708450001", "region"),
        ("3199011708450001", "region"),  # Jakarta has no regency 99 (stdnum alone accepts it)
        ("3100011708450001", "region"),  # nor 00
        ("3299011708450001", "region"),
        ("6599011708900001", "region"),  # Kalimantan Utara: no blanket allowance for its regencies
        ("9699011708900001", "region"),
        ("3171013002001234", "birth date"),  # 30 February
        ("3171011713450001", "birth date"),  # month 13
        ("3171011700450001", "birth date"),  # month 00
        ("3171010008450001", "birth day"),  # day 00
        ("3171013508450001", "birth day"),  # day 35: neither male nor female
        ("3171014008450001", "birth day"),  # day 40 = female day 0
        ("3171017208450001", "birth day"),  # day 72 = female day 32
        ("3171018508450001", "birth day"),  # day 85: stdnum would read it as the 5th
        ("3171011708450000", "serial"),
    ],
)
def test_invalid_nik(nik, hint):
    with pytest.raises(DomainValidationError) as info:
        validate_nik(nik)
    assert field_of(info) == ["nik"]
    message = info.value.fields[0].message
    assert hint in message
    if len(nik) >= 8:
        assert nik not in message and nik not in str(info.value)  # never echo the NIK


# --- NIK region (defect 9: stdnum checks the province only) ----------------


def _nik_in(region: str) -> str:
    return f"{region}011708900001"  # district 01, 17-08-90, male, serial 0001


@pytest.mark.parametrize(
    "region",
    [
        # From stdnum's id/loc.dat (province, then regency/city):
        "1101",  # Aceh: Simeulue
        "1171",  # Aceh: Banda Aceh
        "1275",  # Sumatera Utara: Medan
        "3171",  # DKI Jakarta: Jakarta Selatan
        "3101",  # DKI Jakarta: Kepulauan Seribu
        "3273",  # Jawa Barat: Bandung
        "3578",  # Jawa Timur: Surabaya
        "5171",  # Bali: Denpasar
        "6403",  # Kalimantan Timur: Kutai Kartanegara
        "7371",  # Sulawesi Selatan: Makassar
        "8171",  # Maluku: Ambon
        "9471",  # Papua: Jayapura
        # Kemendagri codes loc.dat lacks (data/nik_regencies.json):
        "3218",  # Pangandaran (2012)
        "1472",  # Kota Dumai: its Kemendagri code differs from BPS
        "6501",  # Kalimantan Utara: Bulungan
        "9301",  # Papua Selatan: Merauke
        "9128",  # Deiyai, numbered under Papua (91) before the 2022 split
    ],
)
def test_real_regencies_pass(region):
    assert validate_nik(_nik_in(region)) == _nik_in(region)


def test_regency_error_never_echoes_the_nik():
    nik = _nik_in("3199")
    with pytest.raises(DomainValidationError) as info:
        validate_nik(nik)
    assert field_of(info) == ["nik"]
    assert nik not in str(info.value) and "3199" not in str(info.value)


def test_extra_regency_codes_are_well_formed_and_new_to_stdnum():
    import json
    from importlib import resources

    from stdnum import numdb

    data = json.loads(resources.files("perisai.domain").joinpath("data", "nik_regencies.json").read_text("utf-8"))
    db = numdb.get("id/loc")
    codes = [*data["current"], *data["before_2022_papua_split"]]
    assert len(codes) == len(set(codes))
    for code in codes:
        assert len(code) == 4 and code.isdigit() and 1 <= int(code[2:]) <= 99
        levels = db.info(code)
        assert not (len(levels) >= 2 and levels[1][1]), f"{code} is already in stdnum's loc.dat"
        assert validate_nik(_nik_in(code))


@pytest.mark.parametrize("value", [None, 3171011708450001, b"3171011708450001"])
def test_nik_must_be_text(value):
    with pytest.raises(DomainValidationError) as info:
        validate_nik(value)
    assert field_of(info) == ["nik"]


@pytest.mark.parametrize(
    "nik,on,expected",
    [
        (MALE_1945, ON, (date(1945, 8, 17), "M")),
        (FEMALE_1945, ON, (date(1945, 8, 17), "F")),  # day 57 -> 17, female
        ("3171017108950001", ON, (date(1995, 8, 31), "F")),  # day 71 -> 31
        ("3171014108950001", ON, (date(1995, 8, 1), "F")),  # day 41 -> 1
        ("3171010108050001", ON, (date(2005, 8, 1), "M")),  # born after 2000: not 1905
        ("3171011712250001", ON, (date(2025, 12, 17), "M")),  # both centuries past: latest wins
        ("3171013112250001", date(2025, 12, 30), (date(1925, 12, 31), "M")),  # 2025-12-31 is after `on`
        ("3171012902000001", ON, (date(2000, 2, 29), "M")),
    ],
)
def test_birth_date_and_gender(nik, on, expected):
    assert nik_birth_date_and_gender(nik, on=on) == expected


def test_birth_date_reference_from_the_clock():
    birth, gender = nik_birth_date_and_gender(MALE_1945, on=clock.today_jakarta())
    assert birth == date(1945, 8, 17) and gender == "M"


def test_birth_date_rejects_invalid_nik():
    with pytest.raises(DomainValidationError) as info:
        nik_birth_date_and_gender("3171013002001234", on=ON)
    assert field_of(info) == ["nik"]


def test_consistency_ok():
    check_nik_consistency(MALE_1945, date(1945, 8, 17), "M")
    check_nik_consistency(FEMALE_1945, date(1945, 8, 17), "F")
    check_nik_consistency("3171010108050001", date(2005, 8, 1), "M")


@pytest.mark.parametrize(
    "nik,birth,gender,fields",
    [
        (MALE_1945, date(1945, 8, 18), "M", ["birth_date"]),
        (MALE_1945, date(1945, 9, 17), "M", ["birth_date"]),
        (MALE_1945, date(1946, 8, 17), "M", ["birth_date"]),
        (MALE_1945, date(1945, 8, 17), "F", ["gender"]),
        (FEMALE_1945, date(1945, 8, 17), "M", ["gender"]),
        (FEMALE_1945, date(1945, 8, 27), "M", ["birth_date", "gender"]),
        (MALE_1945, date(1945, 8, 17), "X", ["gender"]),
        (MALE_1945, "1945-08-17", "M", ["birth_date"]),
    ],
)
def test_consistency_errors_name_fields(nik, birth, gender, fields):
    with pytest.raises(DomainValidationError) as info:
        check_nik_consistency(nik, birth, gender)
    assert field_of(info) == fields


def test_consistency_with_invalid_nik_names_nik():
    with pytest.raises(DomainValidationError) as info:
        check_nik_consistency("123", date(1990, 1, 1), "M")
    assert field_of(info) == ["nik"]


# --- age ------------------------------------------------------------------


@pytest.mark.parametrize(
    "birth,on,age",
    [
        (date(2011, 6, 15), date(2026, 6, 15), 15),
        (date(2011, 6, 16), date(2026, 6, 15), 14),
        (date(2011, 6, 15), date(2011, 6, 15), 0),
        (date(2008, 2, 29), date(2026, 2, 28), 17),  # leap-day birthday counts from 1 March
        (date(2008, 2, 29), date(2026, 3, 1), 18),
        (date(2008, 2, 29), date(2028, 2, 29), 20),
    ],
)
def test_age_on(birth, on, age):
    assert age_on(birth, on) == age


def test_age_on_rejects_future_birth():
    with pytest.raises(ValueError):
        age_on(date(2030, 1, 1), ON)


def test_min_age_from_policy():
    assert check_min_age(date(2011, 6, 15), date(2026, 6, 15)) == 15
    with pytest.raises(DomainValidationError) as info:
        check_min_age(date(2011, 6, 16), date(2026, 6, 15))
    assert field_of(info) == ["birth_date"]
    assert "15" in info.value.fields[0].message
    with pytest.raises(DomainValidationError) as info:
        check_min_age(date(2027, 1, 1), date(2026, 6, 15))
    assert field_of(info) == ["birth_date"]


def test_min_age_is_configurable_data():
    data = RateBook.default_data()
    data["policies"]["min_enrollment_age_years"] = 18
    book = RateBook.model_validate(data)
    with pytest.raises(DomainValidationError):
        check_min_age(date(2009, 1, 1), date(2026, 6, 15), book)
    assert check_min_age(date(2008, 6, 15), date(2026, 6, 15), book) == 18


# --- phone ----------------------------------------------------------------


@pytest.mark.parametrize(
    "raw,e164",
    [
        ("081234567890", "+6281234567890"),
        ("0812-3456-7890", "+6281234567890"),
        ("0812 3456 7890", "+6281234567890"),
        ("(0812) 3456-7890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("62 812 3456 7890", "+6281234567890"),
        ("+6281234567890", "+6281234567890"),
        ("+62 812-3456-7890", "+6281234567890"),
        ("62812345678", "+62812345678"),  # short 628 form: phonenumbers alone would read a landline
        ("0812345678", "+62812345678"),  # 10 digits domestic (minimum)
        ("+62812345678901", "+62812345678901"),  # 12 digits after +62 (maximum)
        ("085712345678", "+6285712345678"),
        ("08991234567", "+628991234567"),
    ],
)
def test_mobile_forms_accepted(raw, e164):
    assert normalize_mobile(raw) == e164
    assert normalize_mobile(e164) == e164


@pytest.mark.parametrize(
    "raw",
    [
        "02150821234",  # Jakarta landline
        "+622150821234",
        "622150821234",
        "0224201234",  # Bandung landline
        "+6591234567",  # Singapore mobile
        "+14155550123",  # US
        "+60123456789",  # Malaysia mobile
        "08123",  # too short
        "+628123",
        "0812345678901234",  # too long
        "",
        "   ",
        "abc",
        "0812-CALL-ME12",  # vanity letters
        "+62 812 3456 7890 ext 12",
        None,
        6281234567890,
    ],
)
def test_non_mobile_rejected(raw):
    with pytest.raises(DomainValidationError) as info:
        normalize_mobile(raw)
    assert field_of(info) == ["phone"]
    if isinstance(raw, str) and len(raw) > 6:
        assert raw not in str(info.value)
