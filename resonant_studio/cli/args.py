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


def seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a seed is a whole number, not {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError("a seed is between 0 and 4294967295")
    return value


def lufs(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a loudness target is a number of LUFS such as -14, not {text!r}") from None
    if not -70.0 <= value <= 0.0:
        raise argparse.ArgumentTypeError("a loudness target is between -70 and 0 LUFS")
    return value
