"""The tools end to end, in-process with the SDK's client, against an embedded database:
create -> insert -> search -> text search -> delete -> drop, confirmations, pagination,
output hygiene and errors the model can act on."""

from __future__ import annotations

import pytest
from mcp_helpers import Asker, call, call_error, connect, create_docs

from redkite import AsyncMilvusClient

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_create_insert_search_delete_drop(db_path, mode):
    asker = Asker()
    async with connect(db_path, asker=asker, mode=mode) as client:
        await create_docs(client)
        description = await call(client, "describe_collection", collection="docs")
        assert description["load_state"] == "Loaded" and description["row_count"] == 3
        assert description["text_search"] == [{"function": "bm25_0", "kind": "BM25",
                                               "text_field": "text",
                                               "searched_field": "words"}]
        hits = await call(client, "vector_search", collection="docs", vector=[1, 0.1, 0],
                          limit=2)
        assert [h["id"] for h in hits["hits"]] == [1, 2]
        assert hits["searched_fields"] == ["embedding"]
        assert hits["distance_meaning"] == "COSINE: higher is closer"
        assert hits["hits"][0]["fields"] == {"id": 1, "text": "red apples and pears",
                                             "lang": "en"}
        text = await call(client, "text_search", collection="docs", text="apples",
                          filter='lang == "en"')
        assert [h["id"] for h in text["hits"]] == [1]
        assert text["distance_meaning"] == "BM25: higher is closer"

        dry = await call(client, "delete_rows", collection="docs", filter="id >= 2")
        assert (dry["dry_run"], dry["matched"], dry["deleted"]) == (True, 2, 0)
        assert asker.questions == []  # a dry run asks nothing
        done = await call(client, "delete_rows", collection="docs", filter="id >= 2",
                          dry_run=False)
        assert (done["dry_run"], done["deleted"]) == (False, 2)
        assert asker.questions == ["Delete 2 rows of 'docs' (database 'default') where "
                                   "id >= 2? This cannot be undone."]
        await call(client, "drop_collection", collection="docs")
        assert "with its 1 rows" in asker.questions[-1]
        assert (await call(client, "list_collections"))["collections"] == []
    async with AsyncMilvusClient(db_path) as direct:  # what the agent did is in the data
        assert await direct.list_collections() == []


async def test_declined_confirmation_changes_nothing(db_path):
    async with connect(db_path, asker=Asker(answer="decline")) as client:
        await create_docs(client)
        message = await call_error(client, "delete_rows", collection="docs", ids=[1, 2],
                                   dry_run=False)
        assert "did not confirm" in message and "nothing changed" in message
        message = await call_error(client, "drop_collection", collection="docs")
        assert "did not confirm" in message
        assert (await call(client, "count_rows", collection="docs"))["count"] == 3
    asker = Asker(confirm=False)  # the user leaves the box unticked
    async with connect(db_path, asker=asker) as client:
        loaded = await call_error(client, "drop_index", collection="docs",
                                  index_name="embedding")
        assert "release_collection first" in loaded and asker.questions == []
        await call(client, "release_collection", collection="docs")
        assert "did not confirm" in await call_error(client, "drop_index", collection="docs",
                                                     index_name="embedding")
        assert "'embedding' (AUTOINDEX) on field 'embedding'" in asker.questions[0]
        assert len((await call(client, "list_indexes", collection="docs"))["indexes"]) == 2
        await call_error(client, "drop_index", collection="docs", index_name="embedding",
                         confirm=True)  # ignored: this client can ask, the user says no
        asker.confirm = True
        await call(client, "drop_index", collection="docs", index_name="embedding")
        indexes = (await call(client, "list_indexes", collection="docs"))["indexes"]
        assert [index["field_name"] for index in indexes] == ["words"]


async def test_without_elicitation_confirm_true_is_required(db_path):
    async with connect(db_path) as client:  # this client cannot ask the user
        await create_docs(client)
        message = await call_error(client, "delete_rows", collection="docs", ids=[1, 3],
                                   dry_run=False)
        assert "Delete 2 rows" in message and "confirm=true" in message
        assert (await call(client, "count_rows", collection="docs"))["count"] == 3
        done = await call(client, "delete_rows", collection="docs", ids=[1, 3],
                          dry_run=False, confirm=True)
        assert done["deleted"] == 2
        await call_error(client, "drop_collection", collection="docs")
        await call(client, "drop_collection", collection="docs", confirm=True)
        assert (await call(client, "list_collections"))["collections"] == []


async def test_delete_needs_one_real_condition(db_path):
    async with connect(db_path) as client:
        await create_docs(client)
        assert "either ids" in await call_error(client, "delete_rows", collection="docs")
        assert "every row" in await call_error(client, "delete_rows", collection="docs",
                                               filter="  ")
        dry = await call(client, "delete_rows", collection="docs", ids=[1, 99])
        assert dry["matched"] == 1


async def test_query_pages_and_leaves_vectors_out(db_path):
    async with connect(db_path) as client:
        await create_docs(client)
        first = await call(client, "query_rows", collection="docs", limit=2)
        assert [r["id"] for r in first["rows"]] == [1, 2] and first["next_offset"] == 2
        assert all("embedding" not in r and "words" not in r for r in first["rows"])
        last = await call(client, "query_rows", collection="docs", limit=2,
                          offset=first["next_offset"])
        assert [r["id"] for r in last["rows"]] == [3] and last["next_offset"] is None
        deepest = await call(client, "query_rows", collection="docs", limit=1, offset=16383)
        assert deepest["rows"] == [] and deepest["next_offset"] is None
        assert "16,384" in await call_error(client, "query_rows", collection="docs",
                                            limit=2, offset=16383)
        rows = await call(client, "get_rows", collection="docs", ids=[2],
                          include_vectors=True)
        assert rows["rows"][0]["embedding"] == [0.0, 1.0, 0.0]
        matched = await call(client, "query_rows", collection="docs",
                             filter='text_match(text, "apples")', output_fields=["id"])
        assert matched["rows"] == [{"id": 1}, {"id": 3}]
        hits = await call(client, "vector_search", collection="docs", vector=[0, 0, 1],
                          limit=1, offset=1)
        assert len(hits["hits"]) == 1 and hits["next_offset"] == 2


