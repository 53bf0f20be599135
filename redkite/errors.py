"""The redkite exception tree.

Every failure a user can cause surfaces as a :class:`MilvusException` (or a
subclass) carrying a Milvus error code and a message naming the field, value or
position at fault::

    MilvusException                       code 1 (unexpected) unless stated
    ├── ParamError                        1100 parameter invalid
    │   ├── DataNotMatchException         1100 row data does not fit the schema
    │   ├── DataTypeNotMatchException     1100
    │   ├── PrimaryKeyException           1100
    │   ├── AutoIDException               1100
    │   └── FilterSyntaxError             1100 (message shows the filter and a caret)
    ├── CollectionNotExistException       100
    │   └── DescribeCollectionException   100
    ├── PartitionNotExistException        200
    ├── PartitionAlreadyExistException    65535 (undefined, as Milvus)
    ├── IndexNotExistException            700
    ├── FieldNotExistException            1700
    ├── SchemaMismatchRetryableException  109
    ├── DatabaseLockedError               2   (another process holds the database)
    ├── StorageCorruptedError             1001 (checksum, manifest, truncated file)
    └── ConnectionConfigException         1   (bad uri)

Class names follow pymilvus so code catching ``pymilvus.exceptions.X`` ports by
changing the import.
"""

from __future__ import annotations

from enum import IntEnum


class ErrorCode(IntEnum):
    """Milvus error codes (``merr`` in the Milvus server) used by redkite."""

    SUCCESS = 0
    UNEXPECTED_ERROR = 1
    SERVICE_UNAVAILABLE = 2
    SERVICE_UNIMPLEMENTED = 10
    COLLECTION_NOT_FOUND = 100
    COLLECTION_SCHEMA_MISMATCH = 109
    PARTITION_NOT_FOUND = 200
    SEGMENT_NOT_FOUND = 600
    INDEX_NOT_FOUND = 700
    INDEX_NOT_SUPPORTED = 701
    DATABASE_NOT_FOUND = 800
    IO_FAILED = 1001
    PARAMETER_INVALID = 1100
    PARAMETER_MISSING = 1101
    PARAMETER_TOO_LARGE = 1102
    METRIC_NOT_FOUND = 1200
    ALIAS_NOT_FOUND = 1600
    FIELD_NOT_FOUND = 1700
    UNDEFINED = 65535


class MilvusException(Exception):
    """Base of every redkite error: a Milvus ``code`` and a human ``message``."""

    default_code: int = ErrorCode.UNEXPECTED_ERROR

    def __init__(self, code: int | None = None, message: str = "", *,
                 is_input_error: bool = False, retriable: bool = False) -> None:
        super().__init__(message)
        self._code = int(self.default_code if code is None else code)
        self._message = message
        self._is_input_error = is_input_error
        self._retriable = retriable

    @property
    def code(self) -> int:
        return self._code

    @property
    def message(self) -> str:
        return self._message

    @property
    def is_input_error(self) -> bool:
        return self._is_input_error

    @property
    def retriable(self) -> bool:
        return self._retriable

    def __str__(self) -> str:
        return f"<{type(self).__name__}: (code={self._code}, message={self._message})>"


class ParamError(MilvusException):
    default_code = ErrorCode.PARAMETER_INVALID

    def __init__(self, code: int | None = None, message: str = "", **kwargs) -> None:
        # Allow ParamError("message") as a convenience.
        if isinstance(code, str) and not message:
            code, message = None, code
        super().__init__(code, message, is_input_error=True, **kwargs)


class DataNotMatchException(ParamError):
    pass


class DataTypeNotMatchException(ParamError):
    pass


class PrimaryKeyException(ParamError):
    pass


class AutoIDException(ParamError):
    pass


class FilterSyntaxError(ParamError):
    """A filter expression that does not parse or does not bind to the schema."""


def _coded(name: str, code: int, doc: str) -> type[MilvusException]:
    def __init__(self, code_or_message=None, message: str = "", **kwargs):
        if isinstance(code_or_message, str) and not message:
            code_or_message, message = None, code_or_message
        MilvusException.__init__(self, code_or_message, message, **kwargs)

    return type(name, (MilvusException,), {"default_code": code, "__doc__": doc,
                                           "__init__": __init__})


CollectionNotExistException = _coded(
    "CollectionNotExistException", ErrorCode.COLLECTION_NOT_FOUND, "Unknown collection.")
PartitionNotExistException = _coded(
    "PartitionNotExistException", ErrorCode.PARTITION_NOT_FOUND, "Unknown partition.")
PartitionAlreadyExistException = _coded(
    "PartitionAlreadyExistException", ErrorCode.UNDEFINED, "Partition name taken.")
IndexNotExistException = _coded(
    "IndexNotExistException", ErrorCode.INDEX_NOT_FOUND, "Unknown index.")
FieldNotExistException = _coded(
    "FieldNotExistException", ErrorCode.FIELD_NOT_FOUND, "Unknown field.")
SchemaMismatchRetryableException = _coded(
    "SchemaMismatchRetryableException", ErrorCode.COLLECTION_SCHEMA_MISMATCH,
    "The request was built against an older schema of the collection.")
DatabaseLockedError = _coded(
    "DatabaseLockedError", ErrorCode.SERVICE_UNAVAILABLE,
    "The database directory is held by another process.")
StorageCorruptedError = _coded(
    "StorageCorruptedError", ErrorCode.IO_FAILED,
    "A file of the database failed its integrity check.")
ConnectionConfigException = _coded(
    "ConnectionConfigException", ErrorCode.UNEXPECTED_ERROR, "Bad connection uri.")
DatabaseNotExistException = _coded(
    "DatabaseNotExistException", ErrorCode.DATABASE_NOT_FOUND, "Unknown database.")
AliasNotExistException = _coded(
    "AliasNotExistException", ErrorCode.ALIAS_NOT_FOUND, "Unknown alias.")


class DescribeCollectionException(CollectionNotExistException):  # type: ignore[misc,valid-type]
    pass


__all__ = [
    "ErrorCode", "MilvusException", "ParamError", "DataNotMatchException",
    "DataTypeNotMatchException", "PrimaryKeyException", "AutoIDException", "FilterSyntaxError",
    "CollectionNotExistException", "DescribeCollectionException", "PartitionNotExistException",
    "PartitionAlreadyExistException", "IndexNotExistException", "FieldNotExistException",
    "SchemaMismatchRetryableException", "DatabaseLockedError", "StorageCorruptedError",
    "ConnectionConfigException", "DatabaseNotExistException", "AliasNotExistException",
]
