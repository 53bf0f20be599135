"""Authentication and privilege checks of ``redkite serve --auth``, as Milvus does them.

Every call must carry the metadata ``authorization: base64("user:password")`` (what
pymilvus sends for ``token="user:password"`` or ``user=..., password=...``). A missing or
wrong one is refused with gRPC's UNAUTHENTICATED and Milvus's text ("auth check failure,
please check username and password are correct"); pymilvus raises it without retrying.

Then the RPC's privilege (:mod:`redkite.server.privileges`) is checked: the user ``root``
and holders of the ``admin`` role may do everything; others need a grant to one of their
roles (``public`` included) covering the object in the call's database, else the call is
refused with gRPC's PERMISSION_DENIED and Milvus's text ("<privilege>: permission deny to
<user> in the `<db>` database"). As in Milvus, users may read and change their own user
entry and read the grants of their own roles without a grant.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Callable

import grpc

from .auth import AuthStore
from .privileges import REQUIREMENTS, USER, allowed, object_names

AUTH_FAILED = "auth check failure, please check username and password are correct"
AUTH_HEADER = "authorization"
DEFAULT_DB = "default"


def credentials(metadata: Any) -> tuple[str, str] | None:
    """``(user, password)`` from a call's ``authorization`` header (None: absent or not of
    the form base64("user:password"))."""
    value = next((v for k, v in metadata or () if k == AUTH_HEADER), None)
    if value is None:
        return None
    try:
        raw = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, sep, password = raw.partition(":")
    return (user, password) if sep else None


def call_db(request: Any, metadata: Any) -> str:
    """The database a call acts in: the request's ``db_name``, the ``dbname`` header, or
    ``default``."""
    name = getattr(request, "db_name", "")
    if not isinstance(name, str) or not name:
        name = next((v for k, v in metadata or () if k == "dbname" and v), DEFAULT_DB)
    return name


def _refuse(code: grpc.StatusCode, message: str) -> grpc.RpcMethodHandler:
    def refuse(request, context):
        context.abort(code, message)
    return grpc.unary_unary_rpc_method_handler(refuse)


class AuthInterceptor(grpc.ServerInterceptor):
    """Authenticates every call against ``store`` and enforces RPC privileges."""

    def __init__(self, store: AuthStore) -> None:
        self.store = store

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        metadata = handler_call_details.invocation_metadata
        creds = credentials(metadata)
        if creds is None:
            has_header = any(k == AUTH_HEADER for k, _ in metadata or ())
            return _refuse(grpc.StatusCode.UNAUTHENTICATED,
                           AUTH_FAILED if has_header else "missing authorization in header")
        user, password = creds
        if not self.store.verify(user, password):
            return _refuse(grpc.StatusCode.UNAUTHENTICATED, AUTH_FAILED)
        method = handler_call_details.method.rsplit("/", 1)[-1]
        requirement = REQUIREMENTS.get(method)
        if requirement is None or handler.unary_unary is None \
                or self.store.is_superuser(user):
            return handler
        return grpc.unary_unary_rpc_method_handler(
            self._checked(handler.unary_unary, user, requirement, metadata),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)

    def _checked(self, behaviour: Callable, user: str, requirement: Any,
                 metadata: Any) -> Callable:
        def checked(request, context):
            db_name = call_db(request, metadata)
            if not self.permitted(user, requirement, request, db_name):
                context.abort(grpc.StatusCode.PERMISSION_DENIED,
                              f"{requirement.privilege}: permission deny to {user} in the "
                              f"`{db_name}` database")
            return behaviour(request, context)
        return checked

    def permitted(self, user: str, requirement: Any, request: Any, db_name: str) -> bool:
        """Whether ``user`` (not a superuser) may make this call."""
        names = object_names(requirement, request)
        if requirement.object_type == USER and names == [user]:
            return True
        if type(request).DESCRIPTOR.name == "SelectGrantRequest":
            own = {r for u in self.store.describe_users(user) for r in u["roles"]}
            if request.entity.role.name in own | {"public"}:
                return True
        return allowed(self.store.grants_of_user(user), requirement, names, db_name)
