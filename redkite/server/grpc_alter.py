"""MilvusService RPCs that change existing objects: collection, field, index and database
properties, fields added or dropped, collection functions, and FlushAll.

Mixed into :class:`~redkite.server.grpc_service.MilvusServicer`; each RPC translates its
request into one :class:`~redkite.engine.database.Database` call (see
:mod:`redkite.engine.alter` for the rules). pymilvus 3.0.2 sends ``add_collection_field``
as AlterCollectionSchema (falling back to AddCollectionField) and ``drop_collection_field``
as AlterCollectionSchema; ``drop_*_properties`` are the Alter RPCs with ``delete_keys``.
"""

from __future__ import annotations

import time
from typing import Any

from ..errors import ParamError
from ..protocol import milvus_pb2, schema_pb2
from ..protocol.schema_codec import field_from_proto, function_from_proto, hybrid_ts
from ..protocol.values import kv_dict
from .rpc import reject_unknown_fields, rpc


def _schema_response(status: Any, **fields: Any) -> Any:
    """AlterCollectionSchema's reply carries its status as ``alter_status``."""
    return milvus_pb2.AlterCollectionSchemaResponse(alter_status=status, **fields)


def _properties_or_keys(request: Any, what: str) -> tuple[dict, list]:
    """An Alter request sets ``properties`` or deletes ``delete_keys``, not both (Milvus)."""
    properties = kv_dict(getattr(request, "properties", None) or getattr(
        request, "extra_params", None) or [])
    keys = list(request.delete_keys)
    if properties and keys:
        raise ParamError(f"{what}: can not provide properties and delete_keys at the same "
                         "time")
    return properties, keys


def _field_of(proto: Any) -> Any:
    """The FieldSchema an add-field request carries (its id is the server's to assign)."""
    reject_unknown_fields(proto)
    field = field_from_proto(proto)
    field.field_id = 0
    return field


class AlterRpcs:
    """Schema and property changes (needs ``self.call`` and ``self.db``)."""

    # ---- collection properties -------------------------------------------------------------
    @rpc(None)
    def AlterCollection(self, request, context):
        properties, keys = _properties_or_keys(request, "AlterCollection")
        if keys:
            self.call("drop_collection_properties", request, context,
                      name=request.collection_name, property_keys=keys)
        else:
            self.call("alter_collection_properties", request, context,
                      name=request.collection_name, properties=properties)

    # ---- fields ------------------------------------------------------------------------------
    @rpc(None)
    def AlterCollectionField(self, request, context):
        properties, keys = _properties_or_keys(request, "AlterCollectionField")
        if keys:
            raise ParamError(f"AlterCollectionField: field parameters cannot be deleted "
                             f"(delete_keys={keys}); set a new value instead")
        self.call("alter_collection_field", request, context, name=request.collection_name,
                  field_name=request.field_name, field_params=properties)

    @rpc(None)
    def AddCollectionField(self, request, context):
        try:
            proto = schema_pb2.FieldSchema.FromString(request.schema)
        except Exception as exc:  # noqa: BLE001 - malformed bytes from the client
            raise ParamError(f"AddCollectionField: the field schema bytes do not parse: "
                             f"{exc}") from None
        self.call("add_collection_field", request, context, name=request.collection_name,
                  field=_field_of(proto))

    @rpc(_schema_response)
    def AlterCollectionSchema(self, request, context):
        action = request.action
        kind = action.WhichOneof("op")
        if kind == "add_request":
            self._add_by_schema_action(request, context, action.add_request)
        elif kind == "drop_request":
            self._drop_by_schema_action(request, context, action.drop_request)
        else:
            raise ParamError("AlterCollectionSchema: the request holds no add or drop action")

    def _add_by_schema_action(self, request, context, add) -> None:
        if add.func_schema:
            raise ParamError("AlterCollectionSchema: adding a function with its output field "
                             "is not supported (BM25, redkite's only function type, is "
                             "declared at creation)")
        if len(add.field_infos) != 1:
            raise ParamError(f"AlterCollectionSchema: add one field per request, got "
                             f"{len(add.field_infos)}")
        info = add.field_infos[0]
        if info.index_name or info.extra_params:
            raise ParamError("AlterCollectionSchema: an index built with the added field is "
                             "not supported; create it with CreateIndex afterwards")
        self.call("add_collection_field", request, context, name=request.collection_name,
                  field=_field_of(info.field_schema))

    def _drop_by_schema_action(self, request, context, drop) -> None:
        target = drop.WhichOneof("identifier")
        if target == "function_name":
            self.call("drop_collection_function", request, context,
                      name=request.collection_name, function_name=drop.function_name)
            return
        if target == "field_id":
            info = self.call("describe_collection", request, context,
                             name=request.collection_name)
            names = [f["name"] for f in info["fields"] if f["field_id"] == drop.field_id]
            if not names:
                raise ParamError(f"field not found[field_id={drop.field_id}] in collection "
                                 f"{request.collection_name!r}")
            field_name = names[0]
        elif target == "field_name":
            field_name = drop.field_name
        else:
            raise ParamError("AlterCollectionSchema: the drop action names no field or "
                             "function")
        self.call("drop_collection_field", request, context, name=request.collection_name,
                  field_name=field_name)

    # ---- functions ---------------------------------------------------------------------------
    @rpc(None)
    def AddCollectionFunction(self, request, context):
        self.call("add_collection_function", request, context, name=request.collection_name,
                  function=function_from_proto(request.functionSchema))

    @rpc(None)
    def AlterCollectionFunction(self, request, context):
        self.call("alter_collection_function", request, context,
                  name=request.collection_name, function_name=request.function_name,
                  function=function_from_proto(request.functionSchema))

    @rpc(None)
    def DropCollectionFunction(self, request, context):
        self.call("drop_collection_function", request, context,
                  name=request.collection_name, function_name=request.function_name)

    # ---- index properties --------------------------------------------------------------------
    @rpc(None)
    def AlterIndex(self, request, context):
        properties, keys = _properties_or_keys(request, "AlterIndex")
        if keys:
            self.call("drop_index_properties", request, context, name=request.collection_name,
                      index_name=request.index_name, property_keys=keys)
        else:
            self.call("alter_index_properties", request, context,
                      name=request.collection_name, index_name=request.index_name,
                      properties=properties)

    # ---- database properties -----------------------------------------------------------------
    @rpc(None)
    def AlterDatabase(self, request, context):
        properties, keys = _properties_or_keys(request, "AlterDatabase")
        name = request.db_name or "default"
        if keys:
            self.db.drop_database_properties(name, property_keys=keys)
        else:
            self.db.alter_database_properties(name, properties=properties)

    # ---- flush all ---------------------------------------------------------------------------
    @rpc(milvus_pb2.FlushAllResponse)
    def FlushAll(self, request, context):
        self.db.flush_all()
        return {"flush_all_ts": hybrid_ts(int(time.time() * 1000))}

    @rpc(milvus_pb2.GetFlushAllStateResponse)
    def GetFlushAllState(self, request, context):
        return {"flushed": self.db.get_flush_all_state()}
