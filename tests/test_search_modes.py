"""Range search, grouping search, hybrid_search and the iterators against numpy references.

The collection spans several segments (a sealed one with deletes, a growing one and a
second partition) so every mode is checked across segment boundaries.
"""

from __future__ import annotations

import math

import numpy as np
import pymilvus
import pytest

from redkite import (
    AnnSearchRequest, DataType, FilterSyntaxError, Function, FunctionType, MilvusClient,
    ParamError, RRFRanker, SearchPage, WeightedRanker,
)
from redkite.errors import DataTypeNotMatchException

N = 240
DELETED = set(range(0, N, 11))
COLORS = ["red", "green", "blue", "amber"]


def _schema(client, metric_v):
    schema = client.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=4)
    schema.add_field("w", DataType.FLOAT_VECTOR, dim=3)
    schema.add_field("g", DataType.INT64)
    schema.add_field("s", DataType.VARCHAR, max_length=16)
    schema.add_field("b", DataType.BOOL)
    schema.add_field("n", DataType.INT32, nullable=True)
    schema.add_field("f", DataType.FLOAT)
    schema.add_field("j", DataType.JSON)
    index = client.prepare_index_params()
    index.add_index("v", index_type="FLAT", metric_type=metric_v)
    index.add_index("w", index_type="FLAT", metric_type="IP")
    return schema, index


def _data(seed=5):
    rng = np.random.default_rng(seed)
    v = rng.integers(-3, 4, (N, 4)).astype(np.float32)   # integer coordinates: exact L2/IP
    v[:, 0] += rng.random(N).astype(np.float32) / 8       # ... mostly distinct
    w = rng.standard_normal((N, 3)).astype(np.float32)
    rare = rng.random(N) < 0.06                           # uneven group sizes: 6 common
    g = np.where(rare, 100 + np.arange(N) % 4, rng.integers(0, 6, N))  # groups, 4 rare
    return v, w, g


def _rows(v, w, g, ids):
    return [{"id": int(i), "v": v[i], "w": w[i], "g": int(g[i]), "s": COLORS[i % 4],
             "b": bool(i % 3 == 0), "n": None if i % 5 == 0 else int(i % 4), "f": i / 2,
             "j": {"i": int(i)}, "extra": int(i)} for i in ids]


@pytest.fixture(params=["L2", "IP", "COSINE"], scope="module")
def metric(request):
    return request.param


@pytest.fixture(scope="module")
def world(tmp_path_factory, metric):
    """(client, name, v, w, g, alive mask) with rows spread over three segments."""
    client = MilvusClient(str(tmp_path_factory.mktemp("modes") / "m.db"))
    schema, index = _schema(client, metric)
    client.create_collection("c", schema=schema, index_params=index)
    client.create_partition("c", "p2")
    v, w, g = _data()
    client.insert("c", _rows(v, w, g, range(0, 100)))
    client.flush("c")
    client.insert("c", _rows(v, w, g, range(100, 180)))
    client.insert("c", _rows(v, w, g, range(180, N)), partition_name="p2")
    client.delete("c", ids=sorted(DELETED))
    alive = np.array([i not in DELETED for i in range(N)])
    yield client, "c", v, w, g, alive
    client.close()


# ---- numpy references ---------------------------------------------------------------------
def distances(base, query, metric):
    base, query = base.astype(np.float64), np.asarray(query, np.float64)
    if metric == "L2":
        return ((base - query) ** 2).sum(axis=1)
    if metric == "IP":
        return base @ query
    return (base @ query) / (np.linalg.norm(base, axis=1) * np.linalg.norm(query))


def ranked(d, metric, candidates):
    """Candidate ids from closest to farthest (ties by id)."""
    ids = np.flatnonzero(candidates)
    key = d[ids] if metric == "L2" else -d[ids]
    return ids[np.lexsort((ids, key))]


