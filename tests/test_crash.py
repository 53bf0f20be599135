"""Crash safety: a writer process is SIGKILLed at random moments, again and again.

``tests/crash_worker.py crash`` opens one database (seal threshold lowered to 500 rows, so
segments are sealed and compacted in the background while it runs), and loops over small
inserts / upserts / deletes on a quick-setup collection (``quick``, dim 8) and on a custom
schema collection (``custom``: auto-id INT64 pk, VARCHAR, JSON, ARRAY, DOUBLE, BOOL, vector,
dynamic field). Before each call it logs an *intent*, after the call returns an *ack*
(fsynced). The parent kills it (kill -9) at a random moment, and checks the state the next
process sees (and, now and then, the state the parent itself sees after reopening):

* every acknowledged insert / upsert is present with its exact values,
* every acknowledged delete is absent,
* nothing else is there, except the effect of the one in-flight call, all-or-nothing,
* row counts (``count(*)``, stats) agree with the rows,
* auto ids are never handed out twice, across all runs.
"""

from __future__ import annotations

import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import crash_worker as W  # noqa: E402

from redkite import MilvusClient  # noqa: E402

WORKER = str(Path(__file__).resolve().parent / "crash_worker.py")
RUNS = 20
TIME_BUDGET = 40.0  # seconds for the whole kill loop
MIN_RUNS = 8


@dataclass
class Model:
    """What the database must hold: quick pk -> version, custom pk -> seed."""

    quick: dict[int, int] = field(default_factory=dict)
    custom: dict[int, int] = field(default_factory=dict)
    ever_auto: set[int] = field(default_factory=set)  # every auto id ever acknowledged/seen

    def fresh_auto_ids(self, ids: list[int], where: str) -> None:
        assert len(set(ids)) == len(ids), f"{where}: duplicate auto ids in one insert {ids}"
        reused = set(ids) & self.ever_auto
        assert not reused, f"{where}: auto ids handed out again: {sorted(reused)[:5]}"
        self.ever_auto.update(ids)

    def apply(self, op: dict, ids: list[int] | None = None) -> None:
        kind = op["op"]
        if kind in ("insert_q", "upsert_q"):
            self.quick.update({pk: op["version"] for pk in op["pks"]})
        elif kind == "delete_q":
            for pk in op["pks"]:
                self.quick.pop(pk, None)
        elif kind == "insert_c":
            assert ids is not None and len(ids) == len(op["seeds"])
            self.custom.update(zip(ids, op["seeds"]))
        elif kind == "delete_c":
            for pk in op["pks"]:
                self.custom.pop(pk, None)
        else:
            raise AssertionError(f"unknown op {op}")


# ---- reading what the database holds -----------------------------------------------------------
def observed(state: dict, where: str) -> tuple[dict[int, int], dict[int, int]]:
    """pk -> version / seed maps from a dump, checking every row's exact values and counts."""
    quick_rows = state[W.QUICK]["rows"]
    quick = {}
    for row in quick_rows:
        assert row["id"] not in quick, f"{where}: pk {row['id']} has two live rows"
        expected = W.quick_row(row["id"], row.get("ver", -1))
        assert row == expected, f"{where}: quick row differs: {row} != {expected}"
        quick[row["id"]] = row["ver"]
    custom_rows = state[W.CUSTOM]["rows"]
    custom = {}
    for row in custom_rows:
        assert row["pk"] not in custom, f"{where}: auto pk {row['pk']} has two live rows"
        seed = row.get("meta", {}).get("seed")
        expected = W.custom_expected(row["pk"], seed)
        assert row == expected, f"{where}: custom row differs: {row} != {expected}"
        custom[row["pk"]] = seed
    for name, rows in ((W.QUICK, quick_rows), (W.CUSTOM, custom_rows)):
        count, stats = state[name]["count"], state[name]["stats"]
        assert count == stats == len(rows), (
            f"{where}: {name}: count(*)={count}, row_count={stats}, rows={len(rows)}")
        assert len(rows) < W.MAX_DUMP, "test bound: the dump must hold every row"
    return quick, custom


def reconcile(model: Model, state: dict, pending: dict | None, where: str) -> None:
    """Check ``state`` is the model, or the model plus the whole in-flight op; adopt it."""
    quick, custom = observed(state, where)
    options = ["not applied"]
    if pending is None:
        assert quick == model.quick, _diff(where, "quick", model.quick, quick)
        assert custom == model.custom, _diff(where, "custom", model.custom, custom)
        model.ever_auto.update(custom)
        return
    kind = pending["op"]
    if kind == "insert_c":
        extra = {pk: seed for pk, seed in custom.items() if pk not in model.custom}
        assert quick == model.quick, _diff(where, "quick", model.quick, quick)
        assert set(model.custom) <= set(custom), (
            f"{where}: acknowledged custom rows missing: "
            f"{sorted(set(model.custom) - set(custom))[:10]}")
        assert all(custom[pk] == model.custom[pk] for pk in model.custom)
        if extra:  # the in-flight insert landed: all of it, with fresh ids
            assert sorted(extra.values()) == sorted(pending["seeds"]), (
                f"{where}: unexpected custom rows {extra} (in flight: {pending})")
            model.fresh_auto_ids(sorted(extra), where + " (in-flight insert)")
            model.apply(pending, sorted(extra))
    else:
        applied = Model(dict(model.quick), dict(model.custom))
        applied.apply(pending)
        if quick == model.quick and custom == model.custom:
            pass
        elif quick == applied.quick and custom == applied.custom:
            model.apply(pending)
        else:
            raise AssertionError(
                f"{where}: state is neither before nor after the in-flight op {pending}\n"
                + _diff(where, "quick", model.quick, quick) + "\n"
                + _diff(where, "custom", model.custom, custom))
    model.ever_auto.update(custom)


