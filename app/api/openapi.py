"""OpenAPI pieces Litestar cannot infer: the streamed job-submission body, its headers, error responses."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.datastructures import ResponseSpec
from litestar.datastructures import ResponseHeader
from litestar.enums import ParamType
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Parameter, RequestBody, Schema

from app.api.schemas import ErrorBody

_FIELDS = {
    "adapterType": Schema(type=OpenAPIType.STRING, description="Adapter name, see GET /data-ingestion/adapters"),
    "knowledgeBaseId": Schema(type=OpenAPIType.STRING, format="uuid"),
    "options": Schema(type=OpenAPIType.OBJECT, description="Adapter options, e.g. content-hub `tagAttributes`"),
}
_JSON_BODY = Schema(
    type=OpenAPIType.OBJECT,
    required=["adapterType", "knowledgeBaseId", "data"],
    properties={**_FIELDS, "data": Schema(description="Adapter-specific payload, e.g. `{records: [...]}` for generic-json")},
)
_FORM_BODY = Schema(
    type=OpenAPIType.OBJECT,
    required=["adapterType", "knowledgeBaseId", "data"],
    properties={
        **_FIELDS,
        "options": Schema(type=OpenAPIType.STRING, description="Adapter options as a JSON string"),
        "data": Schema(type=OpenAPIType.STRING, format="binary", description="A JSON file, or a JSON string"),
    },
)


# Printable ASCII, no space at either end (servers strip those); app/api/submission.py checks it.
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7E](?:[\x20-\x7E]{0,253}[\x21-\x7E])?$"
_IDEMPOTENCY_KEY = Parameter(
    name="Idempotency-Key",
    param_in=ParamType.HEADER,
    required=False,
    schema=Schema(type=OpenAPIType.STRING, min_length=1, max_length=255, pattern=IDEMPOTENCY_KEY_PATTERN),
    description=(
        "Makes a retried submission safe: within 24 hours the same key with the same request returns the job it "
        "created (with `Idempotent-Replayed: true`) and creates nothing; with a different request it is a 409. "
        "Keys are per workspace."
    ),
)
SUBMIT_RESPONSE_HEADERS = [
    # `value` only gives the header a string schema: documentation_only headers are never set from it.
    ResponseHeader(name="Location", value="/api/v2/data-ingestion/jobs/{jobId}", description="The job's URL", documentation_only=True),
    ResponseHeader(
        name="Idempotent-Replayed",
        value="true",
        description="`true` when this answers a repeated Idempotency-Key",
        documentation_only=True,
    ),
]


@dataclass
class SubmitJobOperation(Operation):
    def __post_init__(self) -> None:
        self.parameters = [*(self.parameters or []), _IDEMPOTENCY_KEY]
        self.request_body = RequestBody(
            required=True,
            content={
                "application/json": OpenAPIMediaType(schema=_JSON_BODY),
                "multipart/form-data": OpenAPIMediaType(schema=_FORM_BODY),
            },
        )


_DESCRIPTIONS = {
    400: "Invalid request",
    401: "Missing or invalid access token",
    403: "Insufficient scope",
    404: "Not found",
    408: "The request body stopped arriving",
    409: "Conflict with the resource's state",
    413: "Request body too large",
    415: "Unsupported Content-Type",
    429: "Rate limited",
}


def errors(*codes: int) -> dict[int, ResponseSpec]:
    """Error responses of an API operation, in our shape.

    Every operation may also be refused as malformed (400, which would otherwise be
    documented in Litestar's own error shape) or rate limited (429).
    """
    return {
        code: ResponseSpec(data_container=ErrorBody, description=_DESCRIPTIONS[code], generate_examples=False)
        for code in sorted({*codes, 400, 429})
    }
