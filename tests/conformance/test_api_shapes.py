"""Result-object ergonomics users rely on (pymilvus 3.0.2 shapes), indexes, aliases,
extreme values."""

from __future__ import annotations

from . import helpers as H
from .helpers import capture, count, norm_rows, norm_search, plain

BIG = 2 ** 63 - 1
SMALL = -(2 ** 63)


def scenario_hit_accessors(client, name):
    client.create_collection(name, dimension=2, metric_type="IP")
    client.insert(name, [{"id": BIG, "vector": [1.0, 0.0], "x": 2 ** 62 + 1},
                         {"id": SMALL, "vector": [0.0, 1.0], "x": -5}])
    res = client.search(name, data=[[1.0, 0.0], [0.0, 1.0]], limit=2, output_fields=["x"])
    h = res[0][0]
    return {
        "len": [len(res), len(res[0]), len(res[1])],
        "is_list": [isinstance(res, list), isinstance(res[0], list), isinstance(h, dict)],
        "keys": sorted(h.keys()),
        "getitem_id": plain(h["id"]),
        "getitem_distance": plain(h["distance"]),
        "getitem_entity": plain(h["entity"]),
        "fallthrough": plain(h["x"]),            # hit['f'] falls through to entity
        "get_fallthrough": plain(h.get("x")),
        "attr_id": plain(h.id),
        "attr_pk": plain(h.pk),
        "attr_distance": plain(h.distance),
        "attr_score": plain(h.score),
        "attr_fields": plain(h.fields),
        "to_dict": plain(h.to_dict()),
        "hits_ids": plain(res[0].ids),
        "hits_distances": plain(res[0].distances),
        "all": norm_search(res, metric="IP"),
    }


def test_hit_accessors(pair):
    lite, rk = pair.run(scenario_hit_accessors)
    assert lite["attr_id"] == BIG


def scenario_mutation_result_shape(client, name):
    client.create_collection(name, dimension=2)
    ins = client.insert(name, [{"id": i, "vector": [1.0, float(i)]} for i in range(3)])
    ups = client.upsert(name, [{"id": 1, "vector": [1.0, 1.0]}])
    return {
        "insert_is_dict": isinstance(ins, dict),
        "insert_keys": sorted(set(ins.keys()) - {"cost"}),
        "insert_ids": plain(ins["ids"]),
        "insert_count": ins["insert_count"],
        "upsert_keys": sorted(set(ups.keys()) - {"cost"}),
        "upsert_count": ups["upsert_count"],
        "query_is_list": isinstance(client.query(name, filter="id >= 0"), list),
        "get_is_list": isinstance(client.get(name, ids=[0]), list),
    }


def test_mutation_result_shape(pair):
    pair.run(scenario_mutation_result_shape)


def scenario_extreme_ints(client, name):
    client.create_collection(name, dimension=2)
    client.insert(name, [{"id": BIG, "vector": [1.0, 0.0], "x": 2 ** 62 + 1},
                         {"id": SMALL, "vector": [0.0, 1.0], "x": -5},
                         {"id": 0, "vector": [1.0, 1.0], "x": 2 ** 53 + 1}])
    return {
        "get": norm_rows(client.get(name, ids=[BIG, SMALL])),
        "eq_filter": norm_rows(client.query(name, filter=f"id == {BIG}", output_fields=["x"])),
        "dyn_filter": norm_rows(client.query(name, filter=f"x == {2 ** 53 + 1}", output_fields=["x"])),
        "dyn_big": norm_rows(client.query(name, filter=f"x == {2 ** 62 + 1}", output_fields=["x"])),
        "range": norm_rows(client.query(name, filter=f"id < {SMALL + 1}", output_fields=["id"])),
        "delete": H.delete_count(client.delete(name, ids=[SMALL])),
        "count": count(client, name),
    }


def test_extreme_int64_values(pair):
    pair.run(scenario_extreme_ints)


