"""Confirmation of destructive calls (drop_collection, drop_index; delete_rows has its
resolver next to it in tools_data).

Each destructive tool has a resolver (the SDK's ``Resolve``) that runs before its body.
When the client supports form elicitation the resolver asks the user (on either
protocol era; the question names what would be lost). When it does not, the call goes
ahead only with the explicit argument ``confirm=true`` and otherwise fails with a
ToolError telling the model to get the user's agreement first. The answer is not a tool
argument, so the model cannot answer for the user on clients that can ask.
"""

from __future__ import annotations

from mcp.server.mcpserver import AcceptedElicitation, Context, Elicit, ElicitationResult
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from .backend import backend_of, load_state


class Confirmation(BaseModel):
    """The user's answer (the elicitation form has one checkbox)."""

    confirm: bool = Field(description="Yes, do it (this cannot be undone).")


NOT_ASKED = Confirmation(confirm=False)  # resolvers of dry runs: nothing to ask


def can_elicit(ctx: Context) -> bool:
    """Whether the client declared form elicitation (a bare ``elicitation: {}`` counts)."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None:
        return False
    return elicitation.form is not None or elicitation.url is None


def ask(ctx: Context, question: str, confirm: bool) -> Confirmation | Elicit[Confirmation]:
    """Ask ``question`` through elicitation, or accept ``confirm=true`` when the client
    cannot ask."""
    if can_elicit(ctx):
        return Elicit(question, Confirmation)
    if confirm:
        return Confirmation(confirm=True)
    raise ToolError(f"Confirmation needed: {question} This client cannot ask the user, so "
                    "ask them yourself and, once they agree, repeat the call with "
                    "confirm=true.")


def require_confirmed(outcome: ElicitationResult[Confirmation], what: str) -> None:
    """Raise unless the user (or ``confirm=true``) accepted ``what``."""
    if isinstance(outcome, AcceptedElicitation) and outcome.data.confirm:
        return
    raise ToolError(f"The user did not confirm, so {what} was not done and nothing "
                    "changed. Do not retry unless the user asks for it.")


async def confirm_drop_collection(collection: str, database: str | None, confirm: bool,
                                  ctx: Context) -> Confirmation | Elicit[Confirmation]:
    db = backend_of(ctx).client(database)
    stats = await db.get_collection_stats(collection)
    return ask(ctx, f"Drop collection {collection!r} of database {db.database!r} with its "
                    f"{stats.get('row_count', 0)} rows? This cannot be undone.", confirm)


async def confirm_drop_index(collection: str, index_name: str, database: str | None,
                             confirm: bool,
                             ctx: Context) -> Confirmation | Elicit[Confirmation]:
    db = backend_of(ctx).client(database)
    index = await db.describe_index(collection, index_name)
    if not index:
        raise ToolError(f"Collection {collection!r} has no index {index_name!r}. Call "
                        "list_indexes to see its indexes.")
    if await load_state(db, collection) != "NotLoad":
        raise ToolError(f"Collection {collection!r} is loaded: call release_collection "
                        "first, then drop_index.")
    return ask(ctx, f"Drop index {index_name!r} ({index.get('index_type')}) on field "
                    f"{index.get('field_name')!r} of {collection!r}? Searches on that field "
                    "stop working until it is rebuilt.", confirm)

