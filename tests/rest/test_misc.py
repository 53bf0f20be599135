"""common/run_analyzer, segments/describe, quotacenter/describe (spec §4.10)."""

from __future__ import annotations

import json

from .conftest import error, ok


def test_run_analyzer_equals_the_client(rest_server):
    post, client = rest_server.post, rest_server.client
    texts = ["The Running foxes", "jumps over"]
    params = {"type": "english"}
    got = ok(post("common/run_analyzer", {"text": texts, "analyzerParams": json.dumps(params),
                                          "withDetail": True}))
    expected = client.run_analyzer(texts, analyzer_params=params, with_detail=True)
    assert [[t["token"] for t in r["tokens"]] for r in got["results"]] == [
        [t["token"] for t in result.tokens] for result in expected]
    first = got["results"][0]["tokens"][0]
    assert {"token", "startOffset", "endOffset", "position", "positionLength"} <= set(first)
    plain = ok(post("common/run_analyzer", {"text": ["a b"]}))
    assert plain == {"results": [{"tokens": [{"token": "a"}, {"token": "b"}]}]}


def test_run_analyzer_bad_input(rest_server):
    post = rest_server.post
    assert "text" in error(post("common/run_analyzer", {}), 1802)
    assert "analyzerParams" in error(post("common/run_analyzer", {
        "text": ["x"], "analyzerParams": "{not json"}), 1801)
    assert "analyzerParams" in error(post("common/run_analyzer", {
        "text": ["x"], "analyzerParams": {"type": "english"}}), 1801)


def test_segments_describe_lists_growing_and_sealed_rows(rest_server):
    post, client = rest_server.post, rest_server.client
    client.create_collection("segs", dimension=2)
    client.insert("segs", [{"id": i, "vector": [i, 1.0]} for i in range(10)])
    client.flush("segs")
    client.insert("segs", [{"id": 100 + i, "vector": [i, 2.0]} for i in range(3)])
    client.delete("segs", ids=[0, 1])
    collection_id = client.describe_collection("segs")["collection_id"]
    infos = ok(post("segments/describe", {"collectionID": collection_id}))["segmentInfos"]
    assert sorted((i["state"], i["numRows"]) for i in infos) == [(2, 3), (4, 8)]
    assert all(i["collectionID"] == collection_id for i in infos)
    one = ok(post("segments/describe", {"collectionID": collection_id,
                                        "segmentIDs": [infos[0]["segmentID"]]}))
    assert one["segmentInfos"] == infos[:1]
    assert "segment not found" in error(post("segments/describe", {
        "collectionID": collection_id, "segmentIDs": [987654321]}), 600)
    assert "987654321" in error(post("segments/describe", {
        "collectionID": 987654321}), 100)
    assert "collectionID" in error(post("segments/describe", {}), 1802)
    client.drop_collection("segs")


def test_quota_center_says_there_are_no_quotas(rest_server):
    quota = json.loads(ok(rest_server.post("quotacenter/describe", {})))
    assert quota["quotaAndLimitsEnabled"] is False
