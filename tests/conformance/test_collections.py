"""Collection lifecycle and metadata: Lite vs redkite."""

from __future__ import annotations

from typing import Any

from . import helpers as H
from .helpers import Err, capture, count, datatype_of, plain


# ---------------------------------------------------------------- normalisers


def describe_key(d: Any) -> Any:
    """The parts of describe_collection() both implementations must agree on."""
    if isinstance(d, Err):
        return d
    fields = []
    for f in d["fields"]:
        et = f.get("element_type")
        fields.append({
            "name": f["name"],
            "type": int(f["type"]),
            "is_primary": bool(f.get("is_primary", False)),
            "auto_id": bool(f.get("auto_id", False)),
            "nullable": bool(f.get("nullable", False)),
            "default_value": plain(f.get("default_value")),
            "element_type": None if et is None else int(et),
            "params": plain(dict(f.get("params") or {})),
        })
    return {
        "collection_name": d["collection_name"],
        "auto_id": bool(d["auto_id"]),
        "enable_dynamic_field": bool(d["enable_dynamic_field"]),
        "description": d.get("description", ""),
        "num_partitions": d.get("num_partitions"),
        "fields": fields,
    }


def check_describe(lite: Any, rk: Any) -> None:
    """Like assert_same, but field params compare as "Lite's params ⊆ redkite's".

    (Lite drops ``max_length`` from ARRAY<VARCHAR> params; redkite may keep it.)
    """
    def strip(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: ("<params>" if k == "params" else strip(v)) for k, v in x.items()}
        if isinstance(x, list):
            return [strip(v) for v in x]
        return x

    H.assert_same(strip(lite), strip(rk))

    def walk(a: Any, b: Any, path: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            if "params" in a:
                for k, v in a["params"].items():
                    assert k in b["params"], f"{path}.params: redkite lacks {k!r}: {b['params']}"
                    H.compare(v, b["params"][k], f"{path}.params.{k}")
            for k in a:
                if k != "params" and k in b:
                    walk(a[k], b[k], f"{path}.{k}")
        elif isinstance(a, list) and isinstance(b, list):
            for i, (x, y) in enumerate(zip(a, b)):
                walk(x, y, f"{path}[{i}]")

    walk(lite, rk, "$")


def index_key(d: Any) -> Any:
    if d is None or isinstance(d, Err):
        return d
    return {k: d.get(k) for k in ("index_type", "metric_type", "field_name", "index_name")}


def load_state(r: Any) -> Any:
    if isinstance(r, Err):
        return r
    st = r["state"]
    return getattr(st, "name", str(st))


# ------------------------------------------------------------------ scenarios


def scenario_quick_setup(client, name):
    client.create_collection(name, dimension=8)
    return {
        "describe": describe_key(client.describe_collection(name)),
        "has": client.has_collection(name),
        "listed": name in client.list_collections(),
        "load_state": load_state(client.get_load_state(name)),
        "indexes": plain(client.list_indexes(name)),
        "index": index_key(client.describe_index(name, "vector")),
    }


def test_quick_setup(pair):
    lite, _ = pair.run(scenario_quick_setup, check=_check_with_describe)
    assert lite["describe"]["enable_dynamic_field"] is True


def _check_with_describe(lite: Any, rk: Any) -> None:
    check_describe(lite["describe"], rk["describe"])
    H.assert_same({k: v for k, v in lite.items() if k != "describe"},
                  {k: v for k, v in rk.items() if k != "describe"})


def scenario_quick_setup_options(client, name):
    out = {}
    client.create_collection(name + "_l2", dimension=4, metric_type="L2")
    out["l2"] = index_key(client.describe_index(name + "_l2", "vector"))
    client.create_collection(name + "_ip", dimension=4, metric_type="IP", auto_id=True)
    out["ip_describe"] = describe_key(client.describe_collection(name + "_ip"))
    out["ip_index"] = index_key(client.describe_index(name + "_ip", "vector"))
    client.create_collection(name + "_str", dimension=4, id_type="string", max_length=64,
                             primary_field_name="pk", vector_field_name="emb")
    out["str_describe"] = describe_key(client.describe_collection(name + "_str"))
    out["str_indexes"] = plain(client.list_indexes(name + "_str"))
    out["str_index"] = index_key(client.describe_index(name + "_str", "emb"))
    return out


def test_quick_setup_options(pair):
    def check(lite, rk):
        for k in ("ip_describe", "str_describe"):
            check_describe(lite[k], rk[k])
        H.assert_same({k: v for k, v in lite.items() if "describe" not in k},
                      {k: v for k, v in rk.items() if "describe" not in k})

    pair.run(scenario_quick_setup_options, check=check)


def scenario_custom_schema(client, name, metric):
    DT = datatype_of(client)
    schema = H.full_schema(client, DT)
    ip = client.prepare_index_params()
    ip.add_index("v", index_type="FLAT", metric_type=metric)
    client.create_collection(name, schema=schema, index_params=ip)
    return {
        "describe": describe_key(client.describe_collection(name)),
        "indexes": plain(client.list_indexes(name)),
        "index": index_key(client.describe_index(name, "v")),
        "load_state": load_state(client.get_load_state(name)),
        "count": count(client, name),
    }


def test_custom_schema_l2(pair):
    pair.run(scenario_custom_schema, "L2", check=_check_with_describe)


def test_custom_schema_ip(pair):
    pair.run(scenario_custom_schema, "IP", check=_check_with_describe)


def test_custom_schema_cosine(pair):
    pair.run(scenario_custom_schema, "COSINE", check=_check_with_describe)


def scenario_list_has_drop(client, name):
    a, b = name + "_a", name + "_b"
    client.create_collection(a, dimension=4)
    client.create_collection(b, dimension=4)
    out = {"listed_both": {a, b} <= set(client.list_collections()),
           "has_a": client.has_collection(a)}
    out["drop_a"] = client.drop_collection(a)
    out["has_a_after"] = client.has_collection(a)
    out["listed_a_after"] = a in client.list_collections()
    out["listed_b_after"] = b in client.list_collections()
    out["drop_missing"] = capture(client.drop_collection, a)  # Milvus: no error
    out["load_state_missing"] = load_state(capture(client.get_load_state, a))
    out["has_missing"] = client.has_collection(name + "_never")
    return out


def test_list_has_drop(pair):
    pair.run(scenario_list_has_drop)


def scenario_rename(client, name):
    client.create_collection(name, dimension=4)
    client.insert(name, [{"id": i, "vector": [float(i), 1.0, 0.0, 0.0]} for i in range(5)])
    new = name + "_renamed"
    out = {"rename": client.rename_collection(name, new)}
    out["has_old"] = client.has_collection(name)
    out["has_new"] = client.has_collection(new)
    out["listed"] = sorted(n for n in client.list_collections() if n.startswith(name))
    out["describe_name"] = client.describe_collection(new)["collection_name"]
    # Lite releases a renamed collection (see test_lite_quirks); load is a no-op elsewhere
    client.load_collection(new)
    out["count"] = count(client, new)
    out["rows"] = H.norm_rows(client.query(new, filter="id >= 3", output_fields=["id"]))
    out["old_insert"] = capture(client.insert, name, [{"id": 9, "vector": [0.0] * 4}])
    return out


def test_rename_collection(pair):
    pair.run(scenario_rename)


def scenario_truncate(client, name):
    client.create_collection(name, dimension=4)
    client.insert(name, [{"id": i, "vector": [float(i), 1.0, 0.0, 0.0], "k": i} for i in range(20)])
    out = {"before": count(client, name)}
    out["truncate"] = client.truncate_collection(name)
    out["after"] = count(client, name)
    out["query_after"] = H.norm_rows(client.query(name, filter="id >= 0", output_fields=["id"]))
    out["describe"] = describe_key(client.describe_collection(name))
    out["insert_again"] = plain(dict(client.insert(name, [{"id": 1, "vector": [1.0, 0, 0, 0]}])))
    out["after_insert"] = count(client, name)
    out["stats"] = plain(client.get_collection_stats(name))
    return out


def test_truncate_collection(pair):
    pair.run(scenario_truncate)


def scenario_stats(client, name):
    client.create_collection(name, dimension=4)
    rows = [{"id": i, "vector": [float(i % 7), 1.0, 0.0, float(i % 3)], "grp": i % 5} for i in range(50)]
    out = {"empty": plain(client.get_collection_stats(name))}
    client.insert(name, rows)
    out["inserted"] = plain(client.get_collection_stats(name))
    out["del_ids"] = H.delete_count(client.delete(name, ids=list(range(10))))
    out["del_filter"] = H.delete_count(client.delete(name, filter="grp == 1"))
    out["after_delete"] = plain(client.get_collection_stats(name))
    out["count"] = count(client, name)
    client.upsert(name, [{"id": 0, "vector": [0.0, 1.0, 0.0, 0.0], "grp": 9}])
    out["after_upsert"] = plain(client.get_collection_stats(name))
    return out


def test_get_collection_stats(pair):
    lite, _ = pair.run(scenario_stats)
    assert lite["after_delete"]["row_count"] == 32


def scenario_collection_errors(client, name):
    client.create_collection(name, dimension=4)
    return {
        "exists": capture(client.create_collection, name, dimension=4),
        "no_dimension": capture(client.create_collection, name + "_nodim"),
        "bad_id_type": capture(client.create_collection, name + "_f", dimension=4, id_type="float"),
        "describe_missing": capture(client.describe_collection, name + "_missing"),
        "still_there": client.has_collection(name),
    }


def test_collection_errors(pair):
    lite, rk = pair.run(scenario_collection_errors)
    H.check_redkite_error(rk["exists"], mentions=["exist"], where="exists")
    H.check_redkite_error(rk["describe_missing"], mentions=["_missing"], where="describe_missing")

