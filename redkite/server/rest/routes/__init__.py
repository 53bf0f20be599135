"""The REST route families: each module exports ``ROUTES: list[Route]``."""

from __future__ import annotations

from importlib import import_module

from ..framework import Route

FAMILIES = [
    "collections",
    "entities",
    "partitions", "indexes", "aliases", "databases", "users", "roles", "privilege_groups",
    "jobs", "resource_groups", "misc",
]


def all_routes() -> list[Route]:
    """Every route of every family module listed in :data:`FAMILIES`."""
    routes: list[Route] = []
    for family in FAMILIES:
        routes.extend(import_module(f"{__name__}.{family}").ROUTES)
    return routes
