"""The OpenAPI document lists every route, and a schemathesis run over it (bounded: at most 8
examples per operation) gets no 5xx answer and no
unexpected-exception reply."""

from __future__ import annotations

import time

import pytest


def test_openapi_document_lists_every_route(rest_server):
    status, document = rest_server.raw("GET", "/v2/vectordb/openapi.json")
    assert status == 200 and document["openapi"].startswith("3.")
    assert rest_server.post("/v2/vectordb/openapi.json")[1] == document
    served = set(rest_server.running.rest.routes)
    assert set(document["paths"]) == served
    assert {"/v2/vectordb/collections/create", "/v2/vectordb/entities/search",
            "/v2/vectordb/entities/advanced_search"} <= served
    create = document["paths"]["/v2/vectordb/collections/create"]["post"]
    schema = create["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["collectionName"]


def test_the_docs_page_shows_every_route(rest_server):
    status, page = rest_server.raw("GET", "/v2/vectordb/docs")
    assert status == 200 and page.startswith("<!doctype html>")
    for path in rest_server.running.rest.routes:
        assert f"POST {path}" in page
    assert "collectionName" in page  # request schemas are shown
    assert rest_server.raw("POST", "/v2/vectordb/docs")[0] == 404


def test_fuzzing_the_documented_routes_never_gets_a_5xx(rest_server):
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings

    rest_server.client.create_collection("fuzzed", dimension=2)
    _, document = rest_server.raw("GET", "/v2/vectordb/openapi.json")
    schema = schemathesis.openapi.from_dict(document)
    started, calls = time.monotonic(), []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=8, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case):
            response = case.call(base_url=rest_server.url, timeout=30)
            calls.append(response.status_code)
            assert response.status_code < 500, (case.path, case.body, response.text)
            if response.status_code == 200:  # a Milvus envelope, never the catch-all
                payload = response.json()
                assert "code" in payload
                assert not payload.get("message", "").startswith("unexpected error"), (
                    case.path, case.body, payload)

        check()
    assert len(calls) > 100 and time.monotonic() - started < 60
