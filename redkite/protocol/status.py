"""Milvus ``common.Status`` <-> redkite exceptions.

A status carries the Milvus error ``code`` (``merr`` numbers: 100 collection not found,
1100 invalid parameter, ...), the legacy ``error_code`` enum that older SDKs test, the
human ``reason`` and ``retriable``; ``extra_info["is_input_error"]`` marks errors caused
by the request (pymilvus reads it into ``MilvusException.is_input_error``).
"""

from __future__ import annotations

from ..errors import ErrorCode, MilvusException, SchemaMismatchRetryableException
from . import common_pb2

# Milvus's mapping of new codes to the deprecated ErrorCode enum (merr.oldCode).
_LEGACY_CODES = {
    ErrorCode.COLLECTION_NOT_FOUND: common_pb2.CollectionNotExists,
    ErrorCode.COLLECTION_SCHEMA_MISMATCH: common_pb2.SchemaMismatch,
    ErrorCode.INDEX_NOT_FOUND: common_pb2.IndexNotExist,
    ErrorCode.PARAMETER_INVALID: common_pb2.IllegalArgument,
    ErrorCode.SERVICE_UNAVAILABLE: common_pb2.NotReadyServe,
}


def success() -> "common_pb2.Status":
    return common_pb2.Status()


def error_status(code: int, reason: str, *, retriable: bool = False,
                 is_input_error: bool = False) -> "common_pb2.Status":
    """A failure status: ``code`` (nonzero) with its legacy ``error_code``."""
    status = common_pb2.Status(code=int(code) or int(ErrorCode.UNEXPECTED_ERROR),
                               error_code=_LEGACY_CODES.get(code, common_pb2.UnexpectedError),
                               reason=reason, retriable=retriable)
    if is_input_error:
        status.extra_info["is_input_error"] = "true"
    return status


def status_from_exception(exc: MilvusException) -> "common_pb2.Status":
    return error_status(exc.code, exc.message or str(exc), retriable=exc.retriable,
                        is_input_error=exc.is_input_error)


def unimplemented_status(method: str) -> "common_pb2.Status":
    return error_status(ErrorCode.SERVICE_UNIMPLEMENTED,
                        f"service unimplemented: redkite does not implement the Milvus RPC "
                        f"{method}")


def exception_from_status(status: "common_pb2.Status") -> MilvusException | None:
    """The exception a failed status stands for (None when it reports success)."""
    if status.code == 0 and status.error_code == 0:
        return None
    if status.error_code == common_pb2.SchemaMismatch:
        return SchemaMismatchRetryableException(status.reason)
    return MilvusException(status.code or ErrorCode.UNEXPECTED_ERROR, status.reason,
                           is_input_error=status.extra_info.get("is_input_error") == "true",
                           retriable=status.retriable)