def in_band(d, metric, radius, range_filter=None):
    if metric == "L2":
        keep = d < radius
        return keep if range_filter is None else keep & (d >= range_filter)
    keep = d > radius
    return keep if range_filter is None else keep & (d <= range_filter)


def hit_ids(result):
    return [hit["id"] for hit in result]


QUERY = [0.5, -1.0, 2.0, 0.25]


# ---- range search -------------------------------------------------------------------------
def _band(metric):
    """(radius, range_filter) cutting the middle of the distance distribution."""
    return {"L2": (14.0, 4.0), "IP": (-2.0, 3.0), "COSINE": (0.1, 0.8)}[metric]


def test_range_search_matches_reference(world, metric):
    client, name, v, _, g, alive = world
    d = distances(v, QUERY, metric)
    radius, range_filter = _band(metric)
    for params, filt, mask in [({"radius": radius}, "", alive),
                               ({"radius": radius, "range_filter": range_filter}, "", alive),
                               ({"radius": radius, "range_filter": range_filter}, "g > 4",
                                alive & (g > 4))]:
        want = ranked(d, metric, mask & in_band(d, metric, *params.values()))
        got = client.search(name, [QUERY], anns_field="v", limit=1000, filter=filt,
                            search_params={"params": params})[0]
        assert hit_ids(got) == want.tolist()
        np.testing.assert_allclose(got.distances, d[want], rtol=1e-5, atol=1e-5)
        top = client.search(name, [QUERY], anns_field="v", limit=7, offset=5, filter=filt,
                            search_params={"params": params})[0]
        assert hit_ids(top) == want[5:12].tolist()


@pytest.mark.parametrize("metric", ["L2", "IP"])
def test_range_bounds_are_exclusive_and_inclusive(tmp_path, metric):
    """L2: radius > d >= range_filter; IP: radius < d <= range_filter. Vectors with
    integer norms give exact distances, some sitting on the bounds."""
    client = MilvusClient(str(tmp_path / "b.db"))
    client.create_collection("b", dimension=4, metric_type=metric)
    base = [[1, 0, 0, 0], [0, 2, 0, 0], [3, 4, 0, 0], [2, 0, 0, 0], [0, 0, 0, 2], [0, 0, 3, 0]]
    client.insert("b", [{"id": i, "vector": [float(x) for x in b]} for i, b in enumerate(base)])
    d = distances(np.array(base, np.float32), [1.0, 0, 0, 0], metric)  # L2 0 5 20 1 5 10
    lo, hi = (1.0, 10.0) if metric == "L2" else (0.0, 2.0)              # IP 1 0 3 2 0 0
    params = {"radius": hi, "range_filter": lo} if metric == "L2" else {
        "radius": lo, "range_filter": hi}
    got = client.search("b", [[1.0, 0, 0, 0]], limit=10, search_params={"params": params})[0]
    expected = ranked(d, metric, in_band(d, metric, params["radius"], params["range_filter"]))
    assert hit_ids(got) == expected.tolist() == ([3, 1, 4] if metric == "L2" else [3, 0])
    client.close()


def test_range_search_rejects_bad_bounds(world, metric):
    client, name = world[0], world[1]

    def search(params):
        return client.search(name, [QUERY], anns_field="v", limit=1000,
                             search_params={"params": params})
    radius, range_filter = _band(metric)
    with pytest.raises(ParamError, match="range_filter must be"):
        search({"radius": range_filter, "range_filter": radius})
    with pytest.raises(ParamError, match="range_filter must be"):
        search({"radius": radius, "range_filter": radius})
    with pytest.raises(ParamError, match="needs radius"):
        search({"range_filter": range_filter})
    with pytest.raises(ParamError, match="radius must be a number"):
        search({"radius": "0.5"})
    # top-level keys of search_params are read as params, as pymilvus does
    top_level = client.search(name, [QUERY], anns_field="v", limit=1000,
                              search_params={"radius": radius})[0]
    nested = search({"radius": radius})[0]
    assert hit_ids(top_level) == hit_ids(nested)


