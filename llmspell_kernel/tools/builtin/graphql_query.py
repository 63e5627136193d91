"""graphql_query: a GraphQL operation POSTed as JSON {query, variables, operationName}; the
answer's data and errors (GraphQL over HTTP); `introspect` asks for the schema's types."""

from __future__ import annotations

import json

from llmspell_kernel.tools.base import Params, ToolError, ToolFailure, ToolResponse
from llmspell_kernel.tools.http import authorise, send

TYPE_CHECKING = False  # typing is not loaded at run time (records.py)
if TYPE_CHECKING:
    from typing import Any

INTROSPECTION = (
    "query IntrospectionQuery { __schema { queryType { name } mutationType { name } "
    "types { name kind description fields { name type { name kind ofType { name kind } } } } } }"
)


def run(params: Params, context: Any) -> ToolResponse:
    url = params.text("input", required=True, aliases=("url", "endpoint"))
    context.url(url)
    operation = params.choice("operation", ("query", "introspect"), "query")
    query = INTROSPECTION if operation == "introspect" else params.text("query", required=True)
    body: dict[str, Any] = {"query": query}
    variables = params.table("variables")
    if variables:
        body["variables"] = variables
    name = params.text("operation_name")
    if name:
        body["operationName"] = name
    headers = {str(k): str(v) for k, v in params.table("headers").items()}
    headers.setdefault("Content-Type", "application/json")
    headers.setdefault("Accept", "application/graphql-response+json, application/json")
    authorise(headers, params.table("auth"))
    reply = send(
        context,
        "POST",
        url,
        headers=headers,
        content=json.dumps(body).encode("utf-8"),
        timeout=params.number("timeout", None),
    )
    try:
        document = json.loads(reply.body)
    except ValueError:
        raise ToolFailure(
            f"{url} answered HTTP {reply.status_code} {reply.reason} without a GraphQL response"
        ) from None
    if not isinstance(document, dict) or not ("data" in document or "errors" in document):
        raise ToolFailure(
            f"{url} answered HTTP {reply.status_code} with JSON that is not a GraphQL response"
        )
    errors = document.get("errors") or []
    if not isinstance(errors, list):
        raise ToolError(f"{url}: 'errors' in the response is not a list")
    data = document.get("data")
    if operation == "introspect" and isinstance(data, dict):
        data = data.get("__schema", data)
    ok = not errors and reply.status_code < 400
    messages = [str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors]
    return ToolResponse(
        result={
            "data": data,
            "errors": errors,
            "status_code": reply.status_code,
            "extensions": document.get("extensions"),
        },
        text=json.dumps(data, sort_keys=True, ensure_ascii=False) if ok else "; ".join(messages),
        success=ok,
        error=None if ok else ("; ".join(messages) or f"HTTP {reply.status_code} {reply.reason}"),
    )
