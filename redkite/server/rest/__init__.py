"""The Milvus RESTful API v2 of ``redkite serve`` (``POST /v2/vectordb/...``)."""

from .app import RestApp
from .framework import Body, Reply, RestCall, RestError, Route

__all__ = ["Body", "Reply", "RestApp", "RestCall", "RestError", "Route"]
