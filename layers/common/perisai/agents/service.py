"""Agent registry rules. No boto3: storage comes in as a port.

- Who: an agent belongs to one partner. A partner (scope enroll) registers, reads, deactivates
  and reactivates its own agents; the back office acts for any partner it names (``partner_id``
  in the registration body, ``?partner_id=`` on the other routes; default: itself). Another
  partner's agent is reported absent (404), never forbidden.
- Codes are unique per partner whatever their case (keyed upper case, shown as registered). A
  registration repeating exactly an existing agent (same code as typed, name, phone, regency and
  cooperative) is a retry and answers that agent (200); any other one under a taken code is 409.
- Deactivating an inactive agent, or reactivating an active one, changes and writes nothing.
  Reactivating restarts the inactivity clock: the last activity month becomes the current month.
- The daily job flags an active agent inactive (``no_activity``) once ``inactive_after_months``
  whole months passed after its last activity month (policy data), each on the version read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from perisai.agents.models import AgentRequest, AgentView, StatusReason, StoredAgent
from perisai.clock import JAKARTA
from perisai.domain.agents import AgentPolicy, RegistryPolicy, inactivity_months, is_inactive, mask_phone
from perisai.domain.errors import DomainValidationError
from perisai.domain.months import DuesMonth
from perisai.domain.partners import Partner
from perisai.errors import AgentExists, DependencyUnavailable, NotFound, VersionConflict

WRITE_ATTEMPTS = 5


class AgentStore(Protocol):
    def get(self, partner_id: str, agent_code: str) -> StoredAgent | None: ...

    def create(self, agent: StoredAgent) -> None: ...

    def replace(self, agent: StoredAgent, read_version: int) -> StoredAgent: ...

    def partner_exists(self, partner_id: str) -> bool: ...

    def partners_with_code(self, agent_code: str, at_most: int = 10) -> list[str]: ...


class AgentIndex(Protocol):
    def last_active_in(self, month: str) -> Iterator[tuple[str, str]]: ...


class AgentDirectory(Protocol):
    """What enrollment needs: one agent by partner and code."""

    def get(self, partner_id: str, agent_code: str) -> StoredAgent | None: ...


class AgentOwners(Protocol):
    def partners_with_code(self, agent_code: str, at_most: int = 10) -> list[str]: ...


def view_of(agent: StoredAgent) -> AgentView:
    return AgentView(**agent.model_dump(exclude={"phone", "version"}), phone=mask_phone(agent.phone))


def check_recruiting_agent(agents: AgentDirectory, partner_id: str, agent_code: str) -> None:
    """An enrollment may name only an active agent registered by the enrolling partner:
    otherwise 422 naming ``agent_code``."""
    agent = agents.get(partner_id, agent_code)
    if agent is None:
        raise DomainValidationError.single("agent_code", "not a registered agent of this partner")
    if agent.status != "active":
        raise DomainValidationError.single("agent_code", "this agent is inactive: reactivate it first")


# A change: the agent as read -> the agent to store, or None when nothing changes.
Change = Callable[[StoredAgent], StoredAgent | None]


@dataclass
class AgentService:
    store: AgentStore

    def register(self, request: AgentRequest, partner: Partner, now: datetime) -> tuple[AgentView, bool]:
        """The agent and whether it was created (False: the same registration again)."""
        partner_id = self._owner_for_registration(request.partner_id, partner)
        month = str(DuesMonth.of(now))
        agent = StoredAgent(
            agent_code=request.agent_code,
            partner_id=partner_id,
            name=request.name,
            phone=request.phone,
            home_regency=request.home_regency,
            cooperative=request.cooperative,
            status="active",
            status_reason="registered",
            registered_at=now,
            updated_at=now,
            last_activity_month=month,
            version=1,
        )
        try:
            self.store.create(agent)
        except AgentExists:
            existing = self.store.get(partner_id, request.agent_code)
            if existing is None or not _same_registration(existing, agent):
                raise
            return view_of(existing), False
        return view_of(agent), True

    def view(self, agent_code: str, partner: Partner, partner_id: str | None) -> AgentView:
        owner = owner_of(partner_id, partner, agent_code, self.store)
        agent = self.store.get(owner, agent_code)
        if agent is None:
            raise NotFound("agent")
        return view_of(agent)

    def deactivate(
        self, agent_code: str, partner: Partner, partner_id: str | None, note: str | None, now: datetime
    ) -> AgentView:
        def deactivate(current: StoredAgent) -> StoredAgent | None:
            if current.status == "inactive":
                return None
            return _with_status(current, "inactive", "deactivated", note, now)

        return view_of(self._modify(owner_of(partner_id, partner, agent_code, self.store), agent_code, deactivate))

    def reactivate(
        self, agent_code: str, partner: Partner, partner_id: str | None, note: str | None, now: datetime
    ) -> AgentView:
        month = str(DuesMonth.of(now))

        def reactivate(current: StoredAgent) -> StoredAgent | None:
            if current.status == "active":
                return None
            changed = _with_status(current, "active", "reactivated", note, now)
            # A fresh start: the months before the reactivation do not count against it again.
            return changed.model_copy(update={"last_activity_month": max(current.last_activity_month, month)})

        return view_of(self._modify(owner_of(partner_id, partner, agent_code, self.store), agent_code, reactivate))

    def _modify(self, partner_id: str, agent_code: str, change: Change) -> StoredAgent:
        for _ in range(WRITE_ATTEMPTS):
            current = self.store.get(partner_id, agent_code)
            if current is None:
                raise NotFound("agent")
            changed = change(current)
            if changed is None:
                return current
            try:
                return self.store.replace(changed, current.version)
            except VersionConflict:
                continue
        raise DependencyUnavailable("the agent kept changing concurrently; retry")

    def _owner_for_registration(self, named: str | None, partner: Partner) -> str:
        if named is None or named == partner.partner_id:
            return partner.partner_id
        if not partner.is_backoffice:
            raise DomainValidationError.single(
                "partner_id", "only the back office registers agents for another partner"
            )
        if not self.store.partner_exists(named):
            raise DomainValidationError.single("partner_id", "no such partner")
        return named


def owner_of(named: str | None, partner: Partner, agent_code: str, owners: AgentOwners) -> str:
    """The partner whose agent is asked for: the caller's own, or any the back office names.
    Another partner naming someone else's is told the agent does not exist. The back office
    naming no partner gets the one partner that has an agent of that code (codes are unique per
    partner only: when several have one, it must name the partner)."""
    if partner.is_backoffice and named is None:
        found = owners.partners_with_code(agent_code)
        if len(found) > 1:
            raise DomainValidationError.single(
                "partner_id", f"{len(found)} partners have an agent {agent_code.upper()}: name one with partner_id"
            )
        return found[0] if found else partner.partner_id
    if named is None or named == partner.partner_id:
        return partner.partner_id
    if not partner.is_backoffice:
        raise NotFound("agent")
    return named


def _same_registration(existing: StoredAgent, asked: StoredAgent) -> bool:
    fields = ("agent_code", "partner_id", "name", "phone", "home_regency", "cooperative")
    return all(getattr(existing, f) == getattr(asked, f) for f in fields)


def _with_status(agent: StoredAgent, status: str, reason: StatusReason, note: str | None, now: datetime) -> StoredAgent:
    return agent.model_copy(update={"status": status, "status_reason": reason, "status_note": note, "updated_at": now})


@dataclass
class AgentInactivity:
    """The daily job: flag the active agents without activity for the policy's whole months."""

    store: AgentStore
    index: AgentIndex
    policy: AgentPolicy

    def run(self, now: datetime) -> dict[str, int | str]:
        today = now.astimezone(JAKARTA).date()
        policy = self.policy.registry_on(today)
        months = inactivity_months(today, policy)
        read = flagged = 0
        for month in months:
            for partner_id, agent_code in self.index.last_active_in(month):
                read += 1
                flagged += self._flag(partner_id, agent_code, policy, now)
        return {"day": today.isoformat(), "months_read": len(months), "agents_read": read, "flagged": flagged}

    def _flag(self, partner_id: str, agent_code: str, policy: RegistryPolicy, now: datetime) -> bool:
        today = now.astimezone(JAKARTA).date()
        for _ in range(WRITE_ATTEMPTS):
            current = self.store.get(partner_id, agent_code)
            # The index is eventually consistent: decide on the item itself, as read.
            if current is None or current.status != "active":
                return False
            if not is_inactive(current.last_activity_month, today, policy):
                return False
            try:
                self.store.replace(_with_status(current, "inactive", "no_activity", None, now), current.version)
            except VersionConflict:
                continue  # an activity or a partner's change came in: read it again
            return True
        raise DependencyUnavailable("an agent kept changing concurrently; the next run retries")