# ---- grouping search ----------------------------------------------------------------------
def reference_groups(d, metric, mask, keys, limit, group_size, offset=0, strict=False):
    """[(group key, [ids best first])] of groups offset..offset+limit, best group first;
    ``strict`` then drops the groups with fewer than group_size rows."""
    groups: dict = {}
    for i in ranked(d, metric, mask):
        groups.setdefault(keys[i], [])
        if len(groups[keys[i]]) < group_size:
            groups[keys[i]].append(int(i))
    window = list(groups.items())[offset:offset + limit]
    return [(key, ids) for key, ids in window if not strict or len(ids) == group_size]


@pytest.mark.parametrize("field", ["g", "s", "b", "n"])
def test_group_by_matches_reference(world, metric, field):
    client, name, v, _, g, alive = world
    d = distances(v, QUERY, metric)
    keys = {"g": g.tolist(), "s": [COLORS[i % 4] for i in range(N)],
            "b": [i % 3 == 0 for i in range(N)],
            "n": [None if i % 5 == 0 else i % 4 for i in range(N)]}[field]
    for limit, group_size, offset in [(3, 1, 0), (4, 3, 0), (2, 2, 1), (50, 10, 0)]:
        want = reference_groups(d, metric, alive, keys, limit, group_size, offset)
        got = client.search(name, [QUERY], anns_field="v", limit=limit, offset=offset,
                            group_by_field=field, group_size=group_size, output_fields=[field])
        assert hit_ids(got[0]) == [i for _, ids in want for i in ids]
        assert [hit["entity"][field] for hit in got[0]] == [
            key for key, ids in want for _ in ids]


def test_group_by_partial_groups_strict_and_filters(world, metric):
    client, name, v, _, g, alive = world
    d = distances(v, QUERY, metric)
    sizes = {key: int(np.sum(alive & (g == key))) for key in set(g.tolist())}
    assert min(sizes.values()) < 5 < max(sizes.values())  # the data has partial groups
    for strict in (False, True):
        want = reference_groups(d, metric, alive, g.tolist(), 20, 5, strict=strict)
        assert any(len(ids) < 5 for _, ids in want) != strict
        got = client.search(name, [QUERY], anns_field="v", limit=20, group_by_field="g",
                            group_size=5, strict_group_size=strict)[0]
        assert hit_ids(got) == [i for _, ids in want for i in ids]
    # strict drops incomplete groups from the window of limit groups, without backfilling
    window = reference_groups(d, metric, alive, g.tolist(), 8, 5, offset=2)
    assert any(len(ids) < 5 for _, ids in window) and len(window) == 8
    strict = client.search(name, [QUERY], anns_field="v", limit=8, offset=2,
                           group_by_field="g", group_size=5, strict_group_size=True)[0]
    assert hit_ids(strict) == [i for _, ids in window if len(ids) == 5 for i in ids]
    radius = _band(metric)[0]
    mask = alive & (g != 0) & in_band(d, metric, radius)
    want = reference_groups(d, metric, mask, g.tolist(), 4, 2)
    got = client.search(name, [QUERY], anns_field="v", limit=4, filter="g != 0",
                        group_by_field="g", group_size=2,
                        search_params={"params": {"radius": radius}})[0]
    assert hit_ids(got) == [i for _, ids in want for i in ids]


def test_group_by_several_queries_and_search_params_form(world, metric):
    client, name, v, _, g, alive = world
    queries = [QUERY, [1.0, 1.0, -1.0, 0.0]]
    got = client.search(name, queries, anns_field="v", limit=3,
                        search_params={"group_by_field": "g", "group_size": 2})
    for query, hits in zip(queries, got):
        want = reference_groups(distances(v, query, metric), metric, alive, g.tolist(), 3, 2)
        assert hit_ids(hits) == [i for _, ids in want for i in ids]


