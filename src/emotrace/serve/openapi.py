"""The OpenAPI description of /v1/analyze's body. The route reads its body itself (JSON or multipart on one path),
so FastAPI cannot infer the schema; this describes both encodings and registers the request model's schema."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from emotrace.serve.schemas import AnalyzeRequest

ANALYZE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/AnalyzeRequest"},
                "examples": {
                    "transcript": {
                        "summary": "text as the web page sends it",
                        "value": {"text": "Ann: I got the job!\nBob: That's wonderful news!", "format": "transcript", "html": True},
                    },
                    "conversations": {
                        "summary": "JSONL-schema conversations with options",
                        "value": {
                            "conversations": [
                                {
                                    "id": "call-1",
                                    "utterances": [
                                        {"speaker": "Customer", "text": "Why is it still broken?"},
                                        {"speaker": "Agent", "text": "A technician replaced the faulty part this morning."},
                                    ],
                                }
                            ],
                            "options": {"explain": True, "abstain_below": 0.4, "mc_dropout": 5},
                        },
                    },
                    "conversation": {
                        "summary": "one conversation, as a JSONL line",
                        "value": {"id": "call-2", "utterances": [{"speaker": "Ann", "text": "I got the job!"}, {"speaker": "Bob", "text": "Wonderful!"}]},
                    },
                },
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["request"],
                    "properties": {
                        "request": {"type": "string", "description": 'the JSON request; media fields name the uploaded files, e.g. {"audio": "turn1.wav"}'},
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}, "description": "media uploads, referred to by file name"},
                    },
                },
                "encoding": {"request": {"contentType": "application/json"}},
            },
        },
    }
}


def install_openapi(app: FastAPI) -> None:
    """Generate the schema once, adding `AnalyzeRequest` (and the models it uses) to its components."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            request_schema = AnalyzeRequest.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(request_schema.pop("$defs", {}))
            components["AnalyzeRequest"] = request_schema
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
