"""Identity and contact validation: NIK, birth date/gender, age, mobile numbers.

Messages never echo the NIK or phone number: they end up in logs and API errors.
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Literal

from stdnum import exceptions as stdnum_exc
from stdnum import numdb
from stdnum.id import nik as stdnum_nik

from .errors import DomainValidationError, FieldError
from .rates import RateBook

__all__ = [
    "Gender",
    "age_on",
    "check_min_age",
    "check_nik_consistency",
    "is_known_regency",
    "nik_birth_date_and_gender",
    "normalize_mobile",
    "validate_nik",
]

Gender = Literal["M", "F"]

_NIK_FORMAT_HINT = "16 digits: region (6), birth date DDMMYY (day + 40 for women), serial (4)"


@lru_cache(maxsize=1)
def _regencies_missing_from_stdnum() -> frozenset[str]:
    # stdnum's id/loc.dat holds BPS codes from before 2013; NIKs carry Kemendagri codes, which add
    # the regencies created since (Pangandaran, Pesisir Barat, ...), Kalimantan Utara (65) and the
    # 2022 Papua provinces (92-96 as now numbered). Without these, their residents could not enroll.
    # The provinces stdnum lacks get no blanket allowance: their regencies are all listed there.
    text = resources.files("perisai.domain").joinpath("data", "nik_regencies.json").read_text(encoding="utf-8")
    data = json.loads(text)
    return frozenset(data["current"]) | frozenset(data["before_2022_papua_split"])


def _regency_known(code: str) -> bool:
    """Whether the first 4 NIK digits (province + regency/city) name a real regency."""
    # info() answers one (prefix, properties) pair per level; an unknown level has no properties.
    levels = numdb.get("id/loc").info(code)
    in_stdnum = len(levels) >= 2 and bool(levels[0][1]) and bool(levels[1][1])
    return in_stdnum or code in _regencies_missing_from_stdnum()


def is_known_regency(code: str) -> bool:
    """Whether a 4-digit code (province + regency/city, as a NIK's first 4 digits) names a real regency."""
    return len(code) == 4 and code.isascii() and code.isdigit() and _regency_known(code)


def validate_nik(nik: str) -> str:
    """Return the 16-digit NIK (spaces, dots and dashes removed) or raise on field ``nik``."""
    if not isinstance(nik, str):
        raise DomainValidationError.single("nik", f"NIK must be text of {_NIK_FORMAT_HINT}")
    try:
        number = stdnum_nik.compact(nik)  # also maps full-width digits to ASCII
        if not number:
            raise DomainValidationError.single("nik", "NIK is required: 16 digits")
        if not number.isascii() or not number.isdigit():
            raise DomainValidationError.single("nik", "NIK must contain digits only")
        if len(number) != 16:
            raise DomainValidationError.single("nik", f"NIK must be exactly 16 digits, got {len(number)}")
        # stdnum takes the day modulo 40, so it would accept day fields like 35 or 85.
        day_field = int(number[6:8])
        if not (1 <= day_field <= 31 or 41 <= day_field <= 71):
            raise DomainValidationError.single("nik", "NIK birth day (digits 7-8) must be 01-31, or 41-71 for women")
        try:
            stdnum_nik.get_birth_date(number)
        except stdnum_exc.ValidationError:
            raise DomainValidationError.single(
                "nik", "NIK does not encode a valid birth date (digits 7-12, DDMMYY)"
            ) from None
        if number[12:] == "0000":
            raise DomainValidationError.single("nik", "NIK serial number (last 4 digits) must start from 0001")
        # stdnum_nik.validate checks the province only (3199..., 3100... would pass): the region is checked here.
        if not _regency_known(number[:4]):
            raise DomainValidationError.single(
                "nik", "NIK region code (first 4 digits) is not a known province/regency"
            )
        return number
    except stdnum_exc.ValidationError:
        raise DomainValidationError.single("nik", f"NIK is not valid: expected {_NIK_FORMAT_HINT}") from None


def _century_candidates(number: str) -> list[date]:
    day, month, yy = int(number[6:8]) % 40, int(number[8:10]), int(number[10:12])
    out: list[date] = []
    for century in (1900, 2000):
        with contextlib.suppress(ValueError):  # 29 February exists in one century only
            out.append(date(century + yy, month, day))
    return out


def nik_birth_date_and_gender(nik: str, *, on: date) -> tuple[date, Gender]:
    """Birth date and gender encoded in a NIK, as known on ``on`` (e.g. ``clock.today_jakarta()``).

    The NIK holds only YY: stdnum's ``get_birth_date`` always prefers 19YY, which
    is wrong for anyone born since 2000, so the latest century whose date is not
    after ``on`` is taken.
    """
    number = validate_nik(nik)
    stdnum_date = stdnum_nik.get_birth_date(number)
    past = [d for d in _century_candidates(number) if d <= on]
    birth = max(past) if past else stdnum_date
    gender: Gender = "F" if int(number[6:8]) > 40 else "M"
    return birth, gender


def check_nik_consistency(nik: str, birth_date: date, gender: str) -> None:
    """Raise on ``birth_date`` and/or ``gender`` when they disagree with the NIK.

    Compared on day, month and the last two digits of the year (all the NIK holds),
    so the century is the declared one.
    """
    number = validate_nik(nik)
    errors: list[FieldError] = []
    day_field = int(number[6:8])
    encoded = (day_field % 40, int(number[8:10]), int(number[10:12]))
    declared: object = birth_date  # checked at run time too: callers pass request data
    if not isinstance(declared, date):
        errors.append(FieldError("birth_date", "birth date must be a date"))
    elif (birth_date.day, birth_date.month, birth_date.year % 100) != encoded:
        errors.append(FieldError("birth_date", "birth date does not match the one encoded in the NIK"))
    nik_gender = "F" if day_field > 40 else "M"
    if gender not in ("M", "F"):
        errors.append(FieldError("gender", "gender must be 'M' or 'F'"))
    elif gender != nik_gender:
        errors.append(FieldError("gender", "gender does not match the NIK (women have 40 added to the birth day)"))
    if errors:
        raise DomainValidationError(errors)


def age_on(birth_date: date, on: date) -> int:
    """Completed years on ``on``. A 29 February birthday counts from 1 March in common years."""
    if on < birth_date:
        raise ValueError("date is before the birth date")
    return on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))


