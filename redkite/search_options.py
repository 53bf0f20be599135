"""Search options whose meaning every layer shares: ``round_decimal``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import ParamError


def check_round_decimal(value: Any) -> int:
    """Milvus accepts -1 (no rounding) or a number of decimals in [0, 6]."""
    if value is None:
        return -1
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not (
            -1 <= value <= 6):
        raise ParamError(f"`round_decimal` value {value!r} is illegal: it must be an int in "
                         "[-1, 6] (-1: no rounding)")
    return int(value)


def round_distances(distances: np.ndarray, decimals: int) -> np.ndarray:
    """Round as Milvus does (half up: ``floor(d * 10^n + 0.5) / 10^n``); -1 keeps them."""
    if decimals < 0:
        return distances
    scale = 10.0 ** decimals
    return np.floor(np.asarray(distances, np.float64) * scale + 0.5) / scale
