"""The SDK: MilvusClient over a transport chosen from the uri."""

from .milvus_client import MilvusClient

__all__ = ["MilvusClient"]
