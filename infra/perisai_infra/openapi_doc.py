"""Build the API's OpenAPI document from the functions' resolvers (Powertools OpenAPIMerge).

`make build` writes it into the layer (perisai/openapi.json), where the enroll function
serves it at GET /v1/openapi.json.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from perisai_infra.paths import FUNCTIONS, LAYER_SOURCE

# Routes open to the internet carry this extension (perisai.api.PUBLIC); it becomes `security: []`.
PUBLIC_EXTENSION = "x-perisai-public"
OUTPUT = LAYER_SOURCE / "perisai" / "openapi.json"
TITLE = "Perisai partner API"
VERSION = "1.0.0"
DESCRIPTION = (
    "Enrollment of informal workers into BPJS Ketenagakerjaan BPU coverage, dues, payments and claims. "
    "Partner routes take `Authorization: Bearer <partner key>`; payment callbacks use each provider's own scheme."
)


def build_document() -> dict[str, Any]:
    if str(LAYER_SOURCE) not in sys.path:
        sys.path.insert(0, str(LAYER_SOURCE))
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    merge = OpenAPIMerge(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        security_schemes={"PartnerKey": HTTPBearer(bearerFormat="opaque partner key")},
        security=[{"PartnerKey": []}],
        on_conflict="error",
    )
    # Every module of a function folder that builds an API resolver (a folder may hold several functions).
    for handler_file in sorted(FUNCTIONS.glob("*/*.py")):
        if "app = build_resolver()" in handler_file.read_text():
            merge.add_file(handler_file, resolver_name="app")
    # Round-trip through the JSON form: get_openapi_schema() may still hold model objects.
    return _normalise(json.loads(merge.get_openapi_json_schema()))


def _normalise(document: dict[str, Any]) -> dict[str, Any]:
    """Make the document say what the API does: one error body everywhere, public routes public."""
    error_ref = {"$ref": "#/components/schemas/ErrorBody"}
    for operations in document["paths"].values():
        for operation in operations.values():
            if operation.pop(PUBLIC_EXTENSION, False):
                operation["security"] = []
            responses = operation.get("responses", {})
            takes_input = operation.get("parameters") or operation.get("requestBody")
            if not takes_input:
                responses.pop("422", None)
            for response in responses.values():
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                # Powertools documents its own validation bodies; ours map every error to ErrorBody.
                if schema.get("$ref", "").endswith(("/HTTPValidationError", "/ResponseValidationError")):
                    response["content"]["application/json"]["schema"] = error_ref
    text = json.dumps(document)
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        if f"#/components/schemas/{unused}" not in text:
            document["components"]["schemas"].pop(unused, None)
    return document


def main() -> None:
    document = build_document()
    OUTPUT.write_text(json.dumps(document, indent=1, sort_keys=True))
    print(f"wrote {OUTPUT.relative_to(LAYER_SOURCE.parents[1])} ({len(document['paths'])} paths)")


if __name__ == "__main__":
    main()