async def test_hybrid_search_fuses_text_and_vector(db_path):
    async with connect(db_path) as client:
        await create_docs(client)
        fused = await call(client, "hybrid_search", collection="docs",
                           requests=[{"text": "apples"}, {"vector": [0, 0, 1]}], limit=2)
        assert [h["id"] for h in fused["hits"]] == [3, 1]
        assert fused["searched_fields"] == ["text", "embedding"]
        weighted = await call(client, "hybrid_search", collection="docs", ranker="weighted",
                              weights=[0.0, 1.0],
                              requests=[{"text": "apples"}, {"vector": [0, 1, 0]}])
        assert weighted["hits"][0]["id"] == 2
        assert "weights" in await call_error(client, "hybrid_search", collection="docs",
                                             ranker="weighted", requests=[
                                                 {"text": "a"}, {"vector": [0, 1, 0]}])


async def test_quick_collection_upsert_and_dynamic_keys(db_path):
    async with connect(db_path) as client:
        created = await call(client, "create_collection", collection="notes", dimension=2)
        assert [f["name"] for f in created["fields"]] == ["id", "vector"]
        assert created["text_search"] == []
        await call(client, "insert_rows", collection="notes",
                   rows=[{"id": 1, "vector": [1, 0], "tag": "a"}])
        written = await call(client, "upsert_rows", collection="notes",
                             rows=[{"id": 1, "vector": [0, 1], "tag": "b"}])
        assert written["count"] == 1
        rows = await call(client, "get_rows", collection="notes", ids=[1])
        assert rows["rows"] == [{"id": 1, "tag": "b"}]
        stats = await call(client, "get_collection_stats", collection="notes")
        assert stats["row_count"] == 1 and stats["partitions"] == {"_default": 1}


async def test_errors_reach_the_model_with_what_to_do(db_path):
    async with connect(db_path) as client:
        await create_docs(client)
        await call(client, "create_collection", collection="plain", dimension=2)
        missing = await call_error(client, "describe_collection", collection="nope")
        assert "collection not found" in missing and "list_collections" in missing
        bad_filter = await call_error(client, "query_rows", collection="docs",
                                      filter="id >")
        assert "invalid filter" in bad_filter and "double quotes" in bad_filter
        no_text = await call_error(client, "text_search", collection="plain", text="x")
        assert "no BM25 or text-embedding function" in no_text
        assert "vector_search" in no_text and "text_match" in no_text
        wrong_dim = await call_error(client, "vector_search", collection="docs",
                                     vector=[1, 0])
        assert "dim" in wrong_dim and "describe_collection" in wrong_dim
        bad_row = await call_error(client, "insert_rows", collection="docs",
                                   rows=[{"id": 7, "embedding": [1, 0, 0]}])
        assert "text" in bad_row and "describe_collection" in bad_row
        words = await call_error(client, "vector_search", collection="docs",
                                 vector=[1, 0, 0], anns_field="words")
        assert "text_search" in words
        assert "either dimension" in await call_error(
            client, "create_collection", collection="x")  # neither dimension nor fields
        assert "quick-setup options" in await call_error(
            client, "create_collection", collection="x", auto_id=True,
            fields=[{"name": "id", "type": "INT64", "is_primary": True}])
        unknown_key = await call_error(client, "create_collection", collection="x", fields=[
            {"name": "id", "type": "INT64", "is_primary": True, "primary": True}])
        assert "fields.0.primary" in unknown_key  # rejected by the schema, never ignored


async def test_databases_indexes_and_loading(db_path):
    async with connect(db_path) as client:
        await call(client, "create_database", name="team")
        assert set((await call(client, "list_databases"))["databases"]) == {"default", "team"}
        fields = [{"name": "pk", "type": "VARCHAR", "max_length": 16, "is_primary": True},
                  {"name": "v", "type": "FLOAT_VECTOR", "dim": 2}]
        created = await call(client, "create_collection", collection="c", fields=fields,
                             indexes=[], database="team")
        assert created["database"] == "team" and created["load_state"] == "NotLoad"
        not_loaded = await call_error(client, "vector_search", collection="c",
                                      vector=[1, 0], database="team")
        assert "load_collection" in not_loaded
        await call(client, "create_index", collection="c", field="v", index_type="HNSW",
                   metric_type="L2", params={"M": 8}, database="team")
        loaded = await call(client, "load_collection", collection="c", database="team")
        assert loaded["details"]["load_state"] == "Loaded"
        await call(client, "insert_rows", collection="c", database="team",
                   rows=[{"pk": "a", "v": [0, 0]}, {"pk": "b", "v": [5, 5]}])
        hits = await call(client, "vector_search", collection="c", vector=[4, 4],
                          database="team")
        assert hits["hits"][0]["id"] == "b"
        assert hits["distance_meaning"] == "L2: lower is closer"
        assert (await call(client, "list_collections"))["collections"] == []
        unknown = await call_error(client, "list_collections", database="nodb")
        assert "list_databases" in unknown
