"""Defect 7, where infra meets code: the NIK lookup burst alarm (infra/perisai_infra/monitoring.py)
queries ``SCHEMA(Perisai, partner_id)``, which matches only metrics whose dimension set is exactly
{partner_id}. A ``service`` dimension next to it (Powertools adds one from POWERTOOLS_SERVICE_NAME,
single_metric too) would leave the alarm looking at nothing, silently. So the metric enroll really
emits on a lookup must be the one the alarm's query reads."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from perisai_infra.monitoring import NIK_LOOKUPS_BY_BUSIEST_PARTNER
from tests.api.conftest import PARTNER, Api, make_nik


def _emitted(output: str, metric: str) -> list[dict[str, Any]]:
    """The EMF documents in ``output`` that carry ``metric``."""
    found = []
    for line in output.splitlines():
        if metric not in line or not line.lstrip().startswith("{"):
            continue
        try:
            document = json.loads(line)
        except ValueError:
            continue
        for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
            if any(m["Name"] == metric for m in directive["Metrics"]):
                found.append({"namespace": directive["Namespace"], "dimensions": directive["Dimensions"], **document})
    return found


def test_every_nik_lookup_emits_the_metric_the_burst_alarm_reads(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    query = re.fullmatch(r"SELECT SUM\((\w+)\) FROM SCHEMA\((\w+), (\w+)\) .*", NIK_LOOKUPS_BY_BUSIEST_PARTNER)
    assert query, NIK_LOOKUPS_BY_BUSIEST_PARTNER
    metric, namespace, dimension = query.groups()
    capsys.readouterr()
    response = api.get("/v1/participants", headers=PARTNER, params={"nik": make_nik()})
    assert response.status_code == 404, response.text  # nobody enrolled with it: still a lookup
    emitted = _emitted(capsys.readouterr().out, metric)
    assert emitted, f"no {metric} metric printed by the lookup"
    for document in emitted:
        assert document["namespace"] == namespace
        assert document["dimensions"] == [[dimension]], (
            f"{metric} is emitted with dimensions {document['dimensions']}: SCHEMA({namespace}, {dimension}) "
            "matches only the dimension set {" + dimension + "}, so the alarm would never see it"
        )
        assert document[dimension] == "demo-partner"
