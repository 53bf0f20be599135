"""databases/*: databases and their properties over REST, checked against gRPC."""

from __future__ import annotations

import pytest

from .conftest import error, ok


def test_database_lifecycle(rest_server):
    post, client = rest_server.post, rest_server.client
    ok(post("databases/create", {"dbName": "shop", "properties": {
        "database.max.collections": 10, "database.force.deny.writing": False}}))
    assert "shop" in client.list_databases()
    assert ok(post("databases/list", {})) == ["default", "shop"]
    info = ok(post("databases/describe", {"dbName": "shop"}))
    assert info["dbName"] == "shop" and isinstance(info["dbID"], int)
    assert {p["key"]: p["value"] for p in info["properties"]} == {
        "database.max.collections": "10", "database.force.deny.writing": "false"}
    assert "already" in error(post("databases/create", {"dbName": "shop"}), 1100)
    ok(post("databases/drop", {"dbName": "shop"}))
    assert ok(post("databases/list", {})) == ["default"]


def test_database_errors(rest_server):
    post = rest_server.post
    assert "dbName" in error(post("databases/create", {}), 1802)
    # the DB-Name header does not stand in for a required dbName
    assert "dbName" in error(post("databases/drop", {}, headers={"DB-Name": "x"}), 1802)
    assert "properties" in error(post("databases/create", {"dbName": "d", "properties": [1]}),
                                 1801)
    error(post("databases/describe", {"dbName": "nowhere"}), 800)
    assert "default" in error(post("databases/drop", {"dbName": "default"}), 1100)


def test_database_properties(rest_server):
    post = rest_server.post
    if not hasattr(rest_server.running.db, "alter_database_properties"):
        pytest.skip("Database.alter_database_properties (helper ddlplus) is not merged yet")
    ok(post("databases/create", {"dbName": "props"}))
    ok(post("databases/alter", {"dbName": "props", "properties": {"database.replica.number": 1}}))
    ok(post("databases/alter_properties", {"dbName": "props",
                                           "properties": {"database.max.collections": 5}}))
    info = ok(post("databases/describe", {"dbName": "props"}))
    assert {p["key"]: p["value"] for p in info["properties"]} == {
        "database.replica.number": "1", "database.max.collections": "5"}
    ok(post("databases/drop_properties", {"dbName": "props",
                                          "propertyKeys": ["database.replica.number"]}))
    info = ok(post("databases/describe", {"dbName": "props"}))
    assert [p["key"] for p in info["properties"]] == ["database.max.collections"]
    ok(post("databases/drop", {"dbName": "props"}))
