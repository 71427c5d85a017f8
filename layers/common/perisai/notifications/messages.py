"""SMS texts for workers on basic phones: Bahasa Indonesia, plain ASCII so each stays one
GSM-7 message (160 characters); a non-GSM character would halve the room (UCS-2, 70)."""

from __future__ import annotations

from datetime import date

GSM7_SINGLE = 160
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")


def rupiah(amount: int) -> str:
    return "Rp" + f"{amount:,}".replace(",", ".")


def month_label(dues_month: str) -> str:
    year, month = dues_month.split("-")
    return f"{_MONTHS[int(month) - 1]} {year}"


def welcome(participant_id: str, dues_month: str, total: int, due: date, today: date) -> str:
    when = "segera" if today > due else f"sblm {due.day:02d}/{due.month:02d}"
    text = (
        f"BPJS Ketenagakerjaan: Anda terdaftar, no {participant_id}. "
        f"Iuran {month_label(dues_month)} {rupiah(total)}, bayar {when} "
        "di Indomaret/Alfamart/Pos/BRILink dgn NIK Anda."
    )
    return _single_sms(text)


def _single_sms(text: str) -> str:
    if not text.isascii() or len(text) > GSM7_SINGLE:
        raise ValueError(f"SMS must be ASCII and at most {GSM7_SINGLE} characters: {len(text)}")
    return text
