"""databases/*: databases and their properties over REST, checked against gRPC."""

from __future__ import annotations

from .conftest import error, ok


def test_database_lifecycle(rest_server):
    post, client = rest_server.post, rest_server.client
    ok(post("databases/create", {"dbName": "shop", "properties": {
        "database.max.collections": 10, "audited": False}}))
    assert "shop" in client.list_databases()
    assert ok(post("databases/list", {})) == ["default", "shop"]
    info = ok(post("databases/describe", {"dbName": "shop"}))
    assert info["dbName"] == "shop" and isinstance(info["dbID"], int)
    assert {p["key"]: p["value"] for p in info["properties"]} == {
        "database.max.collections": "10", "audited": "false"}
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
    ok(post("databases/create", {"dbName": "props"}))
    ok(post("databases/alter", {"dbName": "props", "properties": {"owner": "ops"}}))
    ok(post("databases/alter_properties", {"dbName": "props",
                                           "properties": {"database.max.collections": 5}}))
    info = ok(post("databases/describe", {"dbName": "props"}))
    assert {p["key"]: p["value"] for p in info["properties"]} == {
        "owner": "ops", "database.max.collections": "5"}
    assert rest_server.running.db.describe_database("props")["owner"] == "ops"
    ok(post("databases/drop_properties", {"dbName": "props", "propertyKeys": ["owner"]}))
    info = ok(post("databases/describe", {"dbName": "props"}))
    assert [p["key"] for p in info["properties"]] == ["database.max.collections"]
    assert "database.replica.number" in error(post("databases/alter", {
        "dbName": "props", "properties": {"database.replica.number": 2}}), 1100)
    assert "propertyKeys" in error(post("databases/drop_properties", {"dbName": "props"}), 1802)
    ok(post("databases/drop", {"dbName": "props"}))
