"""Payment codes (domain/payment_codes.py): random, 12-16 digits, Damm check digit."""

from __future__ import annotations

import pytest

from perisai.domain.errors import DomainValidationError
from perisai.domain.payment_codes import MAX_LENGTH, MIN_LENGTH, check_payment_code, new_payment_code
from perisai.domain.rates import RateBook

LENGTHS = range(MIN_LENGTH, MAX_LENGTH + 1)
# A few hundred codes across every allowed length: each one's every typo and swap is tried below.
CODES = [new_payment_code(length) for length in LENGTHS for _ in range(60)]

FORMAT = "must be 12 to 16 digits"
CHECK = "check digit does not match"


def refusal(text: object) -> str:
    with pytest.raises(DomainValidationError) as caught:
        check_payment_code(text)  # type: ignore[arg-type]  # some cases are deliberately not str
    assert caught.value.field_names == ["payment_code"]
    return caught.value.fields[0].message


# --- generation -------------------------------------------------------------


@pytest.mark.parametrize("length", LENGTHS)
def test_generated_codes_have_the_length_all_digits_and_no_leading_zero(length):
    for _ in range(200):
        code = new_payment_code(length)
        assert len(code) == length
        assert code.isascii() and code.isdigit()
        assert code[0] != "0"
        assert check_payment_code(code) == code


def test_generated_codes_differ():
    codes = [new_payment_code(12) for _ in range(2000)]
    # 9 * 10**10 possible 12-digit codes: any repeat among 2000 draws (p < 3e-5) means a broken source.
    assert len(set(codes)) == len(codes)
    # Every digit value turns up in every non-check position that can hold it (not a counter,
    # not a constant prefix).
    for position in range(11):
        seen = {code[position] for code in codes}
        assert seen == set("123456789" if position == 0 else "0123456789"), position


def test_the_policy_length_is_a_valid_length():
    length = RateBook.load().policies.payment_code_length
    assert length == 14
    assert len(new_payment_code(length)) == 14


@pytest.mark.parametrize("length", [11, 17, 0, -14, 14.0, True, "14", None])
def test_new_code_refuses_a_length_outside_12_to_16(length):
    with pytest.raises(ValueError, match="12 to 16"):
        new_payment_code(length)


# --- check digit: every single-digit typo and every adjacent swap is refused ------------


def test_every_single_digit_substitution_is_refused():
    tried = 0
    for code in CODES:
        for i, digit in enumerate(code):
            for other in "0123456789":
                if other == digit or (i == 0 and other == "0"):
                    continue
                typo = code[:i] + other + code[i + 1 :]
                assert refusal(typo).startswith(CHECK), (code, typo)
                tried += 1
    assert tried > 30_000


def test_a_typo_to_a_leading_zero_is_refused_as_not_a_code():
    for code in CODES[:50]:
        assert refusal("0" + code[1:]).startswith(FORMAT)


def test_every_adjacent_transposition_is_refused():
    tried = 0
    for code in CODES:
        for i in range(len(code) - 1):
            a, b = code[i], code[i + 1]
            if a == b:
                continue  # swapping equal digits changes nothing
            swapped = code[:i] + b + a + code[i + 2 :]
            message = refusal(swapped)
            # A swap that moves a 0 to the front is not even shaped like a code.
            assert message.startswith(FORMAT if swapped[0] == "0" else CHECK), (code, swapped)
            tried += 1
    assert tried > 3_000


# Damm's weakly totally anti-symmetric quasigroup of order 10 (Damm 2004; Wikipedia's table),
# written out here so the check digit is verified independently of stdnum.
DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def damm_interim(digits: str) -> int:
    interim = 0
    for d in digits:
        interim = DAMM[interim][int(d)]
    return interim


def test_known_damm_vector():
    # Wikipedia's worked example: 572 has check digit 4.
    assert damm_interim("572") == 4
    body = "10000000572"
    check = damm_interim(body)
    code = body + str(check)
    assert check_payment_code(code) == code
    assert refusal(body + str((check + 1) % 10)).startswith(CHECK)


def test_generated_codes_end_in_the_damm_check_digit():
    for code in CODES:
        assert damm_interim(code[:-1]) == int(code[-1])
        assert damm_interim(code) == 0


# --- normalisation and format ----------------------------------------------------


def test_spaces_and_dashes_a_cashier_types_are_removed():
    code = new_payment_code(14)
    grouped = f"{code[:4]} {code[4:8]}-{code[8:12]} - {code[12:]}"
    assert check_payment_code(grouped) == code
    assert check_payment_code(f"  {code}\n") == code
    assert check_payment_code(f"{code[:7]}\t{code[7:]}") == code
    assert check_payment_code(f"{code[:7]}\u2013{code[7:]}") == code  # en dash from a phone keyboard
    assert check_payment_code(f"{code[:7]}\u00a0{code[7:]}") == code  # non-breaking space


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "12345678901",  # 11 digits
        "12345678901234567",  # 17 digits
        "1234567890ab",
        "1234.5678.9012",
        "+12345678901234",
        "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0661\u0662\u0663",  # Arabic-Indic digits
        "\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff11\uff12\uff13",  # full-width digits
    ],
)
def test_text_that_is_not_12_to_16_digits_is_refused_as_a_format_error(text):
    assert refusal(text).startswith(FORMAT)


@pytest.mark.parametrize("value", [None, 12345678901234, b"12345678901234"])
def test_a_non_string_is_refused(value):
    assert refusal(value) == "must be a string of digits"


def test_format_and_check_digit_errors_are_told_apart():
    code = new_payment_code(16)
    assert refusal(code[:-5]).startswith(FORMAT)  # 11 digits: a part of the code was missed
    wrong_last = code[:-1] + str((int(code[-1]) + 1) % 10)
    assert refusal(wrong_last) == CHECK + ": a digit was mistyped or two digits were swapped"


def test_messages_do_not_repeat_the_text():
    code = new_payment_code(14)
    wrong_last = code[:-1] + str((int(code[-1]) + 1) % 10)
    for text in (wrong_last, code[:9], code + "x"):
        assert code[:9] not in refusal(text)
