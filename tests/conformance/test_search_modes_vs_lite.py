"""Search modes against milvus-lite: grouping, range search, hybrid_search, iterators.

The first half compares Lite and redkite where Lite computes the Milvus answer. The second
half covers where Lite does not: it post-filters a small candidate window (so range and
grouping searches miss rows), counts a grouping offset in hits rather than groups, and
accepts bounds and ranker parameters Milvus rejects. There the Lite behaviour is asserted
as observed and redkite is checked against a numpy reference.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from . import helpers as H
from .helpers import capture

N = 120
QA = [[0.5, 0.4, 0.3, 0.2]]
QB = [[0.6, 0.3]]


def _lib(client):
    return sys.modules[type(client).__module__.split(".")[0]]


def _rk(pair):
    if pair.selftest:
        pytest.skip("selftest: the redkite side is Lite")
    return pair.rk


def make(client, name, a=None, g=None):
    DT = H.datatype_of(client)
    schema = client.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("id", DT.INT64, is_primary=True)
    schema.add_field("a", DT.FLOAT_VECTOR, dim=4)
    schema.add_field("b", DT.FLOAT_VECTOR, dim=2)
    schema.add_field("g", DT.INT64)
    schema.add_field("s", DT.VARCHAR, max_length=8)
    index = client.prepare_index_params()
    index.add_index("a", index_type="FLAT", metric_type="L2")
    index.add_index("b", index_type="FLAT", metric_type="IP")
    client.create_collection(name, schema=schema, index_params=index)
    rng = np.random.default_rng(3)
    a = rng.random((N, 4), dtype=np.float32) if a is None else a
    b = rng.random((N, 2), dtype=np.float32)
    g = np.arange(N) % 7 if g is None else g
    client.insert(name, [{"id": i, "a": a[i].tolist(), "b": b[i].tolist(), "g": int(g[i]),
                          "s": f"s{i % 3}"} for i in range(N)])
    return a, b


def ids(result):
    return [[hit["id"] for hit in hits] for hits in result]


# ---- where Lite is right --------------------------------------------------------------------
def scenario_grouping(client, name):
    make(client, name)
    search = client.search
    return {
        "g3": H.norm_search(search(name, QA, anns_field="a", limit=3, group_by_field="g",
                                   group_size=3, output_fields=["g"])),
        "varchar": H.norm_search(search(name, QA, anns_field="a", limit=2, group_by_field="s",
                                        group_size=2, output_fields=["s"])),
        "strict_filtered": ids(search(name, QA, anns_field="a", limit=5, group_by_field="g",
                                      group_size=3, strict_group_size=True, filter="id < 30")),
        "two_queries": ids(search(name, QA + [[0.1, 0.9, 0.1, 0.9]], anns_field="a", limit=2,
                                  group_by_field="g", group_size=2)),
        "float_field": capture(search, name, QA, anns_field="a", group_by_field="a"),
    }


def test_grouping(pair):
    pair.run(scenario_grouping)


def scenario_range(client, name):
    make(client, name)
    band = {"params": {"radius": 0.4, "range_filter": 0.7}}
    return {
        "ip_filtered": H.norm_search(client.search(name, QB, anns_field="b", limit=10,
                                                   filter="g > 2", search_params=band,
                                                   output_fields=["g"])),
        "ip_offset": ids(client.search(name, QB, anns_field="b", limit=5, offset=3,
                                       search_params=band)),
        "l2_radius_only": H.norm_search(client.search(
            name, QA, anns_field="a", limit=8, output_fields=["s"],
            search_params={"params": {"radius": 0.2}})),
    }


def test_range(pair):
    pair.run(scenario_range)


def scenario_hybrid(client, name):
    make(client, name)
    lib = _lib(client)
    reqs = [lib.AnnSearchRequest(QA, "a", {"metric_type": "L2"}, limit=10),
            lib.AnnSearchRequest(QB, "b", {}, limit=8, expr="g != 2")]

    def run(ranker, **kwargs):
        return H.norm_search(client.hybrid_search(name, reqs, ranker, output_fields=["g"],
                                                  **kwargs))
    rerank = lib.FunctionType.RERANK
    return {
        "rrf": run(lib.RRFRanker(20), limit=6),
        "rrf_offset": run(lib.RRFRanker(), limit=4, offset=2),
        "weighted": run(lib.WeightedRanker(0.3, 0.9), limit=6),
        "weighted_raw": run(lib.WeightedRanker(0.3, 0.9, norm_score=False), limit=6),
        "function_rrf": run(lib.Function("r", rerank, input_field_names=[],
                                         params={"reranker": "rrf", "k": 30}), limit=5),
        "function_weighted": run(lib.Function("w", rerank, input_field_names=[], params={
            "reranker": "weighted", "weights": [0.2, 0.8]}), limit=5),
        "rounded": run(lib.RRFRanker(), limit=3, round_decimal=3),
    }


def test_hybrid(pair):
    pair.run(scenario_hybrid)


def _pages(iterator, most=100):
    pages = []
    while len(pages) < most:
        page = iterator.next()
        if not page:
            break
        pages.append([hit["id"] for hit in page])
    iterator.close()
    return pages


def scenario_iterators(client, name):
    make(client, name)
    return {
        "query": _pages(client.query_iterator(name, batch_size=17, filter="g in [1, 2]",
                                              output_fields=["g"], limit=30, offset=3)),
        "query_all": _pages(client.query_iterator(name, batch_size=50, output_fields=["s"])),
        "search_l2": _pages(client.search_iterator(name, QA, anns_field="a", batch_size=13,
                                                   filter="g != 3",
                                                   search_params={"metric_type": "L2"})),
        "search_ip": _pages(client.search_iterator(name, QB, anns_field="b", batch_size=20,
                                                   search_params={"metric_type": "IP"})),
        "search_limit": _pages(client.search_iterator(name, QA, anns_field="a", batch_size=8,
                                                      limit=20,
                                                      search_params={"metric_type": "L2"})),
    }


def test_iterators(pair):
    pair.run(scenario_iterators)


# ---- where Lite is not ----------------------------------------------------------------------
def _reference(a, query, mask=None):
    d = ((a.astype(np.float64) - np.asarray(query[0], np.float64)) ** 2).sum(axis=1)
    order = np.argsort(d, kind="stable")
    return order if mask is None else order[mask[order]], d


def test_range_search_beyond_lite_window(pair):
    """Lite scores only its top (limit + offset) * 5 rows and then applies the band, so a
    band beyond them comes back empty; Milvus (and redkite) search the whole band."""
    name = pair.uniq("m_range_window")
    band = {"params": {"radius": 0.6, "range_filter": 0.3}}
    make(pair.lite, name)
    assert ids(pair.lite.search(name, QA, anns_field="a", limit=5, search_params=band)) == [[]]
    rk = _rk(pair)
    a, _ = make(rk, name)
    order, d = _reference(a, QA)
    want = [int(i) for i in order if 0.3 <= d[i] < 0.6][:5]
    assert len(want) == 5
    assert ids(rk.search(name, QA, anns_field="a", limit=5, search_params=band)) == [want]


def test_grouping_beyond_lite_window(pair):
    """Forty rows of one group crowd the query: Lite's window (10x limit) holds only that
    group; Milvus returns `limit` groups."""
    name = pair.uniq("m_group_window")
    rng = np.random.default_rng(8)
    a = rng.random((N, 4), dtype=np.float32) + 2
    a[:40] = np.asarray(QA, np.float32) + rng.random((40, 4), dtype=np.float32) / 100
    g = np.where(np.arange(N) < 40, 0, 1 + np.arange(N) % 5)
    make(pair.lite, name, a=a, g=g)
    lite = pair.lite.search(name, QA, anns_field="a", limit=3, group_by_field="g",
                            output_fields=["g"])
    assert {hit["entity"]["g"] for hit in lite[0]} == {0}
    rk = _rk(pair)
    make(rk, name, a=a, g=g)
    order, _ = _reference(a, QA)
    firsts = {}
    for i in order:
        firsts.setdefault(int(g[i]), int(i))
    want = list(firsts.values())[:3]
    got = rk.search(name, QA, anns_field="a", limit=3, group_by_field="g", output_fields=["g"])
    assert ids(got) == [want]
    assert [hit["entity"]["g"] for hit in got[0]] == [int(g[i]) for i in want]


def test_grouping_offset_counts_groups(pair):
    """Milvus skips `offset` groups; Lite slices `offset` hits off the flattened groups."""
    name = pair.uniq("m_group_offset")
    make(pair.lite, name)
    lite = ids(pair.lite.search(name, QA, anns_field="a", limit=2, offset=1,
                                group_by_field="s", group_size=2))
    rk = _rk(pair)
    a, _ = make(rk, name)
    order, _ = _reference(a, QA)
    groups: dict = {}
    for i in order:
        groups.setdefault(int(i) % 3, [])
        if len(groups[int(i) % 3]) < 2:
            groups[int(i) % 3].append(int(i))
    flat = [i for members in groups.values() for i in members]
    assert lite == [flat[1:3]]
    got = rk.search(name, QA, anns_field="a", limit=2, offset=1, group_by_field="s",
                    group_size=2)
    assert ids(got) == [[i for members in list(groups.values())[1:3] for i in members]]


def test_strict_group_size_drops_without_backfill(pair):
    """Milvus's reduce keeps the first `limit` groups and then drops the incomplete ones;
    Lite drops them first and backfills with later groups."""
    name = pair.uniq("m_strict")
    rng = np.random.default_rng(2)
    a = rng.random((N, 4), dtype=np.float32) + 1
    a[0] = QA[0]                        # the best row is alone in group 99
    g = np.where(np.arange(N) == 0, 99, np.arange(N) % 4)
    make(pair.lite, name, a=a, g=g)
    lite = pair.lite.search(name, QA, anns_field="a", limit=2, group_by_field="g",
                            group_size=2, strict_group_size=True, output_fields=["g"])
    assert len({hit["entity"]["g"] for hit in lite[0]}) == 2 and 0 not in ids(lite)[0]
    rk = _rk(pair)
    make(rk, name, a=a, g=g)
    order, _ = _reference(a, QA)
    second = int(g[order[1]])
    want = [int(i) for i in order if g[i] == second][:2]
    got = rk.search(name, QA, anns_field="a", limit=2, group_by_field="g", group_size=2,
                    strict_group_size=True)
    assert ids(got) == [want]


def test_parameters_lite_accepts(pair):
    """Bounds in the wrong order, RRF k outside (0, 16384) and weights outside [0, 1]:
    Lite answers (an empty result, or a ranking); Milvus rejects the request."""
    name = pair.uniq("m_params")

    def calls(client):
        lib = _lib(client)
        reqs = [lib.AnnSearchRequest(QA, "a", {}, limit=5),
                lib.AnnSearchRequest(QB, "b", {}, limit=5)]
        return [
            lambda: client.search(name, QA, anns_field="a", search_params={
                "params": {"radius": 0.1, "range_filter": 0.3}}),
            lambda: client.hybrid_search(name, reqs, lib.RRFRanker(0), limit=2),
            lambda: client.hybrid_search(name, reqs, lib.RRFRanker(20000), limit=2),
            lambda: client.hybrid_search(name, reqs, lib.WeightedRanker(1.5, 0.3), limit=2),
        ]
    make(pair.lite, name)
    lite = [call() for call in calls(pair.lite)]
    assert ids(lite[0]) == [[]] and all(len(result[0]) == 2 for result in lite[1:])
    rk = _rk(pair)
    make(rk, name)
    for call, words in zip(calls(rk), ["range_filter", "k must", "k must", "[0, 1]"]):
        H.check_redkite_error(capture(call), mentions=[words])