def test_group_by_rejects(world):
    client, name = world[0], world[1]

    def search(**kwargs):
        return client.search(name, [QUERY], anns_field="v", **kwargs)
    for field, words in [("f", "FLOAT"), ("j", "JSON"), ("v", "FLOAT_VECTOR"),
                         ("extra", "not a field"), ("nope", "not a field")]:
        with pytest.raises(ParamError, match=words):
            search(group_by_field=field)
    for size in (0, 11, True, 1.5):
        with pytest.raises(ParamError, match="group_size"):
            search(group_by_field="g", group_size=size)
    with pytest.raises(ParamError, match="strict_group_size"):
        search(group_by_field="g", strict_group_size="yes")
    with pytest.raises(ParamError, match="need group_by_field"):
        search(group_size=2)
    with pytest.raises(ParamError, match="both"):
        search(group_by_field="g", search_params={"group_by_field": "g"})


# ---- hybrid search ------------------------------------------------------------------------
def leg_reference(base, query, metric, mask, limit):
    d = distances(base, query, metric)
    order = ranked(d, metric, mask)[:limit]
    return order, d[order]


def fuse_reference(legs, score_of, larger_first=True):
    totals: dict = {}
    for leg, (ids, dists) in enumerate(legs):
        for rank, (i, dist) in enumerate(zip(ids, dists)):
            totals[int(i)] = totals.get(int(i), 0.0) + score_of(leg, rank, dist)
    sign = -1 if larger_first else 1
    return sorted(totals.items(), key=lambda item: (sign * item[1], item[0]))


W_QUERY = [0.3, -0.2, 0.9]


def _legs(world, metric, limit_v=15, limit_w=12, mask_w=None):
    _, _, v, w, g, alive = world
    return [leg_reference(v, QUERY, metric, alive, limit_v),
            leg_reference(w, W_QUERY, "IP", alive if mask_w is None else mask_w, limit_w)]


def _normalise(metric, d):
    if metric == "COSINE":
        return (1 + d) / 2
    if metric == "IP":
        return 0.5 + math.atan(d) / math.pi
    return 1 - 2 * math.atan(d) / math.pi


def _reqs(limit_v=15, limit_w=12, expr=None):
    return [AnnSearchRequest([QUERY], "v", {}, limit_v),
            AnnSearchRequest([W_QUERY], "w", {"metric_type": "IP"}, limit_w, expr=expr)]


def test_hybrid_rrf_matches_hand_computed(world, metric):
    client, name = world[0], world[1]
    want = fuse_reference(_legs(world, metric), lambda leg, rank, d: 1 / (60 + rank + 1))
    got = client.hybrid_search(name, _reqs(), RRFRanker(), limit=10, output_fields=["g"])[0]
    assert hit_ids(got) == [i for i, _ in want[:10]]
    np.testing.assert_allclose(got.distances, [s for _, s in want[:10]], rtol=1e-6)
    assert [hit["entity"]["g"] for hit in got] == [int(world[4][i]) for i, _ in want[:10]]
    assert len(set(hit_ids(got))) == len(got)      # a row found by both legs appears once
    paged = client.hybrid_search(name, _reqs(), RRFRanker(k=5), limit=4, offset=3)[0]
    want5 = fuse_reference(_legs(world, metric), lambda leg, rank, d: 1 / (5 + rank + 1))
    assert hit_ids(paged) == [i for i, _ in want5[3:7]]


