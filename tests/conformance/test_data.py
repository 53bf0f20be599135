"""insert / upsert / delete / get / query: Lite vs redkite."""

from __future__ import annotations

import numpy as np

from . import helpers as H
from .helpers import capture, count, norm_rows, plain


def mutation(res):
    """insert/upsert result -> plain dict without the 'cost' key."""
    d = plain(dict(res))
    d.pop("cost", None)
    return d


def dyn_rows(n, start=0):
    vecs = H.vectors(n + start, 8, seed=11)
    rows = []
    for i in range(start, start + n):
        r = {"id": i, "vector": vecs[i].tolist()}
        if i % 2 == 0:
            r["color"] = H.COLORS[i % 3]
        if i % 3 == 0:
            r["meta"] = {"k": i, "tags": ["a", "b"][: i % 3]}
        rows.append(r)
    return rows


def scenario_insert_dynamic(client, name):
    client.create_collection(name, dimension=8)
    out = {"insert": mutation(client.insert(name, dyn_rows(30)))}
    out["insert_one_dict"] = mutation(client.insert(name, {"id": 100, "vector": [0.5] * 8, "x": 1}))
    out["insert_empty"] = mutation(client.insert(name, []))
    out["count"] = count(client, name)
    out["all"] = norm_rows(client.query(name, filter="id >= 0", output_fields=["*"]))
    out["some"] = norm_rows(client.query(name, filter="id < 10", output_fields=["color", "meta"]))
    return out


def test_insert_with_dynamic_fields(pair):
    lite, rk = pair.run(scenario_insert_dynamic)
    assert lite["insert"] == {"insert_count": 30, "ids": list(range(30))}
    H.assert_builtin_types(rk["all"], "query *")


def scenario_full_roundtrip(client, name):
    rows = H.full_rows(40, seed=3)
    H.make_full_collection(client, name, rows)
    got = client.get(name, ids=list(range(40)))
    return {
        "get_all": norm_rows(got),
        "query_star": norm_rows(client.query(name, filter="id < 40", output_fields=["*"])),
        "get_some": norm_rows(client.get(name, ids=[1, 3, 999], output_fields=["s", "n", "dv", "dyn"])),
    }


def test_full_schema_roundtrip(pair):
    lite, rk = pair.run(scenario_full_roundtrip)
    H.assert_builtin_types(rk["get_all"], "get")
    # ground truth: stored rows equal the inserted ones (nullable -> None, default applied)
    expected = norm_rows(H.completed_rows(H.full_rows(40, seed=3)))
    H.compare(expected, lite["get_all"], "lite-vs-truth")
    H.compare(expected, rk["get_all"], "redkite-vs-truth")


def scenario_auto_id(client, name):
    client.create_collection(name, dimension=4, auto_id=True)
    r1 = client.insert(name, [{"vector": [float(i), 0, 0, 1]} for i in range(50)])
    r2 = client.insert(name, [{"vector": [float(i), 1, 0, 1], "tag": i} for i in range(50)])
    ids = list(r1["ids"]) + list(r2["ids"])
    got = client.get(name, ids=ids[:5], output_fields=["id"])
    return {
        "counts": [r1["insert_count"], r2["insert_count"]],
        "n_ids": len(ids),
        "unique": len(set(ids)) == len(ids),
        "types": sorted({type(plain(i)).__name__ for i in ids}),
        "count": count(client, name),
        "get_found": len(got),
        "get_ids_match": sorted(plain(r["id"]) for r in got) == sorted(plain(i) for i in ids[:5]),
    }


def test_auto_id_unique(pair):
    lite, _ = pair.run(scenario_auto_id)
    assert lite["unique"] and lite["n_ids"] == 100


