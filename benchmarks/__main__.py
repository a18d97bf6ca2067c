"""``python -m benchmarks [--quick] [--only NAME ...] [--out DIR]``: run the benchmark modules.

Every public module of this package (a name not starting with ``_``) that defines
``run(quick, out_dir, argv)`` is a benchmark; they run one after the other, in name order.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import OUT_DIR, PACKAGE_DIR


def discover() -> list[str]:
    """Names of the benchmark modules in this package, sorted."""
    names = [m.name for m in pkgutil.iter_modules([str(PACKAGE_DIR)]) if not m.name.startswith("_")]
    return sorted(names)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run the selected benchmark modules; 0 when all of them ran."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="fewer repetitions and no slow anchors (< 2 min per module)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these modules")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="Markdown output directory")
    parser.add_argument("--list", action="store_true", help="list the modules and exit")
    args = parser.parse_args(args_list)
    names = discover()
    if args.list:
        print("\n".join(names))
        return 0
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            parser.error(f"unknown benchmark module(s): {', '.join(unknown)}; have {names}")
        names = [n for n in names if n in args.only]
    command = ["python", "-m", "benchmarks", *args_list]
    failed: list[str] = []
    t0 = time.perf_counter()
    for name in names:
        module = importlib.import_module(f"{__package__}.{name}")
        if not hasattr(module, "run"):
            continue
        print(f"### benchmarks.{name}", flush=True)
        try:
            module.run(args.quick, args.out, command)
        except Exception as exc:  # noqa: BLE001 - one broken module must not stop the others
            print(f"benchmarks.{name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            failed.append(name)
    print(f"all benchmarks: {time.perf_counter() - t0:.0f} s wall"
          + (f"; failed: {', '.join(failed)}" if failed else ""), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
