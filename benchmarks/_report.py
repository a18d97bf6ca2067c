"""Reporting helpers: fixed-width and Markdown tables, progress, number formats, machine info."""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import os
import platform
import subprocess
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

__all__ = [
    "Table",
    "Progress",
    "fmt_time",
    "fmt_ratio",
    "fmt_num",
    "fmt_mib",
    "machine_info",
    "machine_markdown",
    "write_markdown",
    "module_main",
]


def fmt_time(seconds: float) -> str:
    """Seconds with three significant digits and a unit (µs, ms or s)."""
    if not math.isfinite(seconds):
        return str(seconds)
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def fmt_ratio(ratio: float | None) -> str:
    """An anchor/dpkit ratio such as ``"12.3×"`` (``"—"`` when unknown)."""
    if ratio is None or not math.isfinite(ratio):
        return "—"
    if ratio >= 100:
        return f"{ratio:,.0f}×"
    if ratio >= 10:
        return f"{ratio:.1f}×"
    return f"{ratio:.2f}×"


def fmt_num(value: Any, digits: int = 6) -> str:
    """A number with ``digits`` significant digits (inf/nan spelled out; non-numbers as str)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"


def fmt_mib(kib: float) -> str:
    """KiB (as ``ru_maxrss`` reports on Linux) as MiB with one decimal."""
    return f"{kib / 1024:.1f} MiB"


class Table:
    """A titled table rendered as fixed-width text (stdout) or as GitHub Markdown.

    The first column is left-aligned, the others right-aligned. ``notes`` are printed under
    the table.
    """

    def __init__(self, title: str, columns: Sequence[str], notes: Sequence[str] = ()) -> None:
        self.title = title
        self.columns = list(columns)
        self.rows: list[list[str]] = []
        self.notes = list(notes)

    def add(self, *cells: Any) -> None:
        """Append a row (cells are converted with ``str``)."""
        if len(cells) != len(self.columns):
            raise ValueError(f"expected {len(self.columns)} cells, got {len(cells)}")
        self.rows.append([str(c) for c in cells])

    def text(self) -> str:
        """Fixed-width rendering with a title line and a rule under the header."""
        widths = [len(c) for c in self.columns]
        for row in self.rows:
            widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

        def line(cells: Sequence[str]) -> str:
            parts = [
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            ]
            return "  ".join(parts).rstrip()

        rule = "  ".join("-" * w for w in widths)
        out = [self.title, "=" * len(self.title), line(self.columns), rule]
        out += [line(r) for r in self.rows]
        out += [f"  {n}" for n in self.notes]
        return "\n".join(out)

    def markdown(self, level: int = 3) -> str:
        """GitHub Markdown with a heading of the given level."""
        def esc(c: str) -> str:
            return c.replace("|", "\\|")

        out = [f"{'#' * level} {self.title}", ""]
        out.append("| " + " | ".join(esc(c) for c in self.columns) + " |")
        out.append("|" + "|".join(["---"] + ["--:"] * (len(self.columns) - 1)) + "|")
        out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in self.rows]
        if self.notes:
            out.append("")
            out += [f"- {n}" for n in self.notes]
        return "\n".join(out)


class Progress:
    """Progress on stderr: a tqdm bar when stderr is a TTY, else one plain line per step."""

    def __init__(self, total: int, desc: str, stream: TextIO | None = None) -> None:
        self.total = total
        self.desc = desc
        self.count = 0
        self.stream = stream if stream is not None else sys.stderr
        self._bar: Any = None
        if self.stream.isatty():
            try:
                from tqdm import tqdm
            except ImportError:  # tqdm is optional (dpkit[progress])
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=total, desc=desc, file=self.stream, leave=False)

    def start(self, label: str) -> None:
        """Announce the step about to run."""
        if self._bar is not None:
            self._bar.set_postfix_str(label, refresh=True)
        else:
            print(f"[{self.desc} {self.count + 1}/{self.total}] {label}", file=self.stream,
                  flush=True)

    def done(self) -> None:
        """Mark the current step finished."""
        self.count += 1
        if self._bar is not None:
            self._bar.update(1)

    def close(self) -> None:
        """Remove the bar."""
        if self._bar is not None:
            self._bar.close()


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_revision(cwd: Path) -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=cwd,
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=cwd, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not head:
        return "unknown"
    return head + (" + uncommitted changes" if dirty.strip() else "")


def machine_info() -> dict[str, str]:
    """Machine, library versions, date and load, for a results header."""
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024**2:.0f} GiB RAM"
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "date": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "machine": f"{_cpu_model()}, {os.cpu_count()} logical cores, {mem}, no GPU used",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "scipy": _version("scipy"),
        "dpkit": f"{_version('dpkit')} (git {_git_revision(Path(__file__).parent)})",
        "dp-accounting": _version("dp-accounting"),
        "opacus": f"{_version('opacus')} (torch {_version('torch')})",
        "prv-accountant": _version("prv-accountant"),
        "load average at start (1/5/15 min)": load,
    }


def machine_markdown(info: dict[str, str]) -> str:
    """The :func:`machine_info` dict as a Markdown bullet list."""
    return "\n".join(f"- **{k}**: {v}" for k, v in info.items())


def write_markdown(out_dir: Path, name: str, lines: Sequence[str]) -> Path:
    """Write a benchmark's Markdown report to ``out_dir/<name>.md`` and say where."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.md"
    path.write_text("\n".join(lines))
    print(f"wrote {path}", flush=True)
    return path


def module_main(name: str, doc: str, run: Callable[[bool, Path, list[str]], Any],
                argv: Sequence[str] | None, out_dir: Path, quick_help: str) -> int:
    """The ``python -m benchmarks.<name> [--quick] [--out DIR]`` entry point of a module."""
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{name}",
                                     description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--out", type=Path, default=out_dir, help="Markdown output directory")
    args = parser.parse_args(argv)
    run(args.quick, args.out, ["python", "-m", f"benchmarks.{name}",
                               *(argv if argv is not None else sys.argv[1:])])
    return 0