def scenario_upsert(client, name):
    client.create_collection(name, dimension=4)
    client.insert(name, [{"id": i, "vector": [float(i), 0, 0, 1], "v": i} for i in range(10)])
    res = client.upsert(name, [{"id": i, "vector": [float(i), 1, 1, 1], "v": i * 100, "new": True}
                               for i in (2, 3, 4, 10, 11)])
    return {
        "upsert": mutation(res),
        "count": count(client, name),
        "rows": norm_rows(client.query(name, filter="id >= 0", output_fields=["*"])),
        # (an upsert that omits a dynamic key: Lite keeps the old value -> test_lite_quirks)
        "upsert_one": mutation(client.upsert(name, {"id": 5, "vector": [0.0, 0, 0, 1], "v": 55})),
        "row5": norm_rows(client.get(name, ids=[5])),
    }


def test_upsert(pair):
    lite, _ = pair.run(scenario_upsert)
    assert lite["count"] == 12


def scenario_delete(client, name):
    client.create_collection(name, dimension=4)
    client.insert(name, [{"id": i, "vector": [float(i), 0, 0, 1], "grp": i % 4} for i in range(40)])
    out = {
        "by_ids": H.delete_count(client.delete(name, ids=[0, 1, 2])),
        "by_single_id": H.delete_count(client.delete(name, ids=3)),
        "by_filter": H.delete_count(client.delete(name, filter="grp == 1")),
        "by_filter_none": H.delete_count(client.delete(name, filter="grp == 77")),
        "by_dynamic_filter": H.delete_count(client.delete(name, filter="id > 30 and grp == 2")),
    }
    out["count"] = count(client, name)
    out["left"] = [r["id"] for r in norm_rows(client.query(name, filter="id >= 0", output_fields=["id"]))]
    out["get_deleted"] = norm_rows(client.get(name, ids=[0, 5]))
    out["reinsert"] = mutation(client.insert(name, [{"id": 0, "vector": [9.0, 0, 0, 1]}]))
    out["count_after"] = count(client, name)
    return out


def test_delete_counts(pair):
    lite, _ = pair.run(scenario_delete)
    assert lite["by_filter"] == 9  # id 1 already gone


def scenario_delete_missing_ids(client, name):
    client.create_collection(name, dimension=4)
    client.insert(name, [{"id": i, "vector": [float(i), 0, 0, 1]} for i in range(5)])
    return {
        "existing_and_missing": H.delete_count(client.delete(name, ids=[0, 1, 998, 999])),
        "only_missing": H.delete_count(client.delete(name, ids=[500])),
        "count": count(client, name),
    }


def test_delete_count_with_missing_ids(pair):
    """Lite counts every pk in the request, existing or not (4 and 1 here). redkite reports
    the rows actually deleted (2 and 0), as documented in docs/client.md; the data left
    behind is the same."""

    def check(lite, rk):
        assert (lite["existing_and_missing"], lite["only_missing"]) == (4, 1)  # Lite quirk
        if not pair.selftest:
            assert (rk["existing_and_missing"], rk["only_missing"]) == (2, 0)
        assert lite["count"] == rk["count"] == 3

    pair.run(scenario_delete_missing_ids, check=check)


def scenario_get(client, name):
    client.create_collection(name, dimension=4, id_type="string", max_length=16)
    client.insert(name, [{"id": f"k{i}", "vector": [float(i), 0, 0, 1], "x": i} for i in range(10)])
    return {
        "default": norm_rows(client.get(name, ids=["k1", "k2"])),
        "fields": norm_rows(client.get(name, ids=["k3", "k9", "missing"], output_fields=["x"])),
        "single": norm_rows(client.get(name, ids="k4", output_fields=["id"])),
        "empty": norm_rows(client.get(name, ids=[])),
        "query_ids": norm_rows(client.query(name, ids=["k5", "k6"], output_fields=["x"])),
        "varchar_filter": norm_rows(client.query(name, filter="id in ['k7', 'k8']", output_fields=["x"])),
    }


def test_get_varchar_pk(pair):
    pair.run(scenario_get)


