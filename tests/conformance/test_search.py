"""search: shapes, metrics, limit/offset/filter/output_fields — Lite vs redkite vs numpy."""

from __future__ import annotations

import numpy as np
import pytest

from . import helpers as H
from .helpers import capture, norm_search, plain

QUERIES = H.vectors(4, 8, seed=99)
BASE = H.vectors(300, 8, seed=7)  # the vectors of the shared "full" collection (L2, FLAT)


def ids_dists(hits):
    return [[(h["id"], h["distance"]) for h in q] for q in hits]


def check_truth(got, truth, where):
    """got: normalised hits; truth: brute_force output (ids + distances)."""
    assert len(got) == len(truth), f"{where}: nq {len(got)} vs {len(truth)}"
    for qi, (g, t) in enumerate(zip(got, truth)):
        assert [h["id"] for h in g] == [i for i, _ in t], (
            f"{where}[q{qi}]: ids {[h['id'] for h in g]} vs numpy {[i for i, _ in t]}")
        for h, (_, d) in zip(g, t):
            assert abs(h["distance"] - d) <= 1e-4 + 1e-5 * abs(d), (
                f"{where}[q{qi}] id {h['id']}: distance {h['distance']} vs numpy {d}")


def scenario_search_basic(client, name, shared):
    s = client.search
    return {
        "one_list": norm_search(s(shared, data=[QUERIES[0].tolist()], limit=5, output_fields=["id"]),
                                metric="L2"),
        "many_list": norm_search(s(shared, data=QUERIES.tolist(), limit=3, output_fields=["s", "dyn"]),
                                 metric="L2"),
        "many_numpy": norm_search(s(shared, data=QUERIES, limit=3, output_fields=["s"]), metric="L2"),
        "numpy_row": norm_search(s(shared, data=QUERIES[:1], limit=2, output_fields=["id"]), metric="L2"),
        "offset": norm_search(s(shared, data=QUERIES[:2], limit=3, offset=2, output_fields=["id"]),
                              metric="L2"),
        "filter": norm_search(s(shared, data=QUERIES[:2], limit=4, filter="id < 50 and b == true",
                                output_fields=["i8", "j", "color"]), metric="L2"),
        "star": norm_search(s(shared, data=QUERIES[:1], limit=2, output_fields=["*"]), metric="L2"),
        "search_params": norm_search(s(shared, data=QUERIES[:1], limit=3, output_fields=["id"],
                                       search_params={"metric_type": "L2", "params": {}}),
                                     metric="L2"),
        "limit_gt_matches": norm_search(s(shared, data=QUERIES[:1], limit=10, filter="id < 4",
                                          output_fields=["id"]), metric="L2"),
        "no_match": norm_search(s(shared, data=QUERIES[:2], limit=3, filter="id < 0",
                                  output_fields=["id"])),
        "dynamic_filter": norm_search(s(shared, data=QUERIES[:1], limit=3, filter="dyn > 100",
                                        output_fields=["dyn"]), metric="L2"),
    }


def test_search_basic(pair):
    lite, rk = pair.run(scenario_search_basic, shared=True)
    H.assert_builtin_types(rk["many_list"], "search")
    # Milvus returns *squared* L2 distances; check both against numpy
    truth = H.brute_force(BASE, QUERIES, "L2", 3)
    for side, res in (("lite", lite), ("redkite", rk)):
        check_truth(res["many_list"], truth, f"{side}.many_list")
        check_truth(res["many_numpy"], truth, f"{side}.many_numpy")
        offs = H.brute_force(BASE, QUERIES[:2], "L2", 5)
        check_truth(res["offset"], [t[2:5] for t in offs], f"{side}.offset")
        mask = np.array([i < 50 and i % 2 == 0 for i in range(300)])
        check_truth(res["filter"], H.brute_force(BASE, QUERIES[:2], "L2", 4, mask), f"{side}.filter")
    assert rk["no_match"] == [[], []]


