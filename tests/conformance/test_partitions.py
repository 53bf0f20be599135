"""Partitions: create/list/has/drop, partition-scoped insert/search/query/delete."""

from __future__ import annotations

from . import helpers as H
from .helpers import capture, count, norm_rows, norm_search, plain


def scenario_partitions(client, name):
    client.create_collection(name, dimension=4, metric_type="L2")
    out = {"initial": sorted(client.list_partitions(name))}
    out["create_p1"] = client.create_partition(name, "p1")
    out["create_p2"] = client.create_partition(name, "p2")
    out["listed"] = sorted(client.list_partitions(name))
    out["has_p1"] = client.has_partition(name, "p1")
    out["has_nope"] = client.has_partition(name, "nope")
    out["has_default"] = client.has_partition(name, "_default")

    def rows(start, n):
        return [{"id": i, "vector": [float(i), 1.0, 0.0, 0.0], "part": start} for i in range(start, start + n)]

    client.insert(name, rows(0, 10))
    client.insert(name, rows(100, 5), partition_name="p1")
    client.insert(name, rows(200, 3), partition_name="p2")
    out["count_all"] = count(client, name)
    # (Lite ignores partition_names for count(*) with an empty filter: test_lite_quirks)
    out["count_p1"] = count(client, name, "id >= 0", partition_names=["p1"])
    out["count_p1_p2"] = count(client, name, "id >= 0", partition_names=["p1", "p2"])
    out["stats_p1"] = plain(client.get_partition_stats(name, "p1"))
    out["stats_coll"] = plain(client.get_collection_stats(name))
    out["query_p2"] = norm_rows(client.query(name, filter="id >= 0", partition_names=["p2"],
                                             output_fields=["part"]))
    out["query_default"] = [r["id"] for r in norm_rows(client.query(
        name, filter="id >= 0", partition_names=["_default"], output_fields=["id"]))]
    q = [[150.0, 1.0, 0.0, 0.0]]
    out["search_all"] = norm_search(client.search(name, data=q, limit=3, output_fields=["part"]), metric="L2")
    out["search_p1"] = norm_search(client.search(name, data=q, limit=3, partition_names=["p1"],
                                                 output_fields=["part"]), metric="L2")
    out["search_p2_filter"] = norm_search(client.search(name, data=q, limit=3, partition_names=["p2"],
                                                        filter="id > 200", output_fields=["id"]),
                                          metric="L2")
    out["get_in_part"] = norm_rows(client.get(name, ids=[100, 200, 0], partition_names=["p1"],
                                              output_fields=["id"]))
    # (Lite's delete(filter, partition_name=) deletes in every partition: test_lite_quirks)
    out["delete_ids_in_part"] = H.delete_count(client.delete(name, ids=[200, 201], partition_name="p2"))
    out["count_after_delete"] = count(client, name)
    out["upsert_into_part"] = plain(dict(client.upsert(name, [{"id": 300, "vector": [0.0] * 4, "part": 1}],
                                                      partition_name="p1")))["upsert_count"]
    out["count_p1_after"] = count(client, name, "id >= 0", partition_names=["p1"])
    # Milvus requires releasing a loaded partition before dropping it (redkite too);
    # Lite has no release_partitions (UNIMPLEMENTED) and drops loaded partitions anyway
    capture(client.release_partitions, name, ["p2"])
    out["drop_p2"] = client.drop_partition(name, "p2")
    out["listed_after_drop"] = sorted(client.list_partitions(name))
    out["has_p2_after"] = client.has_partition(name, "p2")
    out["count_final"] = count(client, name)
    return out


def test_partitions(pair):
    lite, _ = pair.run(scenario_partitions)
    assert lite["count_p1"] == 5 and lite["count_all"] == 18


def scenario_partition_errors(client, name):
    client.create_collection(name, dimension=4)
    client.create_partition(name, "p1")
    client.insert(name, [{"id": 1, "vector": [1.0, 0, 0, 0]}])
    out = {
        "insert_missing_part": capture(client.insert, name, [{"id": 2, "vector": [1.0, 0, 0, 0]}],
                                       partition_name="nope"),
        "drop_default": capture(client.drop_partition, name, "_default"),
        "create_on_missing_coll": capture(client.create_partition, name + "_x", "p1"),
    }
    out["count"] = count(client, name)
    out["partitions"] = sorted(client.list_partitions(name))
    return out


def test_partition_errors(pair):
    lite, rk = pair.run(scenario_partition_errors)
    H.check_redkite_error(rk["insert_missing_part"], mentions=["nope"], where="insert_missing_part")
    H.check_redkite_error(rk["drop_default"], mentions=["default"], where="drop_default")