def _diff(where: str, name: str, want: dict, got: dict) -> str:
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    changed = sorted(k for k in set(want) & set(got) if want[k] != got[k])
    return (f"{where}: {name}: {len(missing)} acknowledged rows missing {missing[:8]}, "
            f"{len(extra)} unexpected rows {extra[:8]}, {len(changed)} with stale values "
            f"{[(k, want[k], got[k]) for k in changed[:5]]}")


def read_log(path: Path) -> tuple[list[tuple[dict, dict]], dict | None]:
    """The acknowledged ops (intent, ack) in order and the in-flight intent, if any."""
    if not path.exists():
        return [], None
    lines = path.read_text().splitlines()
    entries = []
    for number, line in enumerate(lines):
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            assert number == len(lines) - 1, f"{path}: garbled line {number} before the end"
    done, pending = [], None
    index = 0
    while index < len(entries):
        intent = entries[index]
        assert intent["t"] == "intent", f"{path}: expected an intent at entry {index}"
        ack = entries[index + 1] if index + 1 < len(entries) else None
        if ack is None:
            pending = intent
            break
        assert ack["t"] == "ack" and ack["seq"] == intent["seq"], f"{path}: entry {index + 1}"
        done.append((intent, ack))
        index += 2
    return done, pending


# ---- the kill loop ----------------------------------------------------------------------------
def wait_for_ready(proc: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    buffer = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.05)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                return False
            buffer += chunk
            if b"READY\n" in buffer:
                return True
        elif proc.poll() is not None:
            return False
    return False


def segment_count(db: Path) -> int:
    manifest = db / "MANIFEST"
    if not manifest.exists():
        return 0
    body = json.loads(manifest.read_text().partition("\n")[2])
    return sum(len(c["segments"]) for c in body["collections"])


def verify_in_parent(db: Path, model: Model, pending: dict | None, where: str) -> None:
    client = MilvusClient(str(db))
    try:
        reconcile(model, W.dump_state(client), pending, where)
        # Search works on the recovered data and sees only live rows.
        if model.quick:
            hits = client.search(W.QUICK, [W.quick_vector(1, 1)], limit=5)
            assert len(hits[0]) == min(5, len(model.quick))
            assert all(hit["id"] in model.quick for hit in hits[0])
    finally:
        client.close()


def test_kill_9_at_random_moments(tmp_path):
    db = tmp_path / "app.db"
    run_dir = tmp_path / "runs"
    run_dir.mkdir()
    rng = random.Random(int(os.environ.get("REDKITE_CRASH_SEED", "20240611")))
    env = dict(os.environ, PYTHONPATH=str(W.REPO))
    model, pending = Model(), None
    started = time.monotonic()
    runs = acked_ops = early_kills = 0
    max_segments = 0
    for run in range(RUNS):
        if run >= MIN_RUNS and time.monotonic() - started > TIME_BUDGET:
            break
        runs += 1
        if run and run % 6 == 0:  # now and then the parent opens it and closes it cleanly
            verify_in_parent(db, model, pending, f"run {run} (parent, before)")
            pending = None
        early = run % 7 == 3  # kill while the worker opens / replays / sets up
        with open(run_dir / f"stderr-{run}.txt", "w") as stderr:
            proc = subprocess.Popen(
                [sys.executable, WORKER, "crash", str(db), str(run_dir), str(run),
                 str(rng.randrange(1 << 30))],
                stdout=subprocess.PIPE, stderr=stderr, env=env, bufsize=0)
            try:
                if early:
                    time.sleep(rng.uniform(0.05, 0.5))
                    early_kills += 1
                else:
                    ready = wait_for_ready(proc, timeout=30)
                    assert ready, (f"run {run}: worker never got ready (exit "
                                   f"{proc.poll()}): {(run_dir / f'stderr-{run}.txt').read_text()}")
                    time.sleep(rng.uniform(0.2, 1.2) if run else 1.0)
                proc.send_signal(signal.SIGKILL)
                returncode = proc.wait(timeout=30)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                proc.stdout.close()
        assert returncode == -signal.SIGKILL, (
            f"run {run}: worker exited by itself ({returncode}): "
            f"{(run_dir / f'stderr-{run}.txt').read_text()}")
        dump = run_dir / f"dump-{run}.json"
        if dump.exists():  # what this worker saw when it opened the crashed database
            reconcile(model, json.loads(dump.read_text()), pending, f"run {run} (after kill)")
            pending = None
        done, in_flight = read_log(run_dir / f"acks-{run}.log")
        if done or in_flight:
            assert dump.exists(), f"run {run}: ops logged before the dump was written"
        for intent, ack in done:
            if intent["op"] == "insert_c":
                model.fresh_auto_ids(ack["ids"], f"run {run} {intent['seq']}")
            model.apply(intent, ack.get("ids"))
        acked_ops += len(done)
        if in_flight is not None:
            pending = in_flight
        max_segments = max(max_segments, segment_count(db))
    # Finally the parent reopens: the last crash's outcome, then a clean close and reopen.
    verify_in_parent(db, model, pending, "final (parent)")
    verify_in_parent(db, model, None, "final (parent, after clean close)")
    elapsed = time.monotonic() - started
    print(f"crash loop: {runs} runs ({early_kills} killed while opening), {acked_ops} acked "
          f"ops, {len(model.quick)} + {len(model.custom)} live rows, {len(model.ever_auto)} "
          f"auto ids, up to {max_segments} sealed segments, {elapsed:.1f}s")
    assert runs >= MIN_RUNS
    assert acked_ops > 200, "the workers hardly did anything before being killed"
    assert max_segments > 0, "no run crossed a segment seal"
