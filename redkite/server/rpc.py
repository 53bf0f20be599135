"""The wrapper every MilvusService handler goes through: unknown request fields are
rejected, exceptions become a Milvus ``common.Status``, the reply is built."""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable

from google.protobuf.unknown_fields import UnknownFieldSet

from ..errors import ErrorCode, MilvusException, ParamError
from ..protocol.status import error_status, status_from_exception, success

log = logging.getLogger("redkite.server")


def rpc(response: Callable[..., Any] | None) -> Callable:
    """Wrap an RPC body: reject unknown request fields, map exceptions to a status.

    ``response`` builds the reply message (None: the reply is a bare ``common.Status``).
    The body returns the reply's fields as a dict (or None for a bare success status)."""

    def decorate(body: Callable) -> Callable:
        @functools.wraps(body)
        def handler(self, request, context):
            try:
                reject_unknown_fields(request)
                fields = body(self, request, context)
                status = success()
            except MilvusException as exc:
                fields, status = None, status_from_exception(exc)
            except Exception as exc:  # noqa: BLE001 - reported to the caller, logged here
                log.exception("unexpected error in %s", body.__name__)
                fields = None
                status = error_status(ErrorCode.UNEXPECTED_ERROR,
                                      f"unexpected error in {body.__name__}: "
                                      f"{type(exc).__name__}: {exc}")
            if response is None:
                return status
            return response(status=status, **(fields or {}))
        return handler
    return decorate


def reject_unknown_fields(request: Any) -> None:
    unknown = UnknownFieldSet(request)
    if len(unknown):
        numbers = sorted({field.field_number for field in unknown})
        raise ParamError(f"{type(request).DESCRIPTOR.name} carries field number(s) {numbers} "
                         "that redkite does not implement")
