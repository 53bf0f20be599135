"""Hostile and malformed requests: a Milvus code and message every time, never a 500, never
a stack trace, never a changed database; plus the HTTP conventions (CORS, OPTIONS, 404,
timeouts, body limit, authentication)."""

from __future__ import annotations

import base64

import pytest

from redkite.server import AuthConfig, RestConfig

from .conftest import close_rest_server, error, ok, open_rest_server


@pytest.fixture(scope="module")
def seeded(rest_server):
    rest_server.client.create_collection("kept", dimension=2)
    rest_server.client.insert("kept", [{"id": 1, "vector": [1.0, 0.0]}])
    yield rest_server
    assert rest_server.client.list_collections() == ["kept"]  # nothing changed
    assert rest_server.client.get_collection_stats("kept")["row_count"] == 1


@pytest.mark.parametrize("content,fragment", [
    (b"", "request body should be nil"),
    (b"   ", "request body should be nil"),
    (b"{bad", "can only accept json format request, error"),
    (b"[1, 2]", "cannot unmarshal list"),
    (b'"text"', "cannot unmarshal str"),
    (b'{"collectionName": NaN}', "can only accept json format request, error"),
    (b"[" * 100_000, "can only accept json format request"),
    (b"\xff\xfe{}", "can only accept json format request"),
])
def test_malformed_bodies_are_1801(seeded, content, fragment):
    status, payload = seeded.raw("POST", "entities/insert", content)
    assert status == 200 and payload["code"] == 1801, payload
    assert fragment in payload["message"]
    assert "Traceback" not in payload["message"]


def test_null_body_is_an_empty_request(seeded):
    assert seeded.raw("POST", "collections/list", b"null") == (200, {"code": 0,
                                                                      "data": ["kept"]})


@pytest.mark.parametrize("path,body,code,fragment", [
    ("collections/describe", {"collectionName": 5}, 1801, "collectionName"),
    ("collections/describe", {"collectionName": ["kept"]}, 1801, "collectionName"),
    ("entities/query", {"collectionName": "kept", "limit": "10"}, 1801, "limit"),
    ("entities/query", {"collectionName": "kept", "limit": 1.5}, 1801, "limit"),
    ("entities/query", {"collectionName": "kept", "outputFields": "id"}, 1801,
     "outputFields"),
    ("entities/query", {"collectionName": "kept", "outputFields": [1]}, 1801, "outputFields"),
    ("entities/search", {"collectionName": "kept", "data": [[1, 0]], "searchParams": []},
     1801, "searchParams"),
    ("collections/describe", {}, 1802, "collectionName"),
    ("collections/describe", {"collectionName": ""}, 1802, "collectionName"),
    ("collections/rename", {"collectionName": "kept"}, 1802, "newCollectionName"),
    ("entities/insert", {"collectionName": "kept", "data": []}, 1802, "data"),
    ("entities/insert", {"collectionName": "kept", "Data": [{"id": 2}]}, 1802, "data"),
    ("collections/list", {"dbName": 7}, 1801, "dbName"),
])
def test_wrong_types_and_missing_keys(seeded, path, body, code, fragment):
    assert fragment in error(seeded.post(path, body), code)


@pytest.mark.parametrize("name", ["../../etc/passwd", "a;drop", "x" * 10_000, "名字", " ",
                                  "a\x00b", "1abc"])
def test_hostile_collection_names_are_refused(seeded, name):
    error(seeded.post("collections/create", {"collectionName": name, "dimension": 2}), 1100)
    assert error(seeded.post("collections/describe", {"collectionName": name}), 100)


def test_hostile_values_in_rows_and_filters(seeded):
    error(seeded.post("entities/insert", {"collectionName": "kept", "data": [
        {"id": 2 ** 70, "vector": [1, 0]}]}), 1100)
    error(seeded.post("entities/insert", {"collectionName": "kept", "data": [
        {"id": 2, "vector": [1, "x"]}]}), 1100)
    error(seeded.post("entities/query", {"collectionName": "kept",
                                         "filter": "id in [" * 5000}), 1100)
    error(seeded.post("entities/query", {"collectionName": "kept", "filter": "id > {x}",
                                         "exprParams": {"x": {"y": None}}}), 1100)
    error(seeded.post("entities/search", {"collectionName": "kept", "data": [[1, 0]],
                                          "limit": 0}), 1100)