def check_min_age(birth_date: date, on: date, rate_book: RateBook | None = None) -> int:
    """Raise on ``birth_date`` when younger than the policy minimum; return the age."""
    minimum = (rate_book or RateBook.load()).policies.min_enrollment_age_years
    if birth_date > on:
        raise DomainValidationError.single("birth_date", "birth date is in the future")
    age = age_on(birth_date, on)
    if age < minimum:
        raise DomainValidationError.single(
            "birth_date", f"participant must be at least {minimum} years old to enroll (is {age})"
        )
    return age


# Formatting people type around numbers; anything else (letters, vanity numbers) is refused.
_PHONE_ALLOWED = re.compile(r"^\+?[0-9 .\-()/]+$")
_PHONE_HINT = "enter an Indonesian mobile number such as 0812-3456-7890 or +62 812-3456-7890"


def normalize_mobile(phone: str) -> str:
    """E.164 (``+628...``) for an Indonesian mobile number in 08.., 628.., +628.. form."""
    import phonenumbers  # deferred: only enrollment reads phone numbers

    given: object = phone  # checked at run time too: callers pass request data
    if not isinstance(given, str) or not _PHONE_ALLOWED.match(given.strip()):
        raise DomainValidationError.single("phone", f"phone number is not valid: {_PHONE_HINT}")
    raw = phone.strip()
    digits = re.sub(r"\D", "", raw)
    # Without '+', a leading 62 is the country code: phonenumbers would read
    # 62812... with region ID as a domestic landline number.
    if not raw.startswith("+") and digits.startswith("62"):
        raw = "+" + digits
    try:
        number = phonenumbers.parse(raw, "ID")
    except phonenumbers.NumberParseException:
        raise DomainValidationError.single("phone", f"phone number is not valid: {_PHONE_HINT}") from None
    if number.country_code != 62 or not phonenumbers.is_valid_number_for_region(number, "ID"):
        raise DomainValidationError.single("phone", f"phone number is not a valid Indonesian number: {_PHONE_HINT}")
    national = str(number.national_number)
    # BPU_RULES: mobiles are +62 8xx with 9-12 digits after the country code.
    if (
        phonenumbers.number_type(number)
        not in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
        or not national.startswith("8")
        or not 9 <= len(national) <= 12
    ):
        raise DomainValidationError.single("phone", f"phone number is not a mobile number: {_PHONE_HINT}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
