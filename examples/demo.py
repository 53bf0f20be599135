"""The redkite quickstart on an embedded database: create, insert, search, query, reopen.

Run with ``make demo`` (or ``python examples/demo.py ./demo.db``).
"""

from __future__ import annotations

import shutil
import sys
import time

import numpy as np

from redkite import MilvusClient


def step(message: str) -> None:
    print(f"\n== {message}")


def main(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((1000, 64)).astype(np.float32)
    colors = ["red", "green", "blue", "yellow"]

    step(f"open an embedded database at {path}")
    client = MilvusClient(path)

    step("create collection 'articles' (quick setup: pk 'id', 64-d 'vector', COSINE)")
    client.create_collection("articles", dimension=64)
    print(client.describe_collection("articles")["fields"])

    step("insert 1,000 rows with dynamic fields 'color' and 'year'")
    rows = [{"id": i, "vector": vectors[i], "color": colors[i % 4], "year": 2000 + i % 25}
            for i in range(1000)]
    started = time.perf_counter()
    result = client.insert("articles", rows)
    print(f"inserted {result['insert_count']} rows in "
          f"{(time.perf_counter() - started) * 1000:.1f} ms")

    step("search the 3 nearest neighbours of row 42 with filter color == 'red'")
    hits = client.search("articles", data=[vectors[42]], limit=3,
                         filter='color == "red"', output_fields=["color", "year"])
    for hit in hits[0]:
        print(f"  id={hit['id']:4d} distance={hit['distance']:.4f} entity={hit['entity']}")

    step("query: year >= 2020 and color in ['blue', 'green'], first 5")
    for row in client.query("articles", filter='year >= 2020 and color in ["blue", "green"]',
                            output_fields=["color", "year"], limit=5):
        print(" ", row)

    step("count(*) and get by ids")
    print(" ", client.query("articles", filter="", output_fields=["count(*)"]))
    print(" ", client.get("articles", ids=[1, 2], output_fields=["color"]))

    step("delete rows whose year is 2000")
    print(" ", client.delete("articles", filter="year == 2000"))
    print("  row_count:", client.get_collection_stats("articles")["row_count"])

    step("close and reopen: everything acknowledged is still there")
    client.close()
    with MilvusClient(path) as reopened:
        print("  row_count after reopen:",
              reopened.get_collection_stats("articles")["row_count"])
        best = reopened.search("articles", data=[vectors[42]], limit=1)[0][0]
        print(f"  nearest to row 42 after reopen: id={best['id']} "
              f"distance={best['distance']:.4f}")
    print("\ndone.")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "./demo.db")