def scenario_metric(client, name, metric):
    client.create_collection(name, dimension=8, metric_type=metric)
    vecs = H.vectors(120, 8, seed=21) - 0.5  # signed values so IP differs from COSINE
    client.insert(name, [{"id": i, "vector": vecs[i].tolist(), "g": i % 3} for i in range(120)])
    q = H.vectors(3, 8, seed=22) - 0.5
    return {
        "plain": norm_search(client.search(name, data=q, limit=5, output_fields=["g"]), metric=metric),
        "filtered": norm_search(client.search(name, data=q, limit=5, filter="g == 1",
                                              output_fields=["g"]), metric=metric),
        "with_param": norm_search(client.search(name, data=q[:1], limit=4, output_fields=["g"],
                                                search_params={"metric_type": metric}), metric=metric),
    }


@pytest.mark.parametrize("metric", ["L2", "IP", "COSINE"])
def test_search_metric(pair, metric):
    lite, rk = pair.run(scenario_metric, metric)
    base = H.vectors(120, 8, seed=21) - 0.5
    q = H.vectors(3, 8, seed=22) - 0.5
    mask = np.arange(120) % 3 == 1
    for side, res in (("lite", lite), ("redkite", rk)):
        check_truth(res["plain"], H.brute_force(base, q, metric, 5), f"{side}.{metric}.plain")
        check_truth(res["filtered"], H.brute_force(base, q, metric, 5, mask), f"{side}.{metric}.filtered")


def scenario_search_varchar_pk(client, name):
    client.create_collection(name, dimension=4, id_type="string", max_length=32,
                             primary_field_name="pk", metric_type="IP")
    client.insert(name, [{"pk": f"doc-{i}", "vector": [float(i), 1.0, 0.0, 0.5], "n": i} for i in range(10)])
    res = client.search(name, data=[[1.0, 0.0, 0.0, 0.0]], limit=3, output_fields=["n"])
    hits = [[{"pk": plain(h["pk"]), "distance": h["distance"], "entity": plain(dict(h["entity"]))}
             for h in q] for q in res]
    return {"hits": hits, "keys": sorted(res[0][0].keys()) if res and res[0] else []}


def test_search_varchar_pk(pair):
    pair.run(scenario_search_varchar_pk)


def scenario_search_empty_collection(client, name):
    client.create_collection(name, dimension=4)
    return {"empty": norm_search(client.search(name, data=[[1.0, 0, 0, 0]], limit=3,
                                               output_fields=["id"])),
            "empty_2q": norm_search(client.search(name, data=[[1.0, 0, 0, 0], [0, 1.0, 0, 0]],
                                                  limit=3, output_fields=["id"]))}


def test_search_empty_collection(pair):
    pair.run(scenario_search_empty_collection)


def scenario_search_after_delete_upsert(client, name):
    client.create_collection(name, dimension=4, metric_type="L2")
    client.insert(name, [{"id": i, "vector": [float(i), 0, 0, 0]} for i in range(10)])
    client.delete(name, ids=[0, 1])
    client.upsert(name, [{"id": 5, "vector": [0.1, 0, 0, 0]}])
    return norm_search(client.search(name, data=[[0.0, 0, 0, 0]], limit=3, output_fields=["id"]),
                       metric="L2")


def test_search_sees_deletes_and_upserts(pair):
    lite, _ = pair.run(scenario_search_after_delete_upsert)
    assert [h["id"] for h in lite[0]] == [5, 2, 3]


def scenario_search_errors(client, name, shared):
    s = client.search
    return {
        "limit0": capture(s, shared, data=QUERIES[:1], limit=0),
        "flat_vector": capture(s, shared, data=QUERIES[0].tolist(), limit=3),
        "missing_coll": capture(s, shared + "_nope", data=QUERIES[:1], limit=3),
        "bad_filter": capture(s, shared, data=QUERIES[:1], limit=3, filter="id >>> 3"),
    }


def test_search_errors(pair):
    lite, rk = pair.run(scenario_search_errors, shared=True)
    H.check_redkite_error(rk["limit0"], mentions=["limit"], where="limit0")
    H.check_redkite_error(rk["missing_coll"], mentions=["_nope"], where="missing_coll")
