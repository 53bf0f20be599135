"""``/v2/vectordb/jobs/import/*``: bulk import jobs (spec §4.8) over
:mod:`redkite.engine.imports`.

Files are paths relative to the server's data directory (JSON rows or Parquet, one file per
group). Under ``--auth``, ``create`` needs ``Import`` on the collection, ``describe`` /
``get_progress`` need ``GetImportProgress`` on the job's collection, and ``list`` shows only
the jobs of collections the caller holds ``ListImport`` on.
"""

from __future__ import annotations

from ....engine.imports import import_jobs
from ....errors import ErrorCode, MilvusException
from ..framework import OBJ, STR, Body, RestCall, Route, obj
from ..security import permission_error

P = "/v2/vectordb/jobs/import/"
_FILES = {"type": "array", "items": {"type": "array", "items": {"type": "string"}}}


def create_job(call: RestCall) -> dict:
    name = call.body.str_("collectionName", required=True)
    files = call.body.list_("files", required=True)
    options = call.body.dict_("options", default={})
    job_id = import_jobs(call.db).create(
        call.db_name, name, files, partition_name=call.body.str_("partitionName", default=""),
        options=options)
    return {"jobId": job_id}


def _permitted(call: RestCall, rpc: str, collection: str) -> str | None:
    """Milvus's permission-denied text when auth is on and the caller may not ``rpc`` the
    collection (None: permitted)."""
    if call.user is None or call.auth is None:
        return None
    return permission_error(call.auth, call.user, rpc, Body({"collectionName": collection}),
                            call.db_name)


def list_jobs(call: RestCall) -> dict:
    name = call.body.str_("collectionName", default="")
    records = []
    for job in import_jobs(call.db).list(call.db_name, name):
        if _permitted(call, "ListImports", job["collection_name"]):
            continue
        record = {"jobId": job["job_id"], "collectionName": job["collection_name"],
                  "state": job["state"], "progress": job["progress"]}
        if job["reason"]:
            record["reason"] = job["reason"]
        records.append(record)
    return {"records": records}


def describe_job(call: RestCall) -> dict:
    job = import_jobs(call.db).describe(call.body.str_("jobId", required=True))
    denied = _permitted(call, "GetImportProgress", job["collection_name"])
    if denied:
        raise MilvusException(ErrorCode.UNDEFINED, denied)
    return {"jobId": job["job_id"], "collectionName": job["collection_name"],
            "state": job["state"], "progress": job["progress"],
            "importedRows": job["imported_rows"], "totalRows": job["total_rows"],
            "fileSize": job["file_size"], "createTime": job["create_time"],
            "completeTime": job["complete_time"], **_reason(job),
            "details": [{"fileName": d["file_name"], "fileSize": d["file_size"],
                         "progress": d["progress"], "completeTime": d["complete_time"],
                         "state": d["state"], "importedRows": d["imported_rows"],
                         "totalRows": d["total_rows"], **_reason(d)}
                        for d in job["details"]]}


def _reason(record: dict) -> dict:
    return {"reason": record["reason"]} if record["reason"] else {}


_JOB = obj(("jobId",), jobId=STR)
ROUTES = [
    Route(P + "create", create_job,
          obj(("collectionName", "files"), collectionName=STR, partitionName=STR,
              files=_FILES, options=OBJ),
          "Import", "start importing JSON or Parquet files into a collection"),
    Route(P + "list", list_jobs, obj(collectionName=STR), "",
          "the import jobs of the database (or of one collection)"),
    Route(P + "describe", describe_job, _JOB, "", "state and progress of an import job"),
    Route(P + "get_progress", describe_job, _JOB, "",
          "state and progress of an import job (deprecated alias of describe)"),
]
