"""/knowledge-bases: create the target of a migration and verify what landed."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar.di import NamedDependency
from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from adapters.base import Issue
from app.api import openapi, presenters, schemas
from app.api.body import require_json
from app.api.params import MAX_OFFSET, path_uuid
from app.db import transaction
from app.errors import InvalidInput
from app.runtime import Runtime
from app.services import knowledge_bases

Limit = Annotated[int, QueryParameter(ge=1, le=100)]
Offset = Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)]


class KnowledgeBaseController(Controller):
    path = "/knowledge-bases"
    tags = ["knowledge-bases"]

    @post("/", status_code=HTTP_201_CREATED, sync_to_thread=True, before_request=require_json, responses=openapi.errors(400, 409, 415))
    def create(self, runtime: NamedDependency[Runtime], workspace_id: NamedDependency[UUID], data: JSONBody[schemas.KnowledgeBaseCreate]) -> schemas.KnowledgeBasePublic:
        name = data.name.strip()
        if not name or len(name) > 200:
            raise InvalidInput("name must be 1-200 characters", [Issue("name", "must be 1-200 characters")])
        if data.description is not None and len(data.description) > 2000:
            raise InvalidInput("description must be at most 2000 characters", [Issue("description", "must be at most 2000 characters")])
        nul = [field for field, text in (("name", name), ("description", data.description or "")) if "\x00" in text]
        if nul:
            raise InvalidInput("name and description must not contain NUL characters", [Issue(f, "must not contain NUL characters") for f in nul])
        with transaction(runtime.sessions) as session:
            kb = knowledge_bases.create(session, workspace_id=workspace_id, name=name, description=data.description)
        return presenters.knowledge_base(kb, 0)

    @get("/", sync_to_thread=True, responses=openapi.errors(400))
    def list_all(self, runtime: NamedDependency[Runtime], workspace_id: NamedDependency[UUID], limit: Limit = 20, offset: Offset = 0) -> schemas.KnowledgeBaseList:
        with transaction(runtime.sessions) as session:
            total, rows = knowledge_bases.list_page(session, workspace_id=workspace_id, limit=limit, offset=offset)
            counts = knowledge_bases.entry_counts(session, knowledge_base_ids=[r.id for r in rows])
        return schemas.KnowledgeBaseList(total=total, knowledgeBases=[presenters.knowledge_base(r, counts.get(r.id, 0)) for r in rows])

    @get("/{knowledgeBaseId:str}", sync_to_thread=True, responses=openapi.errors(404))
    def get_one(self, runtime: NamedDependency[Runtime], workspace_id: NamedDependency[UUID], knowledgeBaseId: FromPath[str]) -> schemas.KnowledgeBasePublic:
        uuid = path_uuid(knowledgeBaseId, "Knowledge base")
        with transaction(runtime.sessions) as session:
            kb = knowledge_bases.get(session, workspace_id=workspace_id, knowledge_base_id=uuid)
            count = knowledge_bases.entry_counts(session, knowledge_base_ids=[uuid]).get(uuid, 0)
        return presenters.knowledge_base(kb, count)

    @get("/{knowledgeBaseId:str}/entries", sync_to_thread=True, responses=openapi.errors(400, 404))
    def list_entries(
        self,
        runtime: NamedDependency[Runtime],
        workspace_id: NamedDependency[UUID],
        knowledgeBaseId: FromPath[str],
        limit: Limit = 20,
        offset: Offset = 0,
        sourceId: Annotated[str | None, QueryParameter(max_length=512)] = None,
    ) -> schemas.EntryList:
        uuid = path_uuid(knowledgeBaseId, "Knowledge base")
        if sourceId is not None and "\x00" in sourceId:
            raise InvalidInput("sourceId must not contain NUL characters", [Issue("sourceId", "must not contain NUL characters")])
        with transaction(runtime.sessions) as session:
            total, rows = knowledge_bases.list_entries(
                session, workspace_id=workspace_id, knowledge_base_id=uuid, limit=limit, offset=offset, source_id=sourceId
            )
        return schemas.EntryList(total=total, entries=[presenters.entry(r) for r in rows])
