"""``/v2/vectordb/{common,segments,quotacenter}/*``: the analyzer, segment descriptions and
quota metrics (spec §4.10)."""

from __future__ import annotations

import json

from ..framework import BOOL, INT, STR, STRS, RestCall, RestError, Route, obj

# Milvus's commonpb.SegmentState and SegmentLevel numbers
_SEGMENT_STATES = {"Growing": 2, "Sealed": 4}  # a sealed segment here is persisted: Flushed
_LEVEL_L1 = 2
# run_analyzer token keys, engine -> REST (camelCase as Milvus's handler writes them)
_TOKEN_KEYS = {"token": "token", "start_offset": "startOffset", "end_offset": "endOffset",
               "position": "position", "position_length": "positionLength", "hash": "hash"}


def run_analyzer(call: RestCall) -> dict:
    body = call.body
    texts = body.str_list("text", required=True)
    raw_params = body.get("analyzerParams")
    if raw_params is not None and not isinstance(raw_params, str):
        raise RestError(1801, "analyzerParams must be a JSON text (a string), got "
                              f"{type(raw_params).__name__}")
    try:
        params = json.loads(raw_params) if raw_params else None
    except ValueError as exc:
        raise RestError(1801, f"analyzerParams is not valid JSON: {exc}") from None
    results = call.db.run_analyzer(
        call.db_name, texts, analyzer_params=params,
        with_hash=body.bool_("withHash", default=False),
        with_detail=body.bool_("withDetail", default=False),
        collection_name=body.str_("collectionName", default="") or None,
        field_name=body.str_("fieldName", default="") or None,
        analyzer_names=body.str_list("analyzerNames", default=None) or None)
    return {"results": [{"tokens": [_token(token) for token in tokens]}
                        for tokens in results]}


def _token(token) -> dict:
    if not isinstance(token, dict):
        return {"token": token}
    return {_TOKEN_KEYS.get(key, key): value for key, value in token.items()}


def describe_segments(call: RestCall) -> dict:
    collection_id = call.body.int_("collectionID", required=True)
    wanted = call.body.list_("segmentIDs", default=[])
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in wanted):
        raise RestError(1801, f"segmentIDs must be a list of integers, got {wanted!r}")
    infos = call.db.describe_segments(collection_id, wanted or None)
    return {"segmentInfos": [{
        "segmentID": info["segment_id"], "collectionID": info["collection_id"],
        "partitionID": info["partition_id"],
        "vChannel": f"redkite-dml_{info['collection_id']}v0",
        "numRows": info["num_rows"], "state": _SEGMENT_STATES[info["state"]],
        "level": _LEVEL_L1, "isSorted": False,
        # redkite keeps a segment in one Arrow file, not per-field binlogs: no log ids
        "insertLogs": [], "deltaLogs": [], "statsLogs": []} for info in infos]}


def describe_quota(call: RestCall) -> str:
    """Milvus answers the quota center's metrics as JSON text; redkite enforces no rate
    limits or quotas, and says so."""
    return json.dumps({"quotaAndLimitsEnabled": False, "rates": {}})


ROUTES = [
    Route("/v2/vectordb/common/run_analyzer", run_analyzer,
          obj(("text",), text=STRS, analyzerParams=STR, withDetail=BOOL, withHash=BOOL,
              collectionName=STR, fieldName=STR, analyzerNames=STRS),
          "RunAnalyzer", "tokens of texts, by analyzer parameters or a field's analyzer"),
    Route("/v2/vectordb/segments/describe", describe_segments,
          obj(("collectionID",), collectionID=INT, segmentIDs={"type": "array",
                                                               "items": INT}),
          "GetPersistentSegmentInfo", "the segments of a collection"),
    Route("/v2/vectordb/quotacenter/describe", describe_quota, obj(),
          "GetQuotaMetrics", "quota and rate-limit metrics (JSON text)"),
]