def test_hybrid_weighted_norm_and_raw(world, metric):
    client, name = world[0], world[1]
    metrics = [metric, "IP"]
    weights = (0.7, 0.4)
    want = fuse_reference(_legs(world, metric),
                          lambda leg, rank, d: weights[leg] * _normalise(metrics[leg], d))
    got = client.hybrid_search(name, _reqs(), WeightedRanker(*weights), limit=8)[0]
    assert hit_ids(got) == [i for i, _ in want[:8]]
    np.testing.assert_allclose(got.distances, [s for _, s in want[:8]], rtol=1e-5)
    # without normalisation: raw scores; an L2 leg mixed with IP is still turned around
    raw = fuse_reference(_legs(world, metric), lambda leg, rank, d: weights[leg] * (
        1 - 2 * math.atan(d) / math.pi if metrics[leg] == "L2" else d))
    got = client.hybrid_search(name, _reqs(), WeightedRanker(*weights, norm_score=False),
                               limit=8)[0]
    assert hit_ids(got) == [i for i, _ in raw[:8]]


def test_hybrid_weighted_raw_l2_only_sorts_ascending(world, metric):
    if metric != "L2":
        pytest.skip("needs L2 legs")
    client, name, v, _, _, alive = world
    legs = [leg_reference(v, QUERY, "L2", alive, 10),
            leg_reference(v, [1.0, 0, 0, 1.0], "L2", alive, 10)]
    want = fuse_reference(legs, lambda leg, rank, d: 0.5 * d, larger_first=False)
    reqs = [AnnSearchRequest([QUERY], "v", {}, 10),
            AnnSearchRequest([[1.0, 0, 0, 1.0]], "v", {}, 10)]
    got = client.hybrid_search(name, reqs, WeightedRanker(0.5, 0.5, norm_score=False),
                               limit=6)[0]
    assert hit_ids(got) == [i for i, _ in want[:6]]


def test_hybrid_leg_filters_functions_and_rounding(world, metric):
    client, name, _, _, g, alive = world
    legs = _legs(world, metric, mask_w=alive & (g % 2 == 0))
    want = fuse_reference(legs, lambda leg, rank, d: 1 / (60 + rank + 1))
    got = client.hybrid_search(name, _reqs(expr="g % 2 == 0"), RRFRanker(), limit=9)[0]
    assert hit_ids(got) == [i for i, _ in want[:9]]
    as_function = Function("rrf", FunctionType.RERANK, input_field_names=[],
                           params={"reranker": "rrf", "k": 60})
    got_f = client.hybrid_search(name, _reqs(expr="g % 2 == 0"), as_function, limit=9)[0]
    assert hit_ids(got_f) == hit_ids(got)
    weighted = Function("w", FunctionType.RERANK,
                        params={"reranker": "weighted", "weights": [0.5, 0.5]})
    assert hit_ids(client.hybrid_search(name, _reqs(), weighted, limit=5)[0]) == hit_ids(
        client.hybrid_search(name, _reqs(), WeightedRanker(0.5, 0.5, norm_score=False),
                             limit=5)[0])
    rounded = client.hybrid_search(name, _reqs(), RRFRanker(), limit=5, round_decimal=3)[0]
    assert all(round(x, 3) == x for x in rounded.distances)
    two = client.hybrid_search(name, [AnnSearchRequest([QUERY, QUERY], "v", {}, 5),
                                      AnnSearchRequest([W_QUERY, W_QUERY], "w", {}, 5)],
                               RRFRanker(), limit=3)
    assert len(two) == 2 and hit_ids(two[0]) == hit_ids(two[1])


