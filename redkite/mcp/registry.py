"""How tools are declared: each tool module lists ``ToolSpec``s (function, title,
annotations); the server registers them, leaving out the writing ones in read-only
mode. Annotations are hints for clients; read-only mode is enforced by not registering
the writing tools at all."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from mcp.types import ToolAnnotations

READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
ADD = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                      open_world_hint=False)
SET = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True,
                      open_world_hint=False)
# Replaces or removes data; repeating the call changes nothing more.
DESTRUCTIVE = ToolAnnotations(read_only_hint=False, destructive_hint=True,
                              idempotent_hint=True, open_world_hint=False)


@dataclass(frozen=True)
class ToolSpec:
    fn: Callable[..., Any]
    title: str
    annotations: ToolAnnotations

    @property
    def writes(self) -> bool:
        return not self.annotations.read_only_hint

    @property
    def name(self) -> str:
        return self.fn.__name__