def scenario_unicode_and_quotes(client, name):
    client.create_collection(name, dimension=2, id_type="string", max_length=64)
    rows = [{"id": "plain", "vector": [1.0, 0.0], "t": "ascii"},
            {"id": "üñí©ødé", "vector": [0.0, 1.0], "t": "日本語テキスト"},
            {"id": 'dq"x', "vector": [1.0, 1.0], "t": "emoji 🚀"}]
    client.insert(name, rows)
    return {
        "all": norm_rows(client.query(name, filter="id != ''", output_fields=["t"])),
        "eq": norm_rows(client.query(name, filter="id == 'üñí©ødé'", output_fields=["t"])),
        "like": norm_rows(client.query(name, filter="t like '日本%'", output_fields=["t"])),
        "get_dq": norm_rows(client.get(name, ids=['dq"x'], output_fields=["t"])),
        "escaped_filter": norm_rows(client.query(name, filter="id == 'dq\"x'", output_fields=["t"])),
    }


def test_unicode_and_quotes(pair):
    pair.run(scenario_unicode_and_quotes)


def scenario_index_lifecycle(client, name):
    DT = H.datatype_of(client)
    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    s.add_field("pk", DT.INT64, is_primary=True)
    s.add_field("v", DT.FLOAT_VECTOR, dim=2)
    client.create_collection(name, schema=s)
    out = {"indexes_before": plain(client.list_indexes(name)),
           "describe_before": client.describe_index(name, "v")}
    client.insert(name, [{"pk": i, "v": [1.0, float(i)]} for i in range(5)])
    ip = client.prepare_index_params()
    ip.add_index("v", index_type="FLAT", metric_type="IP")
    out["create_index"] = client.create_index(name, ip)
    client.load_collection(name)
    out["indexes"] = plain(client.list_indexes(name))
    d = client.describe_index(name, "v")
    out["describe"] = {k: d.get(k) for k in ("index_type", "metric_type", "field_name", "index_name")}
    out["load_state"] = client.get_load_state(name)["state"].name
    out["search"] = norm_search(client.search(name, data=[[1.0, 1.0]], limit=2, output_fields=["pk"]), pk="pk",
                                metric="IP")
    out["drop_loaded"] = capture(client.drop_index, name, "v")
    out["release"] = client.release_collection(name)
    out["state_released"] = client.get_load_state(name)["state"].name
    out["query_released"] = capture(client.query, name, filter="pk >= 0")
    out["drop_index"] = client.drop_index(name, "v")
    out["indexes_after"] = plain(client.list_indexes(name))
    return out


def test_index_lifecycle(pair):
    lite, rk = pair.run(scenario_index_lifecycle)
    assert lite["indexes"] == ["v"]


def scenario_aliases(client, name):
    client.create_collection(name, dimension=2)
    client.create_collection(name + "_b", dimension=2)
    client.insert(name, [{"id": 1, "vector": [1.0, 0.0]}])
    client.insert(name + "_b", [{"id": 2, "vector": [1.0, 0.0]}, {"id": 3, "vector": [0.0, 1.0]}])
    alias = name + "_al"
    out = {"create": client.create_alias(name, alias)}
    # db_name is optional in both (pymilvus adds it when the server reports it)
    d = plain(client.describe_alias(alias))
    out["describe"] = {k: d[k] for k in ("alias", "collection_name")}
    la = plain(client.list_aliases(name))
    out["list"] = {k: la[k] for k in ("aliases", "collection_name")}
    out["query_via_alias"] = norm_rows(client.query(alias, filter="id >= 0", output_fields=["id"]))
    out["insert_via_alias"] = plain(dict(client.insert(alias, [{"id": 9, "vector": [0.5, 0.5]}])))["insert_count"]
    out["count"] = count(client, name)
    out["alter"] = client.alter_alias(name + "_b", alias)
    out["query_after_alter"] = norm_rows(client.query(alias, filter="id >= 0", output_fields=["id"]))
    out["drop"] = client.drop_alias(alias)
    out["query_dropped"] = capture(client.query, alias, filter="id >= 0")
    return out


def test_aliases(pair):
    pair.run(scenario_aliases)
