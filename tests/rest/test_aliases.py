"""aliases/*: alias DDL over REST, checked against gRPC."""

from __future__ import annotations

from .conftest import error, ok


def test_alias_lifecycle(rest_server):
    post, client = rest_server.post, rest_server.client
    for name in ("books", "films"):
        client.create_collection(name, dimension=2)
    ok(post("aliases/create", {"collectionName": "books", "aliasName": "reading"}))
    db = rest_server.running.db  # the engine behind both faces
    assert db.describe_alias(None, "reading")["collection_name"] == "books"
    assert ok(post("aliases/list", {})) == ["reading"]
    assert ok(post("aliases/list", {"collectionName": "films"})) == []
    assert ok(post("aliases/describe", {"aliasName": "reading"})) == {
        "dbName": "default", "collectionName": "books", "aliasName": "reading"}
    ok(post("aliases/alter", {"collectionName": "films", "aliasName": "reading"}))
    assert ok(post("aliases/list", {"collectionName": "films"})) == ["reading"]
    ok(post("aliases/drop", {"aliasName": "reading"}))
    assert db.list_aliases(None)["aliases"] == []
    for name in ("books", "films"):
        client.drop_collection(name)


def test_alias_errors(rest_server):
    post = rest_server.post
    assert "aliasName" in error(post("aliases/describe", {}), 1802)
    assert "aliasName" in error(post("aliases/drop", {"aliasName": 3}), 1801)
    assert "collectionName" in error(post("aliases/create", {"aliasName": "a"}), 1802)
    assert "nothing" in error(post("aliases/describe", {"aliasName": "nothing"}), 1600)
    error(post("aliases/create", {"collectionName": "ghost", "aliasName": "a"}), 100)
