"""``/v2/vectordb/partitions/*``: partition DDL, load state and statistics (spec §4.3)."""

from __future__ import annotations

from ..framework import STR, STRS, RestCall, Route, obj

P = "/v2/vectordb/partitions/"
_ONE = obj(("collectionName", "partitionName"), collectionName=STR, partitionName=STR)
_MANY = obj(("collectionName", "partitionNames"), collectionName=STR, partitionNames=STRS)


def _collection(call: RestCall) -> str:
    return call.body.str_("collectionName", required=True)


def _partition(call: RestCall) -> str:
    return call.body.str_("partitionName", required=True)


def list_partitions(call: RestCall) -> list[str]:
    return call.db.list_partitions(call.db_name, _collection(call))


def has_partition(call: RestCall) -> dict:
    name, partition = _collection(call), _partition(call)
    return {"has": call.db.has_partition(call.db_name, name, partition)}


def get_stats(call: RestCall) -> dict:
    name, partition = _collection(call), _partition(call)
    stats = call.db.get_partition_stats(call.db_name, name, partition)
    return {"rowCount": stats["row_count"]}


def create_partition(call: RestCall) -> None:
    name, partition = _collection(call), _partition(call)
    call.db.create_partition(call.db_name, name, partition)


def drop_partition(call: RestCall) -> None:
    name, partition = _collection(call), _partition(call)
    call.db.drop_partition(call.db_name, name, partition)


def load_partitions(call: RestCall) -> None:
    name = _collection(call)
    call.db.load_partitions(call.db_name, name,
                            call.body.str_list("partitionNames", required=True))


def release_partitions(call: RestCall) -> None:
    name = _collection(call)
    call.db.release_partitions(call.db_name, name,
                               call.body.str_list("partitionNames", required=True))


ROUTES = [
    Route(P + "list", list_partitions, obj(("collectionName",), collectionName=STR),
          "ShowPartitions", "names of the collection's partitions"),
    Route(P + "has", has_partition, _ONE, "HasPartition", "whether a partition exists"),
    Route(P + "get_stats", get_stats, _ONE, "GetPartitionStatistics",
          "row count of a partition"),
    Route(P + "create", create_partition, _ONE, "CreatePartition", "create a partition"),
    Route(P + "drop", drop_partition, _ONE, "DropPartition",
          "drop a partition (it must be released)"),
    Route(P + "load", load_partitions, _MANY, "LoadPartitions", "load partitions"),
    Route(P + "release", release_partitions, _MANY, "ReleasePartitions",
          "release partitions"),
]