def test_hybrid_rejects(world):
    client, name = world[0], world[1]

    def hybrid(reqs=None, ranker=None, **kwargs):
        return client.hybrid_search(name, _reqs() if reqs is None else reqs,
                                    ranker or RRFRanker(), **kwargs)
    cases = [
        (dict(ranker=WeightedRanker(0.5)), "weight"),
        (dict(ranker=WeightedRanker(1.5, 0.2)), r"\[0, 1\]"),
        (dict(ranker=RRFRanker(0)), "k must be"),
        (dict(ranker=RRFRanker(16384)), "k must be"),
        (dict(reqs=[]), "non-empty"),
        (dict(reqs=[AnnSearchRequest([QUERY, QUERY], "v", {}, 5),
                    AnnSearchRequest([W_QUERY], "w", {}, 5)]), "same number"),
        (dict(reqs=[{"data": [QUERY]}]), "AnnSearchRequest"),
        (dict(reqs=[AnnSearchRequest([QUERY], "v", {"offset": 2}, 5)]), "whole hybrid"),
        (dict(reqs=[AnnSearchRequest([QUERY], "v", {}, 0)]), "limit"),
        (dict(ranker=Function("m", FunctionType.RERANK, params={"reranker": "model"})),
         "not supported"),
        (dict(ranker=Function("b", FunctionType.BM25, params={"reranker": "rrf"})), "RERANK"),
        (dict(ranker="rrf"), "Ranker"),
        (dict(group_by_field="g"), "not supported"),
        (dict(round_decimal=7), "round_decimal"),
        (dict(consistency_level="Sometimes"), "consistency_level"),
    ]
    for kwargs, words in cases:
        with pytest.raises(ParamError, match=words):
            hybrid(**kwargs)


def test_search_request_classes_match_pymilvus():
    assert str(RRFRanker()) == str(pymilvus.RRFRanker())
    assert str(RRFRanker(7)) == str(pymilvus.RRFRanker(7))
    assert str(WeightedRanker(0.2, 1, norm_score=False)) == str(
        pymilvus.WeightedRanker(0.2, 1, norm_score=False))
    ours = AnnSearchRequest([[1.0]], "v", {"metric_type": "L2"}, 3, expr="id > 1",
                            expr_params={"a": 1})
    theirs = pymilvus.AnnSearchRequest([[1.0]], "v", {"metric_type": "L2"}, 3, expr="id > 1",
                                       expr_params={"a": 1})
    assert str(ours) == str(theirs)
    assert (ours.data, ours.anns_field, ours.param, ours.limit, ours.expr, ours.filter,
            ours.expr_params) == (theirs.data, theirs.anns_field, theirs.param, theirs.limit,
                                  theirs.expr, theirs.filter, theirs.expr_params)
    with pytest.raises(TypeError, match="Weight must be a number"):
        WeightedRanker(0.5, "x")
    with pytest.raises(ParamError, match="not both"):
        AnnSearchRequest([[1.0]], "v", {}, 3, expr="a", filter="b")
    with pytest.raises(DataTypeNotMatchException):
        AnnSearchRequest([[1.0]], "v", {}, 3, expr=5)


# ---- iterators ----------------------------------------------------------------------------
def drain(iterator, max_pages=10_000):
    pages = []
    while len(pages) < max_pages:
        page = iterator.next()
        if not page:
            break
        pages.append(page)
    iterator.close()
    return pages


@pytest.mark.parametrize("batch_size", [1, 7, 1000])
def test_query_iterator_every_row_once_in_pk_order(world, batch_size):
    client, name, _, _, g, alive = world
    for filt, mask in [("", alive), ("g > 3 and b == false", alive & (g > 3) & (
            np.arange(N) % 3 != 0))]:
        pages = drain(client.query_iterator(name, batch_size=batch_size, filter=filt,
                                            output_fields=["g"]))
        ids = [row["id"] for page in pages for row in page]
        assert ids == np.flatnonzero(mask).tolist()
        assert all(len(page) == batch_size for page in pages[:-1])
        assert all(set(row) == {"id", "g"} for page in pages for row in page)


def test_query_iterator_limit_offset_partitions(world):
    client, name, _, _, _, alive = world
    every = np.flatnonzero(alive).tolist()
    ids = [r["id"] for p in drain(client.query_iterator(name, batch_size=6, limit=20,
                                                        offset=4)) for r in p]
    assert ids == every[4:24]
    in_p2 = [r["id"] for p in drain(client.query_iterator(name, batch_size=9,
                                                          partition_names=["p2"])) for r in p]
    assert in_p2 == [i for i in every if i >= 180]
    bare = client.query_iterator(name, batch_size=3).next()
    assert [set(row) for row in bare] == [{"id"}] * 3   # without output_fields: the pk only
    assert drain(client.query_iterator(name, batch_size=5, filter="id < 0")) == []


