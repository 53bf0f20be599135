"""Beyond the basics: several vector fields (anns_field), group_by_field, range search,
hybrid_search (RRF / weighted), round_decimal, query_iterator."""

from __future__ import annotations

import sys

import numpy as np

from . import helpers as H
from .helpers import capture, norm_search, plain

N = 60

def _lib(client):
    return sys.modules[type(client).__module__.split(".")[0]]


def make_multi(client, name):
    DT = H.datatype_of(client)
    s = client.create_schema(auto_id=False, enable_dynamic_field=True)
    s.add_field("id", DT.INT64, is_primary=True)
    s.add_field("a", DT.FLOAT_VECTOR, dim=4)
    s.add_field("b", DT.FLOAT_VECTOR, dim=2)
    s.add_field("g", DT.INT64)
    ip = client.prepare_index_params()
    ip.add_index("a", index_type="FLAT", metric_type="L2")
    ip.add_index("b", index_type="FLAT", metric_type="IP")
    client.create_collection(name, schema=s, index_params=ip)
    rng = np.random.default_rng(3)
    a = rng.random((N, 4), dtype=np.float32)
    b = rng.random((N, 2), dtype=np.float32)
    client.insert(name, [{"id": i, "a": a[i].tolist(), "b": b[i].tolist(), "g": i % 4, "tag": f"t{i % 5}"}
                         for i in range(N)])


QA = [[0.5, 0.4, 0.3, 0.2]]
QB = [[0.6, 0.3]]


def scenario_anns_field(client, name):
    make_multi(client, name)
    return {
        "a": norm_search(client.search(name, data=QA, anns_field="a", limit=4, output_fields=["g"]),
                         metric="L2"),
        "b": norm_search(client.search(name, data=QB, anns_field="b", limit=4, output_fields=["g"]),
                         metric="IP"),
        "b_filter": norm_search(client.search(name, data=QB, anns_field="b", limit=4, filter="g == 2",
                                              output_fields=["g", "tag"]), metric="IP"),
        "wrong_dim_for_field": capture(client.search, name, data=QA, anns_field="b", limit=2),
        "unknown_field": capture(client.search, name, data=QA, anns_field="zz", limit=2),
    }


def test_anns_field(pair):
    pair.run(scenario_anns_field)


def scenario_group_by(client, name):
    make_multi(client, name)
    res = client.search(name, data=QA, anns_field="a", limit=3, group_by_field="g", output_fields=["g"])
    hits = norm_search(res, metric="L2")
    return {"hits": hits, "distinct_groups": len({h["entity"]["g"] for h in hits[0]})}


def test_group_by_field(pair):
    lite, _ = pair.run(scenario_group_by)
    assert lite["distinct_groups"] == 3


def scenario_range_search(client, name):
    make_multi(client, name)
    l2 = client.search(name, data=QA, anns_field="a", limit=50, output_fields=["id"],
                       search_params={"metric_type": "L2", "params": {"radius": 0.3, "range_filter": 0.1}})
    ip = client.search(name, data=QB, anns_field="b", limit=50, output_fields=["id"],
                       search_params={"metric_type": "IP", "params": {"radius": 0.5, "range_filter": 0.6}})
    return {"l2": norm_search(l2, metric="L2"), "ip": norm_search(ip, metric="IP")}


def test_range_search(pair):
    lite, _ = pair.run(scenario_range_search)
    assert all(0.1 <= h["distance"] < 0.3 for h in lite["l2"][0])
    assert all(0.5 < h["distance"] <= 0.6 for h in lite["ip"][0])


def scenario_hybrid(client, name):
    make_multi(client, name)
    lib = _lib(client)
    r1 = lib.AnnSearchRequest(QA, "a", {"metric_type": "L2"}, limit=6)
    r2 = lib.AnnSearchRequest(QB, "b", {"metric_type": "IP"}, limit=6)
    r2f = lib.AnnSearchRequest(QB, "b", {"metric_type": "IP"}, limit=6, expr="g != 1")
    return {
        "rrf": norm_search(client.hybrid_search(name, [r1, r2], lib.RRFRanker(60), limit=4,
                                                output_fields=["g"])),
        "weighted": norm_search(client.hybrid_search(name, [r1, r2], lib.WeightedRanker(0.7, 0.3),
                                                     limit=4, output_fields=["g"])),
        "filtered_leg": norm_search(client.hybrid_search(name, [r1, r2f], lib.RRFRanker(), limit=4,
                                                         output_fields=["g"])),
    }


def test_hybrid_search(pair):
    pair.run(scenario_hybrid)


def scenario_round_decimal(client, name):
    make_multi(client, name)
    res = client.search(name, data=QA, anns_field="a", limit=3, round_decimal=2, output_fields=["g"])
    return {"hits": norm_search(res), "decimals_ok": all(round(h["distance"], 2) == h["distance"]
                                                          for h in res[0])}


def test_round_decimal(pair):
    pair.run(scenario_round_decimal)


def scenario_query_iterator(client, name):
    make_multi(client, name)
    it = client.query_iterator(name, batch_size=7, filter="g != 3", output_fields=["g"])
    pages = []
    while True:
        page = it.next()
        if not page:
            break
        pages.append([plain(dict(r)) for r in page])
        if len(pages) > 50:
            break
    it.close()
    flat = sorted(r["id"] for p in pages for r in p)
    return {"page_sizes": [len(p) for p in pages], "ids": flat,
            "unique": len(flat) == len(set(flat))}


def test_query_iterator(pair):
    lite, _ = pair.run(scenario_query_iterator)
    assert lite["ids"] == [i for i in range(N) if i % 4 != 3]
