"""OpenAPI pieces Litestar cannot infer: the streamed job-submission body and error responses."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema

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


@dataclass
class SubmitJobOperation(Operation):
    def __post_init__(self) -> None:
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
    409: "Conflict with the resource's state",
    413: "Request body too large",
    415: "Unsupported Content-Type",
    429: "Rate limited",
}


def errors(*codes: int) -> dict[int, ResponseSpec]:
    return {code: ResponseSpec(data_container=ErrorBody, description=_DESCRIPTIONS[code], generate_examples=False) for code in codes}