def test_query_iterator_sees_writes_behind_the_cursor_once(tmp_path):
    client = MilvusClient(str(tmp_path / "w.db"))
    client.create_collection("t", dimension=2, id_type="string", max_length=8)
    client.insert("t", [{"id": f"k{i:03d}", "vector": [1.0, float(i)]} for i in range(0, 60, 2)])
    iterator = client.query_iterator("t", batch_size=10)
    first = [r["id"] for r in iterator.next()]
    client.insert("t", [{"id": f"k{i:03d}", "vector": [1.0, 0.0]} for i in range(1, 60, 2)])
    client.delete("t", ids=["k058"])
    rest = [r["id"] for page in drain(iterator) for r in page]
    assert first == [f"k{i:03d}" for i in range(0, 20, 2)]
    # rows inserted ahead of the cursor are returned, those behind it are not; none twice
    assert rest == [f"k{i:03d}" for i in range(19, 60) if i != 58]
    client.close()


def test_query_with_limit_keeps_pk_order_across_segments(world):
    client, name, _, _, _, alive = world
    every = np.flatnonzero(alive).tolist()
    for limit, offset in [(5, 0), (13, 90), (1000, 170)]:
        rows = client.query(name, filter="id >= 0", limit=limit, offset=offset,
                            output_fields=["id"])
        assert [r["id"] for r in rows] == every[offset:offset + limit]


@pytest.mark.parametrize("batch_size", [1, 9, 500])
def test_search_iterator_every_hit_once_closest_first(world, metric, batch_size):
    client, name, v, _, g, alive = world
    d = distances(v, QUERY, metric)
    for filt, mask in [("", alive), ("g < 9", alive & (g < 9))]:
        pages = drain(client.search_iterator(name, [QUERY], batch_size=batch_size, filter=filt,
                                             anns_field="v", output_fields=["g"]))
        assert all(isinstance(page, SearchPage) for page in pages)
        got = [hit["id"] for page in pages for hit in page]
        assert sorted(got) == np.flatnonzero(mask).tolist()       # every hit exactly once
        dists = [x for page in pages for x in page.distances()]
        sign = 1 if metric == "L2" else -1
        assert all(sign * (b - a) >= -1e-5 for a, b in zip(dists, dists[1:]))
        np.testing.assert_allclose(dists, d[got], rtol=1e-5, atol=1e-5)


def test_search_iterator_ties_limit_band_and_rounding(tmp_path):
    client = MilvusClient(str(tmp_path / "t.db"))
    client.create_collection("t", dimension=2, metric_type="L2")
    # 25 rows at each of four distances from the query: ties bigger than a page
    client.insert("t", [{"id": i, "vector": [float(i % 4), 0.0], "k": i % 2}
                        for i in range(100)])
    pages = drain(client.search_iterator("t", [[0.0, 0.0]], batch_size=10))
    got = [hit.id for page in pages for hit in page]
    assert sorted(got) == list(range(100))
    assert [x for page in pages for x in page.distances()] == sorted(
        float((i % 4) ** 2) for i in range(100))
    limited = drain(client.search_iterator("t", [[0.0, 0.0]], batch_size=7, limit=30))
    assert [len(page) for page in limited] == [7, 7, 7, 7, 2]
    band = drain(client.search_iterator("t", [[0.0, 0.0]], batch_size=8, search_params={
        "params": {"radius": 9.0, "range_filter": 1.0}}))
    assert sorted(hit.id for page in band for hit in page) == [
        i for i in range(100) if i % 4 in (1, 2)]
    kept = drain(client.search_iterator(
        "t", [[0.0, 0.0]], batch_size=6, filter="k == 1",
        external_filter_func=lambda hits: [hit for hit in hits if hit.id % 3 == 0]))
    assert [len(page) for page in kept[:-1]] == [6] * (len(kept) - 1)
    assert sorted(hit.id for page in kept for hit in page) == [
        i for i in range(100) if i % 2 == 1 and i % 3 == 0]
    page = client.search_iterator("t", [[0.1, 0.3]], batch_size=5, round_decimal=2).next()
    assert all(round(x, 2) == x for x in page.distances())
    client.close()


