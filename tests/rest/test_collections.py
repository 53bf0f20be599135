"""collections/*: DDL and state over REST, checked against the gRPC face of the same server."""

from __future__ import annotations

from .conftest import error, ok


def test_list_collections_shows_those_created_over_grpc(rest_server):
    assert ok(rest_server.post("collections/list")) == []
    rest_server.client.create_collection("listed", dimension=4)
    assert ok(rest_server.post("collections/list")) == ["listed"]
    assert ok(rest_server.post("collections/list", {"dbName": "default"})) == ["listed"]
    rest_server.client.drop_collection("listed")


def test_list_in_an_unknown_database_is_code_800(rest_server):
    message = error(rest_server.post("collections/list", headers={"DB-Name": "nowhere"}), 800)
    assert "nowhere" in message
