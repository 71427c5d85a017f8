"""The NIK audit trail: every lookup by NIK and every already_enrolled answer, per partner.

Knowing whether a NIK is enrolled is personal data about its holder, so each answer is kept
(partner, key id, the NIK's keyed hash, time; never the NIK) and counted per partner in the
``NikLookups`` metric, which alarms on a burst (infra monitoring).
Items: ``AUDIT#NIK#<partner>#<YYYY-MM-DD> / <time>#<uuid>``, one partition per partner and day.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from perisai import aws
from perisai.clock import JAKARTA
from perisai.domain.partners import Partner
from perisai.dynamo import DynamoRepository, error_code, to_item
from perisai.enrollment.service import NikAuditAction
from perisai.errors import DependencyUnavailable
from perisai.observability import count_per_partner

# Kept for two years, then removed by the table's TTL.
AUDIT_RETENTION_SECONDS = 2 * 365 * 24 * 3600


class DynamoNikAuditTrail(DynamoRepository):
    def record(self, partner: Partner, action: NikAuditAction, nik_hash: str, at: datetime) -> None:
        item = {
            "pk": f"AUDIT#NIK#{partner.partner_id}#{at.astimezone(JAKARTA).date().isoformat()}",
            "sk": f"{at.isoformat()}#{uuid.uuid4()}",
            "entity": "nik_audit",
            "action": action,
            "partner_id": partner.partner_id,
            "key_id": partner.key_id,
            "nik_hash": nik_hash,
            "at": at.isoformat(),
            "expires_at": int(at.timestamp()) + AUDIT_RETENTION_SECONDS,
        }
        try:
            self._client.put_item(TableName=self._table, Item=to_item(item))
        except aws.CALL_ERRORS as exc:
            raise DependencyUnavailable(f"participants table: {error_code(exc)}") from exc
        count_per_partner("NikLookups", partner.partner_id)