def scenario_query_variants(client, name, shared):
    q = client.query
    return {
        "limit": norm_rows(q(shared, filter="id > 100", limit=5, output_fields=["id", "s"])),
        "limit_offset": norm_rows(q(shared, filter="id > 100", limit=5, offset=5, output_fields=["id"])),
        "empty_filter_limit": norm_rows(q(shared, filter="", limit=3, output_fields=["id"])),
        "star": norm_rows(q(shared, filter="id in [0, 5, 7]", output_fields=["*"])),
        "some_fields": norm_rows(q(shared, filter="id in [0, 5, 7]", output_fields=["b", "j", "dyn", "color"])),
        "pk_only": norm_rows(q(shared, filter="id < 3", output_fields=["id"])),
        "count_all": plain(q(shared, filter="", output_fields=["count(*)"])),
        "count_filter": plain(q(shared, filter="id < 100 and b == true", output_fields=["count(*)"])),
        "count_nomatch": plain(q(shared, filter="id < 0", output_fields=["count(*)"])),
        "no_match": norm_rows(q(shared, filter="id < 0", output_fields=["id"])),
        "vector_field": norm_rows(q(shared, filter="id == 9", output_fields=["v"])),
    }


def test_query_variants(pair):
    lite, rk = pair.run(scenario_query_variants, shared=True)
    assert lite["count_all"] == [{"count(*)": 300}]
    assert [r["id"] for r in lite["limit_offset"]] == [106, 107, 108, 109, 110]


def scenario_numpy_insert(client, name):
    client.create_collection(name, dimension=8)
    vecs = H.vectors(20, 8, seed=5)
    rows = [{"id": np.int64(i), "vector": vecs[i], "f": np.float32(i / 2), "flag": np.bool_(i % 2)}
            for i in range(20)]
    res = capture(client.insert, name, rows)
    return {"insert": res if isinstance(res, H.Err) else mutation(res),
            "rows": norm_rows(client.query(name, filter="id < 3", output_fields=["*"]))}


def test_insert_numpy_values(pair):
    pair.run(scenario_numpy_insert)


def scenario_repeated_primary_keys(client, name):
    """A primary key names one row: re-inserting it replaces the row, the last write wins."""
    client.create_collection(name, dimension=8)
    vecs = H.vectors(6, 8, seed=5)
    client.insert(name, [{"id": i, "vector": vecs[i].tolist(), "v": f"a{i}"} for i in range(3)])
    client.flush(name)  # the first versions are sealed, the replacements are not
    out = {"insert_again": mutation(client.insert(name, [
        {"id": 1, "vector": vecs[3].tolist(), "v": "b1"},
        {"id": 2, "vector": vecs[4].tolist(), "v": "b2"},
        {"id": 2, "vector": vecs[5].tolist(), "v": "c2"}]))}
    out["upsert_twice_in_batch"] = mutation(client.upsert(name, [
        {"id": 7, "vector": vecs[0].tolist(), "v": "x"},
        {"id": 7, "vector": vecs[1].tolist(), "v": "y"}]))
    out["count"] = count(client, name)
    out["rows"] = norm_rows(client.query(name, filter="id >= 0", output_fields=["v"]))
    out["get"] = norm_rows(client.get(name, ids=[1, 2, 7], output_fields=["v"]))
    hits = client.search(name, [vecs[4].tolist()], limit=10, output_fields=["v"])
    out["search_ids"] = sorted(hit["id"] for hit in hits[0])
    out["delete"] = H.delete_count(client.delete(name, ids=[2]))
    out["after_delete"] = norm_rows(client.query(name, filter="id >= 0", output_fields=["v"]))
    return out


def test_repeated_primary_keys_keep_the_last_write(pair):
    lite, rk = pair.run(scenario_repeated_primary_keys)
    assert rk["count"] == 4
    assert rk["search_ids"] == [0, 1, 2, 7]
    assert {r["id"]: r["v"] for r in rk["rows"]} == {0: "a0", 1: "b1", 2: "c2", 7: "y"}
