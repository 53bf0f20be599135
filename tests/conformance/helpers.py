"""Shared helpers for the conformance suite.

A *scenario* is a plain function ``scenario_x(client, name) -> result`` that
drives a ``MilvusClient`` (pymilvus on milvus-lite, or redkite) and returns a
comparable structure built from plain Python values, :class:`Err` (a captured
exception) and normalised search/query results.  :func:`assert_same` compares
the Lite result with the redkite result:

* floats with tolerance (``abs 1e-4`` / ``rel 1e-5``), bools never equal ints;
* query rows sorted by primary key; search hits as ``{"id", "distance",
  "entity"}``, tie-tolerant inside one query;
* errors by class *name*: the class Lite raised must appear in the MRO of the
  class redkite raised (redkite may be more specific: ``FilterSyntaxError`` is a
  ``MilvusException``); both must be ``MilvusException`` subclasses and the
  redkite error must carry a nonzero int ``code`` and an informative message.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np

# --------------------------------------------------------------------------
# exception capture

MILVUS_BASES: list[type] = []
try:  # pymilvus is always installed in this venv
    from pymilvus.exceptions import MilvusException as _PyMilvusException

    MILVUS_BASES.append(_PyMilvusException)
except Exception:  # pragma: no cover
    pass


def register_milvus_base(cls: type) -> None:
    if cls not in MILVUS_BASES:
        MILVUS_BASES.append(cls)


@dataclass
class Err:
    """A captured exception, comparable across implementations."""

    name: str
    mro_names: tuple[str, ...]
    code: Any
    message: str
    module: str
    is_milvus: bool
    exc: BaseException | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, exc: BaseException) -> "Err":
        message = getattr(exc, "message", None)
        if not isinstance(message, str) or not message:
            message = str(exc)
        return cls(
            name=type(exc).__name__,
            mro_names=tuple(c.__name__ for c in type(exc).__mro__),
            code=getattr(exc, "code", None),
            message=message,
            module=type(exc).__module__,
            is_milvus=any(isinstance(exc, b) for b in MILVUS_BASES),
            exc=exc,
        )

    def __str__(self) -> str:  # pragma: no cover - diagnostics only
        return f"{self.name}(code={self.code!r}, message={self.message[:200]!r})"


def capture(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn``; return its value, or an :class:`Err` if it raised."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - we want every failure
        return Err.of(exc)


# set by conftest in REDKITE_CONFORMANCE_SELFTEST mode (Lite's messages are terse)
RELAX_MESSAGES = False


def check_redkite_error(err: Any, *, mentions: Iterable[str] = (), where: str = "") -> None:
    """The redkite side of an error: a MilvusException with code and message."""
    assert isinstance(err, Err), f"{where}: redkite did not raise, returned {short(err)}"
    assert err.is_milvus, f"{where}: redkite raised {err.name} (not a MilvusException): {err.message}"
    if RELAX_MESSAGES:
        return
    assert isinstance(err.code, int) and not isinstance(err.code, bool) and err.code != 0, (
        f"{where}: redkite {err.name}.code must be a nonzero int, got {err.code!r}")
    assert len(err.message.strip()) >= 8, f"{where}: uninformative redkite message {err.message!r}"
    low = err.message.lower()
    for token in mentions:
        assert token.lower() in low, (
            f"{where}: redkite message should mention {token!r}: {err.message!r}")


def check_same_error(lite: Err, rk: Any, *, where: str = "") -> None:
    assert lite.is_milvus, f"{where}: lite raised non-Milvus {lite.name}: {lite.message}"
    assert isinstance(rk, Err), (
        f"{where}: lite raised {lite.name}({lite.message[:120]!r}) but redkite returned {short(rk)}")
    assert lite.name in rk.mro_names, (
        f"{where}: error class differs: lite {lite.name}({lite.message[:120]!r}) "
        f"vs redkite {rk.name}({rk.message[:120]!r}); redkite MRO {rk.mro_names}")
    check_redkite_error(rk, where=where)


# --------------------------------------------------------------------------
# normalisation


def plain(x: Any) -> Any:
    """Convert SDK result objects into plain comparable Python values."""
    if isinstance(x, Err):
        return x
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, enum.Enum):
        return x.name
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return [plain(v) for v in x.tolist()]
    if isinstance(x, (int, float)):
        return x
    if isinstance(x, bytes):
        return x
    if isinstance(x, dict):
        return {str(k): plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if hasattr(x, "WhichOneof"):  # protobuf ValueField (default_value in describe)
        kind = x.WhichOneof("data")
        return None if kind is None else plain(getattr(x, kind))
    if hasattr(x, "__iter__") or (hasattr(x, "__len__") and hasattr(x, "__getitem__")):
        return [plain(v) for v in x]  # e.g. protobuf RepeatedScalarContainer (Lite insert ids)
    return x


NUMPY_TYPES = (np.generic, np.ndarray)


def assert_builtin_types(x: Any, where: str = "", path: str = "$") -> None:
    """Results must hold Python builtins (like pymilvus), never numpy scalars."""
    if isinstance(x, NUMPY_TYPES):
        raise AssertionError(f"{where}: numpy value {type(x).__name__} at {path}: {x!r}")
    if isinstance(x, dict):
        for k, v in x.items():
            assert_builtin_types(v, where, f"{path}.{k}")
    elif isinstance(x, (list, tuple)):
        for i, v in enumerate(x):
            assert_builtin_types(v, where, f"{path}[{i}]")


def delete_count(res: Any) -> int:
    """Lite returns a list of pks, Milvus >= 2.3.2 {'delete_count': n}."""
    if isinstance(res, Err):
        raise AssertionError(f"delete failed: {res}")
    if isinstance(res, list):
        return len(res)
    return int(res["delete_count"])


def norm_rows(rows: Any, pk: str = "id") -> Any:
    """Query/get result -> list of plain dicts sorted by pk."""
    if isinstance(rows, Err):
        return rows
    assert isinstance(rows, list), f"query/get must return a list, got {type(rows).__name__}"
    out = []
    for r in rows:
        assert isinstance(r, dict), f"row must be a dict, got {type(r).__name__}"
        assert_builtin_types(dict(r), "query/get row")  # like pymilvus: no numpy values
        out.append(plain(dict(r)))
    if out and pk in out[0]:
        out.sort(key=lambda r: (str(type(r.get(pk))), r.get(pk)))
    return out


def norm_search(res: Any, pk: str = "id", metric: str | None = None) -> Any:
    """Search result -> [[{"id", "distance", "entity"}, ...] per query]."""
    if isinstance(res, Err):
        return res
    assert isinstance(res, list), f"search must return a list, got {type(res).__name__}"
    out = []
    for hits in res:
        assert isinstance(hits, list), f"per-query hits must be a list, got {type(hits).__name__}"
        nh = []
        for h in hits:
            assert isinstance(h, dict), f"hit must be a dict, got {type(h).__name__}"
            if pk == "id":
                hid = h["id"]  # hit["id"] must work when the pk is named id
            else:
                hid = h[pk]
            assert "distance" in h, f"hit lacks 'distance': {h!r}"
            ent = h.get("entity", {})
            assert isinstance(ent, dict), f"hit['entity'] must be a dict: {ent!r}"
            assert_builtin_types({"id": hid, "entity": dict(ent)}, "search hit")
            assert isinstance(h["distance"], float), f"distance must be a float: {h['distance']!r}"
            nh.append({"id": plain(hid), "distance": float(h["distance"]),
                       "entity": plain(dict(ent))})
        if metric is not None and len(nh) > 1:
            ds = [x["distance"] for x in nh]
            if metric.upper() == "L2":
                ok = all(a <= b + 1e-6 for a, b in zip(ds, ds[1:]))
            else:
                ok = all(a >= b - 1e-6 for a, b in zip(ds, ds[1:]))
            assert ok, f"distances not ordered for {metric}: {ds}"
        out.append(nh)
    return out


def _tie_sorted(hits: list[dict]) -> list[dict]:
    return sorted(hits, key=lambda h: (round(h["distance"], 3), str(h["id"])))


# --------------------------------------------------------------------------
# comparison


def short(x: Any, n: int = 300) -> str:
    s = repr(x)
    return s if len(s) <= n else s[:n] + "..."


class Mismatch(AssertionError):
    pass


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-4)


def compare(lite: Any, rk: Any, path: str = "$") -> None:
    if isinstance(lite, Err):
        check_same_error(lite, rk, where=path)
        return
    if isinstance(rk, Err):
        raise Mismatch(f"{path}: lite returned {short(lite)} but redkite raised {rk}")
    if isinstance(lite, bool) or isinstance(rk, bool):
        if type(lite) is not type(rk) or lite != rk:
            raise Mismatch(f"{path}: lite {lite!r} vs redkite {rk!r}")
        return
    if isinstance(lite, (int, float)) and isinstance(rk, (int, float)):
        if isinstance(lite, int) and isinstance(rk, int):
            if lite != rk:
                raise Mismatch(f"{path}: lite {lite!r} vs redkite {rk!r}")
        elif not _close(float(lite), float(rk)):
            raise Mismatch(f"{path}: lite {lite!r} vs redkite {rk!r}")
        return
    if isinstance(lite, dict) and isinstance(rk, dict):
        lk, rkk = set(lite), set(rk)
        if lk != rkk:
            raise Mismatch(f"{path}: keys differ: only lite {sorted(lk - rkk)}, "
                           f"only redkite {sorted(rkk - lk)}; lite={short(lite)} redkite={short(rk)}")
        for k in lite:
            compare(lite[k], rk[k], f"{path}.{k}")
        return
    if isinstance(lite, list) and isinstance(rk, list):
        if len(lite) != len(rk):
            raise Mismatch(f"{path}: length lite {len(lite)} vs redkite {len(rk)}; "
                           f"lite={short(lite)} redkite={short(rk)}")
        if lite and all(isinstance(h, dict) and set(h) == {"id", "distance", "entity"}
                        for h in lite + rk):
            lite, rk = _tie_sorted(lite), _tie_sorted(rk)
        for i, (a, b) in enumerate(zip(lite, rk)):
            compare(a, b, f"{path}[{i}]")
        return
    if type(lite) is not type(rk) or lite != rk:
        raise Mismatch(f"{path}: lite {short(lite)} ({type(lite).__name__}) vs "
                       f"redkite {short(rk)} ({type(rk).__name__})")


def assert_same(lite: Any, rk: Any) -> None:
    compare(lite, rk)


# --------------------------------------------------------------------------
# data


DIM = 8
COLORS = ["red", "green", "blue"]


def vectors(n: int, dim: int = DIM, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.random((n, dim), dtype=np.float32)


def full_rows(n: int = 300, seed: int = 7) -> list[dict]:
    """Rows for the "full" schema (see :func:`full_schema`)."""
    vecs = vectors(n, DIM, seed)
    rows = []
    for i in range(n):
        j: dict[str, Any] = {"b": {"c": str(i % 10)}, "arr": [i % 7, i % 11], "tag": COLORS[i % 3]}
        if i % 13 != 0:
            j["a"] = i
        r = {
            "id": i,
            "b": i % 2 == 0,
            "i8": (i % 200) - 100,
            "i16": i * 100,
            "i32": i * 1000,
            "i64": i * 10 ** 10,
            "f": i / 3,
            "d": i / 7,
            "s": f"s{i}",
            "j": j,
            "ai": list(range(i % 5)),
            "av": [f"x{k}" for k in range(i % 3)],
            "v": vecs[i].tolist(),
        }
        if i % 3 == 0:
            r["n"] = i
        if i % 4 == 0:
            r["dv"] = f"d{i}"
        if i % 5 == 0:
            r["dyn"] = i * 2
        if i % 7 == 0:
            r["color"] = COLORS[i % 3]
        rows.append(r)
    return rows


def strict_rows(n: int = 50, seed: int = 7) -> list[dict]:
    """full_rows without the dynamic keys (for dynamic-off collections)."""
    rows = full_rows(n, seed)
    for r in rows:
        r.pop("dyn", None)
        r.pop("color", None)
    return rows


def full_schema(client: Any, datatype: Any, *, dynamic: bool = True) -> Any:
    s = client.create_schema(auto_id=False, enable_dynamic_field=dynamic)
    s.add_field("id", datatype.INT64, is_primary=True)
    s.add_field("b", datatype.BOOL)
    s.add_field("i8", datatype.INT8)
    s.add_field("i16", datatype.INT16)
    s.add_field("i32", datatype.INT32)
    s.add_field("i64", datatype.INT64)
    s.add_field("f", datatype.FLOAT)
    s.add_field("d", datatype.DOUBLE)
    s.add_field("s", datatype.VARCHAR, max_length=32)
    s.add_field("j", datatype.JSON)
    s.add_field("ai", datatype.ARRAY, element_type=datatype.INT64, max_capacity=8)
    s.add_field("av", datatype.ARRAY, element_type=datatype.VARCHAR, max_capacity=8, max_length=16)
    s.add_field("n", datatype.INT64, nullable=True)
    s.add_field("dv", datatype.VARCHAR, max_length=16, default_value="dflt")
    s.add_field("v", datatype.FLOAT_VECTOR, dim=DIM)
    return s


def completed_rows(rows: Sequence[dict]) -> list[dict]:
    """Rows as stored: nullable -> None, default values applied."""
    out = []
    for r in rows:
        r = dict(r)
        r.setdefault("n", None)
        r.setdefault("dv", "dflt")
        out.append(r)
    return out


# numpy ground truth ---------------------------------------------------------


def brute_force(base: np.ndarray, q: np.ndarray, metric: str, k: int,
                mask: np.ndarray | None = None) -> list[list[tuple[int, float]]]:
    base = base.astype(np.float64)
    q = np.atleast_2d(q).astype(np.float64)
    metric = metric.upper()
    if metric == "L2":
        d = ((q[:, None, :] - base[None, :, :]) ** 2).sum(-1)
        order = np.argsort(d, axis=1, kind="stable")
    elif metric == "IP":
        d = q @ base.T
        order = np.argsort(-d, axis=1, kind="stable")
    elif metric == "COSINE":
        bn = base / np.linalg.norm(base, axis=1, keepdims=True)
        qn = q / np.linalg.norm(q, axis=1, keepdims=True)
        d = qn @ bn.T
        order = np.argsort(-d, axis=1, kind="stable")
    else:
        raise ValueError(metric)
    out = []
    for qi in range(q.shape[0]):
        res = []
        for idx in order[qi]:
            if mask is not None and not mask[idx]:
                continue
            res.append((int(idx), float(d[qi, idx])))
            if len(res) == k:
                break
        out.append(res)
    return out


# --------------------------------------------------------------------------
# client-side utilities


def library_of(client: Any) -> Any:
    """The package (pymilvus or redkite) that owns ``client``."""
    import sys

    return sys.modules[type(client).__module__.split(".")[0]]


def datatype_of(client: Any) -> Any:
    """The DataType enum of the library that owns ``client``."""
    return library_of(client).DataType


def is_lite(client: Any) -> bool:
    return type(client).__module__.split(".")[0] == "pymilvus"


def count(client: Any, name: str, filter: str = "", **kw: Any) -> int:
    return int(client.query(name, filter=filter, output_fields=["count(*)"], **kw)[0]["count(*)"])


def make_full_collection(client: Any, name: str, rows: list[dict], *, metric: str = "L2",
                         dynamic: bool = True) -> None:
    DT = datatype_of(client)
    schema = full_schema(client, DT, dynamic=dynamic)
    ip = client.prepare_index_params()
    ip.add_index("v", index_type="FLAT", metric_type=metric)
    client.create_collection(name, schema=schema, index_params=ip)
    for i in range(0, len(rows), 100):
        client.insert(name, rows[i:i + 100])
