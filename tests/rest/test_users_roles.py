"""users/*, roles/*, privilege_groups/*: the user store over REST, with and without
--auth (401 without credentials, Milvus's permission denial for a restricted user)."""

from __future__ import annotations

import base64

import pytest

from .conftest import close_rest_server, error, ok, open_rest_server

ROOT = {"Authorization": "Bearer root:Milvus"}


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    from redkite.server import AuthConfig

    server = open_rest_server(str(tmp_path_factory.mktemp("auth") / "data"),
                              auth=AuthConfig(enabled=True))
    yield server
    close_rest_server(server)


def test_users_and_roles(rest_server):
    post = rest_server.post
    ok(post("users/create", {"userName": "bob", "password": "bob-pass"}))
    assert "bob" in ok(post("users/list", {}))
    assert "already exists" in error(post("users/create", {"userName": "bob",
                                                          "password": "bob-pass"}), 65535)
    ok(post("roles/create", {"roleName": "auditor"}))
    assert {"admin", "public", "auditor"} <= set(ok(post("roles/list", {})))
    ok(post("users/grant_role", {"userName": "bob", "roleName": "auditor"}))
    assert ok(post("users/describe", {"userName": "bob"})) == ["auditor"]
    ok(post("roles/grant_privilege", {"roleName": "auditor", "objectType": "Collection",
                                      "objectName": "*", "privilege": "Query"}))
    ok(post("roles/grant_privilege_v2", {"roleName": "auditor", "privilege": "CollectionReadOnly",
                                         "dbName": "default", "collectionName": "docs"}))
    grants = ok(post("roles/describe", {"roleName": "auditor"}))
    assert {(g["objectType"], g["objectName"], g["privilege"], g["dbName"]) for g in grants} == {
        ("Collection", "*", "Query", "default"),
        ("Collection", "docs", "CollectionReadOnly", "default")}
    assert "collectionName" in error(post("roles/grant_privilege_v2", {
        "roleName": "auditor", "privilege": "Query", "dbName": "default"}), 1100)
    ok(post("roles/revoke_privilege", {"roleName": "auditor", "objectType": "Collection",
                                       "objectName": "*", "privilege": "Query"}))
    ok(post("roles/revoke_privilege_v2", {"roleName": "auditor", "privilege": "CollectionReadOnly",
                                          "dbName": "default", "collectionName": "docs"}))
    assert ok(post("roles/describe", {"roleName": "auditor"})) == []
    ok(post("users/update_password", {"userName": "bob", "password": "bob-pass",
                                      "newPassword": "bob-pass-2"}))
    assert rest_server.running.rest.store.verify("bob", "bob-pass-2")
    assert "not correct" in error(post("users/update_password", {
        "userName": "bob", "password": "bob-pass", "newPassword": "whatever1"}), 1100)
    ok(post("users/revoke_role", {"userName": "bob", "roleName": "auditor"}))
    assert ok(post("users/describe", {"userName": "bob"})) == []
    ok(post("roles/drop", {"roleName": "auditor"}))
    ok(post("users/drop", {"userName": "bob"}))
    assert "bob" not in ok(post("users/list", {}))


def test_privilege_groups(rest_server):
    post = rest_server.post
    groups = ok(post("privilege_groups/list", {}))["privilegeGroups"]
    builtin = {g["privilegeGroupName"]: g["privileges"] for g in groups}
    assert builtin["DatabaseReadOnly"] == "ShowCollections,DescribeDatabase"
    ok(post("privilege_groups/create", {"privilegeGroupName": "ops"}))
    ok(post("privilege_groups/add_privileges_to_group", {"privilegeGroupName": "ops",
                                                        "privileges": ["Load", "Release"]}))
    ok(post("privilege_groups/remove_privileges_from_group", {"privilegeGroupName": "ops",
                                                             "privileges": ["Load"]}))
    groups = ok(post("privilege_groups/list", {}))["privilegeGroups"]
    assert {"privilegeGroupName": "ops", "privileges": "Release"} in groups
    ok(post("privilege_groups/drop", {"privilegeGroupName": "ops"}))
    assert "privilegeGroupName" in error(post("privilege_groups/create", {}), 1802)
    assert "privileges" in error(post("privilege_groups/add_privileges_to_group", {
        "privilegeGroupName": "x", "privileges": "Load"}), 1801)
    assert "does not exist" in error(post("privilege_groups/drop",
                                          {"privilegeGroupName": "ghost"}), 1100)


