"""Claims storage (participants table) and supporting documents (S3).

Items:
- ``CLAIM#<id> / CLAIM``: the claim, its steps and documents; written on the version read;
- ``PARTICIPANT#<id> / CLAIM#<type>#<incident date>``: one claim per participant, type and
  incident (the guard), and the participant's claims listed by key;
- ``HEIRPHONE#<sha256 of the phone> / <participant id>``: whose claims named this heir phone;
- ``AGENTCLAIMS#<partner>#<code> / COUNT`` and ``AGENTCLAIMS#ALL / COUNT``: claims by the
  recruits of each agent, and in all, for the "far above the mean" fraud signal.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any

from perisai import aws
from perisai.claims.models import Claim
from perisai.dynamo import DynamoRepository, error_code, from_item, to_item
from perisai.errors import ClaimAlreadyFiled, DependencyUnavailable, VersionConflict
from perisai.participants.repository import DomainEvent, ParticipantRepository

HEIR_PHONE_TTL_SECONDS = 10 * 365 * 24 * 3600


def heir_phone_key(phone: str) -> str:
    # A hash, not the number: the item exists to count, never to find a person.
    return "HEIRPHONE#" + hashlib.sha256(phone.encode()).hexdigest()


def _guard_key(claim: Claim) -> dict[str, str]:
    return {"pk": f"PARTICIPANT#{claim.participant_id}", "sk": f"CLAIM#{claim.type}#{claim.incident_date.isoformat()}"}


class ClaimRepository(DynamoRepository):
    def __init__(self, table_name: str, participants: ParticipantRepository, dynamodb: Any | None = None) -> None:
        super().__init__(table_name, dynamodb)
        self._participants = participants

    def get(self, claim_id: str) -> Claim | None:
        item = self._get({"pk": {"S": f"CLAIM#{claim_id}"}, "sk": {"S": "CLAIM"}})
        return Claim.model_validate(from_item(item)) if item else None

    def for_participant(self, participant_id: str) -> list[Claim]:
        page = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :claim)",
            ExpressionAttributeValues={":pk": {"S": f"PARTICIPANT#{participant_id}"}, ":claim": {"S": "CLAIM#"}},
        )
        claims = [self.get(str(from_item(i)["claim_id"])) for i in page.get("Items", [])]
        return sorted((c for c in claims if c), key=lambda c: c.filed_at)

    def heir_phone_claimants(self, phone: str, participant_id: str) -> int:
        """Distinct participants whose claims named this heir phone, this one included."""
        page = self._query(
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": heir_phone_key(phone)}},
            Select="COUNT",
        )
        seen = int(page.get("Count", 0))
        mine = self._get({"pk": {"S": heir_phone_key(phone)}, "sk": {"S": participant_id}})
        return seen + (0 if mine else 1)

    def agent_claims(self, partner_id: str, agent_code: str) -> tuple[int, int, int]:
        """(this agent's recruits' claims, all agents' recruits' claims, agents with a claim)."""
        agent = self._get({"pk": {"S": f"AGENTCLAIMS#{partner_id}#{agent_code}"}, "sk": {"S": "COUNT"}})
        total = self._get({"pk": {"S": "AGENTCLAIMS#ALL"}, "sk": {"S": "COUNT"}})
        plain_total = from_item(total) if total else {}
        return (
            int(from_item(agent)["claims"]) if agent else 0,
            int(plain_total.get("claims", 0)),
            int(plain_total.get("agents", 0)),
        )

    def create(
        self,
        claim: Claim,
        events: Sequence[DomainEvent],
        *,
        new_agent: bool,
        agent: tuple[str, str] | None = None,
        participant_items: Sequence[dict[str, Any]] = (),
    ) -> None:
        """The claim, its guard, its heir-phone and agent counts, its events (and, for a claim that
        ends the participation, the participant's change), all or nothing."""
        guard = {**_guard_key(claim), "entity": "claim_guard", "claim_id": claim.claim_id}
        items: list[dict[str, Any]] = [
            self._put(_claim_item(claim), "attribute_not_exists(pk)"),
            self._put(guard, "attribute_not_exists(pk)"),
            *participant_items,
            *(self._participants.outbox_item(e) for e in events),
        ]
        if claim.heir is not None:
            heir = {
                "pk": heir_phone_key(claim.heir.phone),
                "sk": claim.participant_id,
                "entity": "heir_phone",
                "expires_at": int(time.time()) + HEIR_PHONE_TTL_SECONDS,
            }
            items.append({"Put": {"TableName": self._table, "Item": to_item(heir)}})
        if agent is not None:  # (recruiting partner, agent code)
            agent_key = f"AGENTCLAIMS#{agent[0]}#{agent[1]}"
            items.append(_count(self._table, agent_key, {"claims": 1}))
            items.append(_count(self._table, "AGENTCLAIMS#ALL", {"claims": 1, "agents": 1 if new_agent else 0}))
        reasons = self._transact(items)
        if reasons and reasons[1] == "ConditionalCheckFailed":
            existing = self._get({k: {"S": v} for k, v in _guard_key(claim).items()})
            raise ClaimAlreadyFiled(str(from_item(existing)["claim_id"]) if existing else "")
        if reasons:
            raise VersionConflict(f"claim {claim.claim_id}")

    def replace(
        self,
        claim: Claim,
        read_version: int,
        events: Sequence[DomainEvent],
        participant_items: Sequence[dict[str, Any]] = (),
    ) -> Claim:
        """Store the claim's next step over the version read, with its events (and, when the claim
        ends the participation, the participant's change), all or nothing."""
        stored = claim.model_copy(update={"version": read_version + 1})
        items = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(_claim_item(stored)),
                    "ConditionExpression": "version = :read",
                    "ExpressionAttributeValues": {":read": {"N": str(read_version)}},
                }
            },
            *participant_items,
            *(self._participants.outbox_item(e) for e in events),
        ]
        if self._transact(items):
            raise VersionConflict(f"claim {claim.claim_id}")
        return stored


