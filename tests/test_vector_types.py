"""Every vector type: schema and index rules, input forms, stored values as pymilvus returns
them (query/get: ``[bytes]``, search: ``bytes``, sparse: ``{index: value}``) through every
storage stage, validation errors, and exact search checked against numpy."""

from __future__ import annotations

import shutil

import ml_dtypes
import numpy as np
import pyarrow as pa
import pytest
import scipy.sparse as sp

from redkite import DataNotMatchException, DataType, MilvusClient, ParamError
from redkite.engine.exec.sparse_ip import sparse_ip_scores
from redkite.engine.storage.sparse_rows import SparseRows, SparseRowsBuffer
from redkite.vectors.sparse import csr_to_arrow

DIM = 16
RNG = np.random.default_rng(5)
DENSE = {"f16": DataType.FLOAT16_VECTOR, "bf16": DataType.BFLOAT16_VECTOR,
         "i8": DataType.INT8_VECTOR, "bin": DataType.BINARY_VECTOR}
FIELDS = [*DENSE, "sp"]


@pytest.fixture
def client(tmp_path):
    with MilvusClient(str(tmp_path / "v.db")) as c:
        yield c


def schema_all(client, fields=FIELDS, float_vector=False):
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("n", DataType.INT64)
    for name in fields:
        if name == "sp":
            schema.add_field("sp", DataType.SPARSE_FLOAT_VECTOR)
        else:
            schema.add_field(name, DENSE[name], dim=DIM)
    if float_vector:
        schema.add_field("fv", DataType.FLOAT_VECTOR, dim=4)
    return schema


def create(client, name="c", metrics=None, fields=FIELDS, float_vector=False):
    metrics = {"f16": "L2", "bf16": "IP", "i8": "COSINE", "bin": "HAMMING", "sp": "IP",
               **(metrics or {})}
    index = client.prepare_index_params()
    kinds = {"bin": "BIN_FLAT", "sp": "SPARSE_INVERTED_INDEX"}
    for field in fields:
        index.add_index(field, index_type=kinds.get(field, "FLAT"), metric_type=metrics[field])
    if float_vector:
        index.add_index("fv", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema_all(client, fields, float_vector),
                             index_params=index)


