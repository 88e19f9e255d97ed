"""argparse types shared by the CLI modules: each turns bad text into one readable sentence."""

from __future__ import annotations

import argparse
from typing import Callable


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, not {value}")
    return value


def positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    """A type for numbers above 0 of ``kind`` (int or float)."""
    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be above 0, not {text}")
        return value
    return convert


def _ranged(kind: type, text: str, low: float, high: float, not_a_number: str, out_of_range: str):
    """``text`` as ``kind`` in ``[low, high]``; each failure one sentence."""
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(not_a_number.format(text=text)) from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(out_of_range)
    return value


def seed(text: str) -> int:
    return _ranged(int, text, 0, 2**32 - 1, "a seed is a whole number, not {text!r}",
                   "a seed is between 0 and 4294967295")


def lufs(text: str) -> float:
    return _ranged(float, text, -70.0, 0.0, "a loudness target is a number of LUFS such as -14, not {text!r}",
                   "a loudness target is between -70 and 0 LUFS")
