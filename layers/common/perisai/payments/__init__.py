"""Payments: dues orders, provider callbacks and the contribution ledger.

The provider-callback layer is pure (no AWS, no HTTP framework): ``providers`` holds the
provider-neutral :class:`ProviderEvent`; ``providers_midtrans``, ``providers_xendit`` and
``providers_channel`` authenticate each provider's callbacks and interpret their bodies.
"""

from __future__ import annotations

from .providers import EventKind, MalformedCallback, Provider, ProviderEvent, parse_rupiah
from .providers_channel import channel_signature, parse_channel, verify_channel
from .providers_midtrans import (
    MidtransNotification,
    interpret_midtrans,
    midtrans_signature,
    parse_midtrans,
    verify_midtrans,
)
from .providers_xendit import parse_xendit, verify_xendit

__all__ = [
    "EventKind",
    "MalformedCallback",
    "MidtransNotification",
    "Provider",
    "ProviderEvent",
    "channel_signature",
    "interpret_midtrans",
    "midtrans_signature",
    "parse_channel",
    "parse_midtrans",
    "parse_rupiah",
    "parse_xendit",
    "verify_channel",
    "verify_midtrans",
    "verify_xendit",
]