# ---- reference values (numpy / ml_dtypes, independent of redkite) ----------------------------
def random_values(n):
    floats = RNG.standard_normal((n, DIM)).astype(np.float32)
    return {
        "f16": floats, "bf16": floats[:, ::-1].copy(),
        "i8": RNG.integers(-128, 128, (n, DIM)).astype(np.int8),
        "bin": RNG.integers(0, 256, (n, DIM // 8)).astype(np.uint8),
        "sp": [{int(k): float(RNG.random() + 0.01) for k in RNG.choice(40, RNG.integers(1, 6),
                                                                       replace=False)}
               for _ in range(n)],
    }


def stored_bytes(field, value):
    if field == "f16":
        return np.asarray(value, np.float32).astype(np.float16).tobytes()
    if field == "bf16":
        return np.asarray(value, np.float32).astype(ml_dtypes.bfloat16).tobytes()
    if field == "i8":
        return np.asarray(value, np.int8).tobytes()
    return bytes(np.asarray(value, np.uint8))


def as_float(field, raw):
    if field == "f16":
        return np.frombuffer(raw, np.float16).astype(np.float64)
    if field == "bf16":
        return np.frombuffer(raw, ml_dtypes.bfloat16).astype(np.float64)
    return np.frombuffer(raw, np.int8).astype(np.float64)


def sparse_rounded(row):
    return {k: float(np.float32(v)) for k, v in sorted(row.items())}


def reference(field, metric, stored, query):
    """{row: distance} by brute force in float64."""
    if field == "sp":
        return {i: sum(v * query.get(k, 0.0) for k, v in row.items())
                for i, row in enumerate(stored) if set(row) & set(query)}
    if field == "bin":
        q = np.unpackbits(np.frombuffer(query, np.uint8)).astype(bool)
        out = {}
        for i, raw in enumerate(stored):
            x = np.unpackbits(np.frombuffer(raw, np.uint8)).astype(bool)
            union = np.count_nonzero(q | x)
            out[i] = float(np.count_nonzero(q ^ x)) if metric == "HAMMING" else (
                1 - np.count_nonzero(q & x) / union if union else 0.0)
        return out
    q = as_float(field, query)
    base = np.stack([as_float(field, raw) for raw in stored])
    if metric == "L2":
        return dict(enumerate(((base - q) ** 2).sum(axis=1)))
    dots = base @ q
    if metric == "COSINE":
        dots = dots / (np.linalg.norm(base, axis=1) * np.linalg.norm(q))
    return dict(enumerate(dots))


def check_hits(hits, expected, k, larger, where=""):
    assert len(hits) == min(k, len(expected)), where
    got = [(h["id"], h["distance"]) for h in hits]
    distances = [d for _, d in got]
    assert distances == sorted(distances, reverse=larger), where
    for pk, distance in got:
        assert distance == pytest.approx(expected[pk], rel=1e-4, abs=1e-3), (where, pk)
    best = sorted(expected.values(), reverse=larger)[:k]
    assert np.allclose(distances, best, rtol=1e-4, atol=1e-3), where


# ---- schema and index rules -------------------------------------------------------------------
def test_describe_shows_each_type_and_index_defaults(client):
    schema = schema_all(client)
    index = client.prepare_index_params()
    for field in FIELDS:
        index.add_index(field)  # AUTOINDEX, default metric per type
    client.create_collection("c", schema=schema, index_params=index)
    fields = {f["name"]: f for f in client.describe_collection("c")["fields"]}
    assert fields["sp"]["params"] == {} and fields["bin"]["params"] == {"dim": DIM}
    assert fields["bf16"]["type"] == DataType.BFLOAT16_VECTOR
    metrics = {f: client.describe_index("c", f)["metric_type"] for f in FIELDS}
    assert metrics == {"f16": "COSINE", "bf16": "COSINE", "i8": "COSINE", "bin": "HAMMING",
                       "sp": "IP"}


@pytest.mark.parametrize("dtype, kwargs, message", [
    (DataType.BINARY_VECTOR, {"dim": 12}, "multiple of 8"),
    (DataType.BINARY_VECTOR, {}, "dim"),
    (DataType.SPARSE_FLOAT_VECTOR, {"dim": 8}, "dim should not be specified"),
    (DataType.FLOAT16_VECTOR, {"dim": 0}, "dim"),
])
def test_bad_vector_schemas(client, dtype, kwargs, message):
    schema = client.create_schema()
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("v", dtype, **kwargs)
    with pytest.raises(ParamError, match=message):
        client.create_collection("c", schema=schema)


@pytest.mark.parametrize("field, index_type, metric, message", [
    ("bin", "BIN_FLAT", "L2", "HAMMING"),
    ("bin", "FLAT", "HAMMING", "BIN_FLAT"),
    ("f16", "FLAT", "HAMMING", "L2"),
    ("i8", "BIN_FLAT", "L2", "FLAT"),
    ("sp", "FLAT", "IP", "SPARSE_INVERTED_INDEX"),
    ("sp", "SPARSE_INVERTED_INDEX", "L2", "IP"),
])
def test_index_type_and_metric_must_fit_the_vector_type(client, field, index_type, metric,
                                                        message):
    schema = schema_all(client, [field])
    index = client.prepare_index_params()
    index.add_index(field, index_type=index_type, metric_type=metric)
    with pytest.raises(ParamError, match=message):
        client.create_collection("c", schema=schema, index_params=index)
    assert not client.has_collection("c")


def test_sparse_index_build_parameters(client):
    schema = schema_all(client, ["sp"])
    index = client.prepare_index_params()
    index.add_index("sp", index_type="SPARSE_INVERTED_INDEX", metric_type="IP",
                    params={"inverted_index_algo": "DAAT_MAXSCORE"})
    client.create_collection("c", schema=schema, index_params=index)
    assert client.describe_index("c", "sp")["inverted_index_algo"] == "DAAT_MAXSCORE"
    for params in ({"inverted_index_algo": "FAST"}, {"drop_ratio_build": 1.5}):
        bad = client.prepare_index_params()
        bad.add_index("sp", index_type="SPARSE_INVERTED_INDEX", metric_type="IP",
                      params=params)
        with pytest.raises(ParamError, match=next(iter(params))):
            client.create_collection("d", schema=schema, index_params=bad)


# ---- round trip through every storage stage ---------------------------------------------------
def input_rows(values, n):
    """Rows using every accepted input form, cycling by row."""
    rows = []
    for i in range(n):
        f, b, i8, bits, sparse = (values[k][i] for k in FIELDS)
        form = i % 3
        rows.append({
            "id": i, "n": i,
            "f16": [f.tolist(), f.astype(np.float16), f.astype(np.float16).tobytes()][form],
            "bf16": [b.astype(np.float64), b.astype(ml_dtypes.bfloat16), b.tolist()][form],
            "i8": [i8, i8.tolist(), i8.tobytes()][form],
            "bin": [bits.tobytes(), bits, bits.tolist()][form],
            "sp": [sparse, list(sparse.items())[::-1],
                   sp.csr_matrix((list(sparse.values()), ([0] * len(sparse), list(sparse))),
                                 shape=(1, 64))][form],
        })
    return rows


def to_stage(stage, client, tmp_path):
    """Move collection ``c`` through a storage stage; return the client to read with."""
    if stage in ("sealed", "compacted"):
        client.flush("c")
    if stage == "compacted":
        client.delete("c", ids=[0])
        client.compact("c")
    if stage == "reopened":
        client.close()
        return MilvusClient(str(tmp_path / "v.db"))
    if stage == "wal_replay":  # the files as a crash would leave them: rows only in the WAL
        shutil.copytree(tmp_path / "v.db", tmp_path / "crashed.db")
        return MilvusClient(str(tmp_path / "crashed.db"))
    return client


@pytest.mark.parametrize("stage", ["growing", "sealed", "compacted", "reopened",
                                   "wal_replay"])
def test_round_trip_as_pymilvus_returns_it(client, tmp_path, stage):
    n = 6
    values = random_values(n)
    create(client)
    client.insert("c", input_rows(values, 3))
    client.flush("c")
    client.insert("c", input_rows(values, n)[3:])
    reader = to_stage(stage, client, tmp_path)
    first = 1 if stage == "compacted" else 0
    rows = reader.query("c", filter="id >= 0", output_fields=["*"])
    assert [r["id"] for r in rows] == list(range(first, n))
    for row in rows:
        i = row["id"]
        for field in DENSE:
            assert row[field] == [stored_bytes(field, values[field][i])], (field, i)
        assert row["sp"] == sparse_rounded(values["sp"][i])
    got = reader.get("c", ids=[n - 1], output_fields=["bin", "sp"])[0]
    assert got["bin"] == [values["bin"][n - 1].tobytes()]
    hit = reader.search("c", data=[values["bin"][2].tobytes()], anns_field="bin", limit=1,
                        output_fields=list(FIELDS))[0][0]
    assert hit["id"] == 2 and hit["distance"] == 0.0
    for field in DENSE:
        assert hit["entity"][field] == stored_bytes(field, values[field][2])
    assert hit["entity"]["sp"] == sparse_rounded(values["sp"][2])
    if reader is not client:
        reader.close()


def test_upsert_replaces_vectors_of_every_type(client):
    values = random_values(4)
    create(client)
    client.insert("c", input_rows(values, 2))
    fresh = random_values(2)
    client.upsert("c", [{**row, "id": 1} for row in input_rows(fresh, 1)])
    row = client.get("c", ids=[1])[0]
    assert row["i8"] == [stored_bytes("i8", fresh["i8"][0])]
    assert row["sp"] == sparse_rounded(fresh["sp"][0])


def test_half_precision_conversion_rounds_like_numpy_and_ml_dtypes(client):
    create(client, fields=["f16", "bf16"])
    halves = np.float32([1 / 3, 65504, -1e-8, 3.14159, 60000.5, -2.5, 0.1, 7] * 2)
    wide = np.float32([1 / 3, 1e30, -1e-30, 3.14159, 3e38, -2.5, 0.1, 7] * 2)
    client.insert("c", [{"id": 0, "n": 0, "f16": halves, "bf16": wide}])
    row = client.get("c", ids=[0])[0]
    assert row["f16"] == [halves.astype(np.float16).tobytes()]
    assert row["bf16"] == [wide.astype(ml_dtypes.bfloat16).tobytes()]


# ---- validation -------------------------------------------------------------------------------
BAD_VALUES = [
    ("f16", [0.5] * (DIM - 1), "16 values, got 15"),
    ("f16", b"\x00" * DIM, "32 bytes"),
    ("f16", np.zeros(DIM, np.int8), "dtype=float16"),
    ("f16", [1e5] * DIM, "float16_vector range"),
    ("f16", [float("nan")] * DIM, "NaN"),
    ("f16", "text", "got a str"),
    ("bf16", np.zeros(DIM, np.float16), "dtype=bfloat16"),
    ("bf16", [float("inf")] * DIM, "NaN or infinity"),
    ("bf16", [[0.5]] * DIM, "non-number"),
    ("i8", [200] * DIM, "out of range"),
    ("i8", [0.5] * DIM, "integers"),
    ("i8", np.zeros(DIM, np.float32), "dtype=int8"),
    ("bin", b"\x01\x02\x03", "2 bytes"),
    ("bin", [256, 0], "out of range"),
    ("bin", np.zeros(DIM, bool), "dtype=uint8"),
    ("sp", {-1: 0.5}, "out of range"),
    ("sp", {2**32 - 1: 0.5}, "less than 2^32-1"),
    ("sp", {2**70: 0.5}, "not an integer in"),
    ("sp", {1: float("nan")}, "not finite"),
    ("sp", {1: -0.5}, "negative"),
    ("sp", {1: 1}, "not a float"),
    ("sp", {1.5: 0.2}, "not an integer"),
    ("sp", [(1, 0.5), (1, 0.2)], "more than once"),
    ("sp", [0.1, 0.2], "pairs"),
    ("sp", "text", "got a str"),
    ("sp", sp.csr_matrix(np.ones((2, 3))), "1 row"),
    ("sp", None, "missed"),
]


@pytest.mark.parametrize("field, bad, message", BAD_VALUES,
                         ids=[f"{f}-{m}" for f, _, m in BAD_VALUES])
def test_bad_values_name_field_and_row_and_change_nothing(client, field, bad, message):
    create(client)
    rows = input_rows(random_values(3), 3)
    rows[1][field] = bad
    with pytest.raises(DataNotMatchException) as info:
        client.insert("c", rows)
    text = str(info.value)
    assert message in text and field in text and "row 1" in text, text
    assert client.query("c", output_fields=["count(*)"])[0]["count(*)"] == 0


def test_sparse_values_parse_like_pymilvus(client):
    create(client, fields=["sp"])
    client.insert("c", [{"id": 0, "n": 0, "sp": {"7": "0.5", np.int64(3): np.float32(0.25)}},
                        {"id": 1, "n": 1, "sp": {}}])
    rows = client.query("c", filter="id >= 0", output_fields=["sp"])
    assert [r["sp"] for r in rows] == [{3: 0.25, 7: 0.5}, {}]


# ---- exact search vs numpy --------------------------------------------------------------------
SEARCHES = [("f16", "L2"), ("f16", "IP"), ("f16", "COSINE"), ("bf16", "L2"), ("bf16", "IP"),
            ("bf16", "COSINE"), ("i8", "L2"), ("i8", "IP"), ("i8", "COSINE"),
            ("bin", "HAMMING"), ("bin", "JACCARD"), ("sp", "IP")]
LARGER = {"IP", "COSINE"}


@pytest.mark.parametrize("field, metric", SEARCHES)
def test_exact_search_matches_numpy(client, field, metric):
    n, k = 240, 7
    values = random_values(n + 3)
    create(client, metrics={field: metric}, fields=[field])
    stored_rows = [{"id": i, "n": i, field: values[field][i]} for i in range(n)]
    client.insert("c", stored_rows[:150])
    client.flush("c")  # one sealed segment plus a growing one
    client.insert("c", stored_rows[150:])
    client.delete("c", ids=[0, 1, 2])
    if field == "sp":
        stored = [sparse_rounded(values["sp"][i]) for i in range(n)]
        queries = [values["sp"][n + q] | values["sp"][q] for q in range(3)]
    else:
        stored = [stored_bytes(field, values[field][i]) for i in range(n)]
        queries = [stored_bytes(field, values[field][n + q]) for q in range(3)]
    for filter_, alive in (("", lambda i: i > 2), ("n % 9 == 0", lambda i: i > 2 and i % 9 == 0)):
        hits = client.search("c", data=queries, anns_field=field, limit=k, filter=filter_)
        for q, query in enumerate(queries):
            expected = reference(field, metric, stored, query)
            expected = {i: d for i, d in expected.items() if alive(i)}
            check_hits(hits[q], expected, k, metric in LARGER, f"{field} {metric} q{q}")


@pytest.mark.parametrize("field", list(DENSE))
def test_search_data_forms_agree(client, field):
    values = random_values(30)
    create(client, fields=[field], metrics={"bf16": "L2", "i8": "L2", "bin": "JACCARD"})
    client.insert("c", [{"id": i, "n": i, field: values[field][i]} for i in range(30)])
    raw = values[field][:2]
    forms = [raw, list(raw), [stored_bytes(field, v) for v in raw]]
    if field in ("f16", "bf16"):
        forms += [raw.tolist(), raw.astype(np.float16 if field == "f16" else ml_dtypes.bfloat16)]
    if field in ("i8", "bin"):
        forms.append(raw.tolist())
    results = [[[h["id"] for h in q] for q in client.search("c", data=form, anns_field=field,
                                                            limit=5)] for form in forms]
    assert all(r == results[0] for r in results) and results[0][0][0] == 0


def test_sparse_search_forms_and_non_matching_rows(client):
    create(client, fields=["sp"])
    client.insert("c", [{"id": 0, "n": 0, "sp": {1: 0.5, 10: 0.25}},
                        {"id": 1, "n": 1, "sp": {3: 1.0, 1: 2.0}},
                        {"id": 2, "n": 2, "sp": {7: 1.0}}, {"id": 3, "n": 3, "sp": {}}])
    forms = [[{1: 1.0, 3: 1.0}], [[(3, 1.0), (1, 1.0)]],
             [sp.csr_matrix(([1.0, 1.0], ([0, 0], [1, 3])), shape=(1, 20))],
             sp.csr_matrix(([1.0, 1.0], ([0, 0], [1, 3])), shape=(1, 20))]
    for form in forms:
        hits = client.search("c", data=form, limit=10, output_fields=["sp"])[0]
        assert [(h["id"], h["distance"]) for h in hits] == [(1, 3.0), (0, 0.5)]
        assert hits[0]["entity"]["sp"] == {1: 2.0, 3: 1.0}
    assert client.search("c", data=[{99: 1.0}, {}], limit=3) == [[], []]


def test_multi_vector_collection_searches_each_field(client):
    values = random_values(20)
    create(client, float_vector=True)
    rows = input_rows(values, 20)
    for i, row in enumerate(rows):
        row["fv"] = [float(i), 0.0, 0.0, 0.0]
    client.insert("c", rows)
    assert client.search("c", data=[[3.0, 0, 0, 0]], anns_field="fv", limit=1)[0][0]["id"] == 3
    metrics = {"f16": "L2", "bf16": "IP", "i8": "COSINE", "bin": "HAMMING", "sp": "IP"}
    for field, metric in metrics.items():
        if field == "sp":
            stored = [sparse_rounded(v) for v in values["sp"]]
            query = values["sp"][4]
        else:
            stored = [stored_bytes(field, v) for v in values[field]]
            query = stored[4]
        hits = client.search("c", data=[query], anns_field=field, limit=3)[0]
        check_hits(hits, reference(field, metric, stored, query), 3, metric in LARGER, field)
    with pytest.raises(ParamError, match="anns_field"):
        client.search("c", data=[[3.0, 0, 0, 0]], limit=1)


@pytest.mark.parametrize("field, data, kwargs, error, message", [
    ("f16", [{1: 0.5}], {}, ParamError, "sparse search data"),
    ("sp", [[0.5] * DIM], {}, ParamError, "sparse_float_vector"),
    ("fv", [b"\x00" * 16], {}, ParamError, "not bytes"),
    ("bin", [b"\x00"], {}, DataNotMatchException, "2 bytes"),
    ("bin", [b"\x00\x00"], {"search_params": {"metric_type": "L2"}}, ParamError, "not match"),
    ("f16", [[0.5] * DIM], {"search_params": {"metric_type": "HAMMING"}}, ParamError,
     "not match"),
    ("sp", [{1: 0.5}], {"search_params": {"params": {"drop_ratio_search": 1.2}}}, ParamError,
     "drop_ratio_search"),
    ("bin", [b"\x00\x00"], {"search_params": {"params": {"nprobe": 8}}}, ParamError,
     "nprobe"),
])
def test_bad_search_requests(client, field, data, kwargs, error, message):
    create(client, float_vector=True)
    with pytest.raises(error, match=message):
        client.search("c", data=data, anns_field=field, limit=3, **kwargs)


def test_sparse_search_accepts_zero_drop_ratio(client):
    create(client, fields=["sp"])
    client.insert("c", [{"id": 0, "n": 0, "sp": {1: 0.5}}])
    hits = client.search("c", data=[{1: 2.0}], limit=1,
                         search_params={"params": {"drop_ratio_search": 0}})
    assert hits[0][0]["distance"] == 1.0


# ---- CSR building blocks ----------------------------------------------------------------------
def test_sparse_rows_from_sliced_arrow_and_take():
    indptr, indices = np.array([0, 2, 2, 5, 6]), np.array([1, 4, 0, 2, 9, 3], np.uint32)
    values = np.arange(6, dtype=np.float32)
    column = csr_to_arrow(indptr, indices, values)
    rows = SparseRows.from_arrow(pa.chunked_array([column.slice(1, 3)]))
    assert rows.indptr.tolist() == [0, 0, 3, 4] and rows.indices.tolist() == [0, 2, 9, 3]
    taken = rows.take(np.array([2, 0, 1]))
    assert taken.indptr.tolist() == [0, 1, 1, 4] and taken.values.tolist() == [5, 2, 3, 4]


def test_sparse_rows_buffer_views_survive_appends():
    buffer = SparseRowsBuffer()
    first = SparseRows(np.array([0, 2]), np.array([1, 3], np.uint32), np.float32([1, 2]))
    buffer.append(first)
    view = buffer.view()
    for _ in range(600):  # forces several reallocations
        buffer.append(SparseRows(np.array([0, 1]), np.array([5], np.uint32), np.float32([9])))
    assert len(view) == 1 and view.values.tolist() == [1, 2]
    assert len(buffer.view()) == 601 and buffer.view().nnz == 602


def test_sparse_ip_kernel_matches_dense_product():
    dense = RNG.random((50, 30)) * (RNG.random((50, 30)) < 0.2)
    queries = RNG.random((4, 30)) * (RNG.random((4, 30)) < 0.3)

    def csr(matrix):
        m = sp.csr_matrix(matrix.astype(np.float32))
        return SparseRows(m.indptr.astype(np.int64), m.indices.astype(np.uint32), m.data)

    scores = sparse_ip_scores(csr(queries), csr(dense))
    expected = queries.astype(np.float32) @ dense.astype(np.float32).T
    overlap = (queries > 0).astype(int) @ (dense > 0).astype(int).T > 0
    assert np.array_equal(np.isfinite(scores), overlap)
    assert np.allclose(scores[overlap], expected[overlap], rtol=1e-5)


@pytest.mark.parametrize("use_table", [False, True], ids=["bitwise_count", "table"])
@pytest.mark.parametrize("width", [1, 3, 4, 8, 16])
def test_binary_kernel_matches_numpy_for_every_word_size(monkeypatch, use_table, width):
    from redkite.engine.exec import binary
    from redkite.vectors.norms import popcount

    if use_table:
        monkeypatch.delattr(np, "bitwise_count", raising=False)
    monkeypatch.setattr(binary, "BLOCK_BYTES", 64)  # several row blocks
    rows = RNG.integers(0, 256, (37, width)).astype(np.uint8)
    rows[5] = 0
    queries = np.vstack([rows[:2], np.zeros((1, width), np.uint8)])
    bits = lambda m: np.unpackbits(m, axis=1).astype(bool)  # noqa: E731
    r, q = bits(rows), bits(queries)
    counts = lambda m: popcount(m).sum(axis=1).astype(np.float32)  # noqa: E731
    hamming = binary.binary_distances(queries, counts(queries), rows, counts(rows), "HAMMING")
    assert np.array_equal(hamming, (q[:, None] ^ r[None]).sum(axis=2))
    jaccard = binary.binary_distances(queries, counts(queries), rows, counts(rows), "JACCARD")
    union = (q[:, None] | r[None]).sum(axis=2)
    common = (q[:, None] & r[None]).sum(axis=2)
    expected = np.where(union > 0, 1 - common / np.maximum(union, 1), 0.0)
    assert np.allclose(jaccard, expected) and jaccard[2, 5] == 0.0


def test_half_precision_search_in_blocks_gives_the_same_hits(client, monkeypatch):
    from redkite.engine.exec import search

    values = random_values(50)
    create(client, fields=["f16"])
    client.insert("c", [{"id": i, "n": i, "f16": values["f16"][i]} for i in range(50)])
    query = [values["f16"][49].tolist()]
    whole = client.search("c", data=query, limit=10)[0]
    monkeypatch.setattr(search, "BLOCK_ROWS", 7)
    blocked = client.search("c", data=query, limit=10)[0]
    assert [(h["id"], h["distance"]) for h in blocked] == [(h["id"], h["distance"])
                                                          for h in whole]


def test_sparse_drop_ratio_search_ignores_the_weakest_query_terms(tmp_path):
    from redkite import MilvusClient as Client
    with Client(str(tmp_path / "s.db")) as c:
        schema = c.create_schema()
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("sp", DataType.SPARSE_FLOAT_VECTOR)
        index = c.prepare_index_params()
        index.add_index("sp", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
        c.create_collection("s", schema=schema, index_params=index)
        c.insert("s", [{"id": 1, "sp": {1: 1.0}}, {"id": 2, "sp": {2: 1.0}},
                       {"id": 3, "sp": {3: 1.0}}])
        query = [{1: 0.1, 2: 0.5, 3: 0.9}]
        every = c.search("s", query, anns_field="sp", limit=3)
        assert [h["id"] for h in every[0]] == [3, 2, 1]
        dropped = c.search("s", query, anns_field="sp", limit=3,
                           search_params={"params": {"drop_ratio_search": 0.5}})
        assert [h["id"] for h in dropped[0]] == [3, 2]