class DocumentStore:
    """Supporting documents in S3: a presigned upload per document, and which ones arrived."""

    def __init__(self, bucket: str, s3: Any | None = None) -> None:
        self._bucket = bucket
        self._s3 = s3

    @property
    def _client(self) -> Any:
        return self._s3 or aws.client("s3")

    def upload_url(self, key: str, content_type: str, expires_seconds: int) -> str:
        try:
            url: str = self._client.generate_presigned_url(
                "put_object",
                Params={"Bucket": self._bucket, "Key": key, "ContentType": content_type},
                ExpiresIn=expires_seconds,
            )
        except aws.CALL_ERRORS as exc:
            raise DependencyUnavailable(f"documents: {error_code(exc)}") from exc
        return url

    def uploaded(self, prefix: str) -> set[str]:
        try:
            page = self._client.list_objects_v2(Bucket=self._bucket, Prefix=prefix, MaxKeys=1000)
        except aws.CALL_ERRORS as exc:
            raise DependencyUnavailable(f"documents: {error_code(exc)}") from exc
        return {str(o["Key"]) for o in page.get("Contents", [])}


def _count(table: str, pk: str, adds: dict[str, int]) -> dict[str, Any]:
    names = {f"#{k}": k for k in adds}
    return {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": pk}, "sk": {"S": "COUNT"}},
            "UpdateExpression": "ADD " + ", ".join(f"#{k} :{k}" for k in adds),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {f":{k}": {"N": str(v)} for k, v in adds.items()},
        }
    }


def _claim_item(claim: Claim) -> dict[str, Any]:
    return {"pk": f"CLAIM#{claim.claim_id}", "sk": "CLAIM", "entity": "claim", **claim.model_dump(mode="json")}