def test_keys_match_case_insensitively(seeded):
    assert ok(seeded.post("collections/has", {"COLLECTIONNAME": "kept"})) == {"has": True}
    assert ok(seeded.post("entities/query", {"collectionname": "kept", "FILTER": "id == 1",
                                             "outputfields": ["id"]})) == [{"id": 1}]


def test_http_conventions(seeded):
    status, payload = seeded.raw("OPTIONS", "entities/insert")
    assert (status, payload) == (204, "")
    response = seeded.http.post("/v2/vectordb/collections/list", content=b"{}")
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert seeded.raw("GET", "collections/list") == (404, "404 page not found")
    assert seeded.raw("POST", "collections/nope", b"{}") == (404, "404 page not found")
    assert seeded.raw("POST", "/v1/vector/collections", b"{}")[0] == 404


def test_request_timeout_header(seeded):
    status, payload = seeded.post("collections/list", {}, headers={"Request-Timeout": "0"})
    assert (status, payload) == (408, {"code": 10001, "message": "request timeout"})
    assert ok(seeded.post("collections/list", {}, headers={"Request-Timeout": "junk"}))


def test_unexpected_exceptions_are_a_short_code_65535(seeded, monkeypatch):
    from redkite.server.rest.framework import Route

    app = seeded.running.rest
    path = "/v2/vectordb/collections/list"

    def explode(call):
        raise RuntimeError("secret internal detail")

    monkeypatch.setitem(app.routes, path, Route(path, explode))
    message = error(seeded.post("collections/list"), 65535)
    assert "secret" not in message and "Traceback" not in message


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    server = open_rest_server(str(tmp_path_factory.mktemp("guarded") / "data"),
                              auth=AuthConfig(enabled=True),
                              rest=RestConfig(max_body_bytes=4096))
    from pymilvus import MilvusClient  # the official client: redkite's has no user API

    server.client = MilvusClient(server.url, token="root:Milvus")
    server.client.create_collection("vault", dimension=2)
    server.client.create_user("alice", "alice-password")
    yield server
    close_rest_server(server)


def test_authentication_schemes(guarded):
    assert guarded.post("collections/list") == (401, {"code": 1800,
                                                      "message": "user hasn't authenticated"})
    for header in ("Bearer root:wrong", "Bearer apikeywithoutcolon", "Basic !!!",
                   "bearer root:Milvus", "Bearer :Milvus"):
        assert guarded.post("collections/list", {}, {"Authorization": header})[0] == 401
    assert ok(guarded.post("collections/list", {}, {"Authorization": "Bearer root:Milvus"}))
    basic = base64.b64encode(b"root:Milvus").decode()
    response = guarded.http.post("/v2/vectordb/collections/list", content=b"{}",
                                 headers={"Authorization": f"Basic {basic}"})
    assert response.json()["code"] == 0
    assert response.headers["www-authenticate"].startswith("Basic realm=")


def test_privileges_are_enforced(guarded):
    alice = {"Authorization": "Bearer alice:alice-password"}
    assert ok(guarded.post("collections/list", {}, alice)) == ["vault"]  # no check
    status, payload = guarded.post("collections/describe", {"collectionName": "vault"}, alice)
    assert status == 403 and payload["code"] == 65535
    assert "permission deny to alice" in payload["message"]
    guarded.client.create_role("reader")
    guarded.client.grant_privilege("reader", "Global", "DescribeCollection", "*")
    guarded.client.grant_role("alice", "reader")
    assert ok(guarded.post("collections/describe", {"collectionName": "vault"}, alice))
    assert guarded.post("collections/drop", {"collectionName": "vault"}, alice)[0] == 403
    assert guarded.client.has_collection("vault")


def test_oversized_bodies_are_refused_unread(guarded):
    root = {"Authorization": "Bearer root:Milvus"}
    rows = [{"id": i, "vector": [0.5, 0.5]} for i in range(400)]
    status, payload = guarded.post("entities/insert", {"collectionName": "vault",
                                                       "data": rows}, root)
    assert status == 413 and payload["code"] == 1102 and "4096" in payload["message"]

    def chunks():  # no Content-Length: the limit applies while reading
        for _ in range(100):
            yield b" " * 1000

    response = guarded.http.post("/v2/vectordb/collections/list", content=chunks(),
                                 headers=root)
    assert response.status_code == 413
    assert guarded.client.get_collection_stats("vault")["row_count"] == 0
