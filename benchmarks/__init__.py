"""dpkit benchmarks: dpkit side by side with the anchor libraries, on the same machine.

Run every benchmark module with ``python -m benchmarks`` (add ``--quick`` for a short run), or
one module with ``python -m benchmarks.accounting``. Each module prints fixed-width tables to
stdout and writes the same tables as Markdown to ``benchmarks/out/<module>.md``.

Shared helpers live in :mod:`benchmarks._timing` (warm-up, medians, subprocess workers with a
time limit and a memory cap) and :mod:`benchmarks._report` (tables, progress, machine info).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["OUT_DIR", "PACKAGE_DIR"]

#: This package's directory.
PACKAGE_DIR: Path = Path(__file__).resolve().parent

#: Where the Markdown tables go (git-ignored).
OUT_DIR: Path = PACKAGE_DIR / "out"