def test_user_errors(rest_server):
    post = rest_server.post
    assert "userName" in error(post("users/create", {"password": "x"}), 1802)
    assert "password" in error(post("users/create", {"userName": "u"}), 1802)
    assert "userName" in error(post("users/describe", {"userName": 5}), 1801)
    assert "roleName" in error(post("roles/grant_privilege", {"objectType": "Global"}), 1802)


def test_auth_is_enforced(secured):
    post = secured.post
    assert error(post("users/list", {}), 1800, status=401) == "user hasn't authenticated"
    assert error(post("users/list", {}, headers={"Authorization": "Bearer root:wrong"}), 1800,
                 status=401)
    basic = "Basic " + base64.b64encode(b"root:Milvus").decode()
    assert "root" in ok(post("users/list", {}, headers={"Authorization": basic}))

    for path, body in (("users/create", {"userName": "carl", "password": "carl-pass"}),
                       ("roles/create", {"roleName": "limited"}),
                       ("users/grant_role", {"userName": "carl", "roleName": "limited"})):
        ok(post(path, body, headers=ROOT))
    carl = {"Authorization": "Bearer carl:carl-pass"}
    message = error(post("roles/create", {"roleName": "mine"}, headers=carl), 65535, status=403)
    assert message == ("rpc error: code = PermissionDenied desc = CreateOwnership: permission "
                       "deny to carl in the `default` database")
    assert "ListPrivilegeGroups" in error(post("privilege_groups/list", {}, headers=carl),
                                          65535, status=403)
    assert "CreateDatabase" in error(post("databases/create", {"dbName": "x"}, headers=carl),
                                     65535, status=403)
    ok(post("databases/list", {}, headers=carl))  # needs no privilege, as in Milvus
    ok(post("roles/grant_privilege_v2", {"roleName": "limited", "privilege": "ClusterReadOnly",
                                         "dbName": "*", "collectionName": "*"}, headers=ROOT))
    assert ok(post("privilege_groups/list", {}, headers=carl))["privilegeGroups"]
    assert "carl" in ok(post("users/list", {}, headers=carl))
    assert "CreateOwnership" in error(post("roles/create", {"roleName": "mine"}, headers=carl),
                                      65535, status=403)


def test_import_jobs_are_filtered_by_privilege(secured):
    post = secured.post
    ok(post("collections/create", {"collectionName": "guarded", "dimension": 2}, headers=ROOT))
    (secured.running.db.path / "empty.json").write_text("[]")
    job = ok(post("jobs/import/create", {"collectionName": "guarded", "files": [["empty.json"]]},
                  headers=ROOT))["jobId"]
    for path, body in (("users/create", {"userName": "dana", "password": "dana-pass"}),
                       ("roles/create", {"roleName": "importer"}),
                       ("users/grant_role", {"userName": "dana", "roleName": "importer"})):
        ok(post(path, body, headers=ROOT))
    dana = {"Authorization": "Bearer dana:dana-pass"}
    assert "Import" in error(post("jobs/import/create", {
        "collectionName": "guarded", "files": [["empty.json"]]}, headers=dana), 65535, 403)
    assert ok(post("jobs/import/list", {}, headers=dana)) == {"records": []}
    assert "GetImportProgress" in error(post("jobs/import/describe", {"jobId": job},
                                             headers=dana), 65535)
    for privilege in ("ListImport", "GetImportProgress"):
        ok(post("roles/grant_privilege", {"roleName": "importer", "objectType": "Collection",
                                          "objectName": "guarded", "privilege": privilege},
                headers=ROOT))
    assert [r["jobId"] for r in ok(post("jobs/import/list", {}, headers=dana))["records"]] == [job]
    assert ok(post("jobs/import/describe", {"jobId": job}, headers=dana))["jobId"] == job
