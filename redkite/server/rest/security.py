"""Authentication and privilege checks of the REST API under ``redkite serve --auth``.

Credentials are read as Milvus's ``authenticate`` middleware reads them: HTTP Basic
(``Basic base64(user:password)``), else ``Bearer user:password`` split at the first ``:``.
A token without ``:`` would be a Zilliz-Cloud API key, which redkite does not have, so it
fails like a wrong password. The privilege of a route is the one of its equivalent gRPC RPC
(:data:`redkite.server.privileges.REQUIREMENTS`); the object it acts on is the body's
``collectionName`` (collection privileges) or ``userName`` (user privileges).
"""

from __future__ import annotations

import base64
import binascii

from ..auth import AuthStore
from ..privileges import COLLECTION, REQUIREMENTS, USER, allowed
from .framework import Body

BASIC_CHALLENGE = 'Basic realm="restricted", charset="UTF-8"'


def parse_credentials(header: str | None) -> tuple[str, str] | None:
    """``(user, password)`` from an ``Authorization`` header (None: absent or malformed)."""
    if not header:
        return None
    if header.startswith("Basic "):
        try:
            raw = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
    elif header.startswith("Bearer "):
        raw = header[7:]
    else:
        return None
    user, sep, password = raw.partition(":")
    return (user, password) if sep and user and password else None


def authenticate(store: AuthStore, header: str | None) -> str | None:
    """The authenticated user name, or None when the credentials are missing or wrong."""
    credentials = parse_credentials(header)
    if credentials is None or not store.verify(*credentials):
        return None
    return credentials[0]


def permission_error(store: AuthStore, user: str, rpc: str, body: Body,
                     db_name: str) -> str | None:
    """None when ``user`` may make the call; otherwise Milvus's permission-denied text."""
    requirement = REQUIREMENTS.get(rpc)
    if requirement is None or store.is_superuser(user):
        return None
    if requirement.object_type == COLLECTION:
        names = [_text(body.get("collectionName"))]
    elif requirement.object_type == USER:
        names = [_text(body.get("userName"))]
        if names == [user]:
            return None
    else:
        names = ["*"]
    if rpc == "SelectGrant":
        own = {r for u in store.describe_users(user) for r in u["roles"]} | {"public"}
        if body.get("roleName") in own:
            return None
    if allowed(store.grants_of_user(user), requirement, names, db_name):
        return None
    return (f"rpc error: code = PermissionDenied desc = {requirement.privilege}: permission "
            f"deny to {user} in the `{db_name}` database")


def _text(value) -> str:
    return value if isinstance(value, str) else ""
