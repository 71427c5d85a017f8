"""Payment codes: what a worker says or types at an Indomaret, Alfamart, post office or BRILink counter.

A code is 12 to 16 ASCII digits (new ones: ``policies.payment_code_length``, 14 by default):

- random (``secrets``), not a counter, so a code reveals nothing about other orders and cannot be
  guessed from a neighbour's. Uniqueness among payable orders is the store's job (a conditional
  write); at 14 digits there are 9 * 10**12 codes, so a retry on collision is rare;
- the first digit is never 0, so a cashier's system that stores the code as a number keeps it whole;
- the last digit is a Damm check digit (``stdnum.damm``): it refuses every single-digit typo and
  every swap of two adjacent digits, which is why Damm rather than Luhn (Luhn misses 09 <-> 90).

``check_payment_code`` accepts every length from 12 to 16, not only the policy's, so codes already
handed out stay payable when the policy changes.
"""

from __future__ import annotations

import re
import secrets

from stdnum import damm

from .errors import DomainValidationError

__all__ = ["MAX_LENGTH", "MIN_LENGTH", "check_payment_code", "new_payment_code"]

MIN_LENGTH = 12
MAX_LENGTH = 16
_FIELD = "payment_code"
# What a cashier or a channel's system may put between digit groups ("1234 5678-9012 34").
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")
# ASCII only: str.isdigit() would also accept e.g. Arabic-Indic or full-width digits.
_CODE = re.compile(rf"[1-9][0-9]{{{MIN_LENGTH - 1},{MAX_LENGTH - 1}}}")


def new_payment_code(length: int) -> str:
    """A fresh random code of ``length`` digits (12..16): first digit 1-9, last the Damm check digit."""
    # type() rather than isinstance(): a bool is an int, and True is not a length.
    if type(length) is not int or not MIN_LENGTH <= length <= MAX_LENGTH:
        raise ValueError(f"payment code length must be an int from {MIN_LENGTH} to {MAX_LENGTH}, got {length!r}")
    body = str(1 + secrets.randbelow(9)) + "".join(str(secrets.randbelow(10)) for _ in range(length - 2))
    return body + damm.calc_check_digit(body)


def check_payment_code(text: str) -> str:
    """The code in ``text`` without spaces or dashes, or DomainValidationError on ``payment_code``.

    Two distinct refusals, so a counter can tell the worker what went wrong: the text is not a
    code at all (length or characters), or it is shaped like one but a digit was mistyped.
    The messages do not repeat the text: a caller may log them.
    """
    if not isinstance(text, str):
        raise DomainValidationError.single(_FIELD, "must be a string of digits")
    code = _SEPARATORS.sub("", text)
    if not _CODE.fullmatch(code):
        raise DomainValidationError.single(
            _FIELD,
            f"must be {MIN_LENGTH} to {MAX_LENGTH} digits (spaces and dashes allowed), not starting with 0",
        )
    if not damm.is_valid(code):
        raise DomainValidationError.single(
            _FIELD, "check digit does not match: a digit was mistyped or two digits were swapped"
        )
    return code