def test_iterators_reject_bad_arguments(world):
    client, name = world[0], world[1]
    for batch_size in (0, -1, 16385, 2.5):
        with pytest.raises(ParamError, match="batch"):
            client.query_iterator(name, batch_size=batch_size)
        with pytest.raises(ParamError, match="batch"):
            client.search_iterator(name, [QUERY], batch_size=batch_size, anns_field="v")
    with pytest.raises(ParamError, match="multiple vectors"):
        client.search_iterator(name, [QUERY, QUERY], anns_field="v")
    with pytest.raises(ParamError, match="offset"):
        client.search_iterator(name, [QUERY], anns_field="v", offset=3)
    with pytest.raises(ParamError, match="limit"):
        client.query_iterator(name, limit=-5)
    with pytest.raises(ParamError, match="count"):
        client.query_iterator(name, output_fields=["count(*)"])
    with pytest.raises(DataTypeNotMatchException):
        client.query_iterator(name, filter=3)
    with pytest.raises(ParamError, match="consistency_level"):
        client.query_iterator(name, consistency_level="Often")
    with pytest.raises(ParamError, match="round_decimal"):
        client.search_iterator(name, [QUERY], anns_field="v", round_decimal=9)
    with pytest.raises(ParamError, match="do not apply"):
        client.query_iterator(name, nonsense=1)
    # the first page is fetched on creation, so bad filters and fields fail right there
    with pytest.raises(FilterSyntaxError):
        client.query_iterator(name, filter="g >>> 1")
    with pytest.raises(ParamError, match="anns_field"):
        client.search_iterator(name, [QUERY], anns_field="nope")
    with pytest.raises(ParamError, match="metric type not match"):
        client.search_iterator(name, [QUERY], anns_field="w", search_params={
            "metric_type": "L2"})


# ---- shared options -----------------------------------------------------------------------
def test_round_decimal_offset_and_consistency(world, metric):
    client, name, v, _, _, alive = world
    want = ranked(distances(v, QUERY, metric), metric, alive)
    for level in ("Strong", "Session", "Bounded", "Eventually", "Customized", 0, 3):
        got = client.search(name, [QUERY], anns_field="v", limit=4, offset=2,
                            consistency_level=level, round_decimal=1)[0]
        assert hit_ids(got) == want[2:6].tolist()
        assert all(round(x, 1) == x for x in got.distances)
        rows = client.query(name, filter="id > 10", limit=3, offset=1,
                            consistency_level=level)
        assert [r["id"] for r in rows] == [i for i in np.flatnonzero(alive) if i > 10][1:4]
    for bad in ("strong", 5, -1, 1.0):
        with pytest.raises(ParamError, match="consistency_level"):
            client.search(name, [QUERY], anns_field="v", consistency_level=bad)
        with pytest.raises(ParamError, match="consistency_level"):
            client.query(name, filter="id > 1", consistency_level=bad)
    for bad in (7, -2, True, 1.5):
        with pytest.raises(ParamError, match="round_decimal"):
            client.search(name, [QUERY], anns_field="v", round_decimal=bad)
    with pytest.raises(ParamError, match="both"):
        client.search(name, [QUERY], anns_field="v", offset=1, search_params={"offset": 2})
