"""Bad input: same error class as Lite, redkite error carries code + message,
and the data is unchanged afterwards (count(*) and the touched rows).

Error scenarios run against the read-only ``strict`` collection (full schema,
dynamic fields off, 50 rows).  Results compare the count *delta* so one wrongly
accepted write does not cascade into the following tests.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

from . import helpers as H
from .helpers import capture, count, norm_rows


def good_row(pk: int = 1000) -> dict:
    return {
        "id": pk, "b": True, "i8": 1, "i16": 2, "i32": 3, "i64": 4, "f": 0.5, "d": 0.25,
        "s": "ok", "j": {"a": 1}, "ai": [1, 2], "av": ["x"], "n": None, "dv": "set",
        "v": [0.1] * H.DIM,
    }


def with_(pk: int, **changes: Any) -> dict:
    r = good_row(pk)
    for k, v in changes.items():
        if v is _DROP:
            r.pop(k)
        else:
            r[k] = v
    return r


_DROP = object()

Q = [[0.5] * H.DIM]

# name -> (operation(client, coll), ids whose rows must be unchanged/absent, mentions)
ERRORS: dict[str, tuple[Callable[[Any, str], Any], list, list[str]]] = {
    # --- insert: schema violations
    "insert_wrong_dim": (lambda c, n: c.insert(n, [with_(1001, v=[0.1] * (H.DIM - 1))]), [1001], ["dim"]),
    "insert_wrong_type_int": (lambda c, n: c.insert(n, [with_(1002, i32="zz")]), [1002], ["i32"]),
    "insert_vector_as_string": (lambda c, n: c.insert(n, [with_(1003, v="abc")]), [1003], ["v"]),
    "insert_pk_wrong_type": (lambda c, n: c.insert(n, [with_(0, id="abc")]), [], ["id"]),
    "insert_missing_field": (lambda c, n: c.insert(n, [with_(1004, i32=_DROP)]), [1004], ["i32"]),
    "insert_missing_vector": (lambda c, n: c.insert(n, [with_(1005, v=_DROP)]), [1005], ["v"]),
    "insert_missing_pk": (lambda c, n: c.insert(n, [with_(1006, id=_DROP)]), [], ["id"]),
    "insert_unknown_field_dynamic_off": (lambda c, n: c.insert(n, [with_(1007, extra=1)]), [1007], ["extra"]),
    "insert_varchar_too_long": (lambda c, n: c.insert(n, [with_(1008, s="x" * 33)]), [1008], ["s"]),
    "insert_int8_out_of_range": (lambda c, n: c.insert(n, [with_(1009, i8=300)]), [1009], ["i8"]),
    "insert_int16_out_of_range": (lambda c, n: c.insert(n, [with_(1010, i16=40000)]), [1010], ["i16"]),
    "insert_array_over_capacity": (lambda c, n: c.insert(n, [with_(1011, ai=list(range(9)))]), [1011], ["ai"]),
    "insert_null_not_nullable": (lambda c, n: c.insert(n, [with_(1012, i32=None)]), [1012], ["i32"]),
    "insert_batch_one_bad_row": (
        lambda c, n: c.insert(n, [good_row(1013), good_row(1014), with_(1015, v=[0.1] * 3), good_row(1016)]),
        [1013, 1014, 1015, 1016], []),
    "insert_unknown_collection": (lambda c, n: c.insert(n + "_nope", [good_row(1017)]), [1017], ["_nope"]),
    "insert_unknown_partition": (lambda c, n: c.insert(n, [good_row(1018)], partition_name="nope"),
                                 [1018], ["nope"]),
    # --- upsert must not clobber the existing row on error
    "upsert_wrong_dim": (lambda c, n: c.upsert(n, [with_(5, v=[0.1] * 3)]), [5], ["dim"]),
    "upsert_varchar_too_long": (lambda c, n: c.upsert(n, [with_(6, s="y" * 40)]), [6], ["s"]),
    # --- reads
    "query_unknown_collection": (lambda c, n: c.query(n + "_nope", filter="id > 0"), [], ["_nope"]),
    "get_unknown_collection": (lambda c, n: c.get(n + "_nope", ids=[1]), [], ["_nope"]),
    "query_malformed_filter": (lambda c, n: c.query(n, filter="id >>> 3"), [], []),
    "query_unknown_field_in_filter": (lambda c, n: c.query(n, filter="nope > 3"), [], ["nope"]),
    "query_ids_and_filter": (lambda c, n: c.query(n, filter="id > 3", ids=[1]), [], []),
    "search_limit_zero": (lambda c, n: c.search(n, data=Q, limit=0), [], ["limit"]),
    "search_wrong_dim": (lambda c, n: c.search(n, data=[[0.5] * (H.DIM - 3)], limit=3), [], ["dim"]),
    "search_malformed_filter": (lambda c, n: c.search(n, data=Q, limit=3, filter="id >>> 3"), [], []),
    "search_flat_vector": (lambda c, n: c.search(n, data=[0.5] * H.DIM, limit=3), [], []),
    # --- delete
    "delete_ids_and_filter": (lambda c, n: c.delete(n, ids=[1, 2], filter="id < 3"), [1, 2], []),
    "delete_malformed_filter": (lambda c, n: c.delete(n, filter="id >>> 3"), [3], []),
    "delete_unknown_collection": (lambda c, n: c.delete(n + "_nope", ids=[1]), [], ["_nope"]),
}


def scenario_error(client, name, key, shared):
    op, ids, _ = ERRORS[key]
    before = count(client, shared)
    res = capture(op, client, shared)
    out = {"error": res, "delta": count(client, shared) - before}
    if ids:
        out["rows"] = norm_rows(client.get(shared, ids=ids, output_fields=["*"]))
    return out


@pytest.mark.parametrize("key", list(ERRORS))
def test_error(pair, key):
    lite, rk = pair.run(scenario_error, key, shared="strict")
    assert isinstance(lite["error"], H.Err), f"Lite accepted {key}: {lite['error']}"
    assert lite["delta"] == 0
    if not pair.selftest:
        H.check_redkite_error(rk["error"], mentions=ERRORS[key][2], where=key)
    assert rk["delta"] == 0, f"{key}: redkite changed the row count by {rk['delta']}"


def test_client_still_usable_after_errors(pair):
    """After a burst of failures both databases still answer the same."""
    def scenario(client, name, shared):
        for key in ("insert_wrong_dim", "query_malformed_filter", "insert_varchar_too_long"):
            capture(ERRORS[key][0], client, shared)
        client.insert(shared, [good_row(2000)])
        out = {"count": count(client, shared),
               "row": norm_rows(client.get(shared, ids=[2000]))}
        client.delete(shared, ids=[2000])
        out["count_after"] = count(client, shared)
        return out

    pair.run(scenario, shared="strict")
