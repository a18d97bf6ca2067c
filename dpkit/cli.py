"""The ``dpkit`` command line: privacy budgets for reviewers and pipelines.

Sub-commands::

    dpkit epsilon   --noise-multiplier S --sample-rate Q --steps N --delta D [--method M] [--json]
    dpkit calibrate --epsilon E --delta D --sample-rate Q --steps N [--method M] [--json]
    dpkit compose   SPEC.json --delta D [--method M] [--json]
    dpkit demo

``--method`` is ``auto`` (default: the smaller of the certified RDP and PLD bounds, RDP alone
for a ledger with an RDP-only event), ``rdp`` or ``pld``; the output names the method that
decided and, under ``auto``, shows both numbers.

``--steps`` may be replaced by ``--epochs E --dataset-size N --batch-size B`` (then
q = B/N and steps = ceil(E·N/B), the number of batches drawn). Bad input prints one line on
stderr naming the parameter and exits with status 2; there is never a traceback, never a
numpy warning, and ``--json`` output is strict JSON (infinity as the string ``"inf"``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, NoReturn

from . import __version__
from . import _validate as V
from .accounting import Accountant, EpsilonResult, accountant_from_json, dpsgd
from .accounting.rdp import BACKEND_ENV
from .errors import DPKitError

__all__ = ["main", "build_parser"]

EXIT_BAD_INPUT = 2

#: The values of ``--method`` (those of ``method=`` in :mod:`dpkit.accounting`).
METHODS = ("auto", "rdp", "pld")


class _UsageError(Exception):
    """Raised by the argument parser instead of printing usage and exiting."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, no usage dump
        raise _UsageError(message)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


def _add_budget_args(p: argparse.ArgumentParser, *, with_noise: bool) -> None:
    if with_noise:
        p.add_argument("--noise-multiplier", "-s", type=_number, required=True,
                       help="noise std / clipping norm (sigma)")
    p.add_argument("--delta", "-d", type=_number, required=True, help="target delta, in [0, 1)")
    p.add_argument("--sample-rate", "-q", type=_number,
                   help="Poisson sampling rate q in [0, 1] (or give --dataset-size/--batch-size)")
    p.add_argument("--steps", "-n", type=_number, help="number of steps (a whole number)")
    p.add_argument("--epochs", type=_number, help="epochs, with --dataset-size and --batch-size")
    p.add_argument("--dataset-size", type=_number, help="number of training examples N")
    p.add_argument("--batch-size", type=_number, help="expected batch size B (q = B/N)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _add_method_arg(p)


def _add_method_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--method", "-m", choices=METHODS, default="auto",
                   help="auto (default): the smaller of the RDP and PLD upper bounds; rdp: "
                   "Rényi-DP accounting; pld: certified privacy loss distribution")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = _Parser(
        prog="dpkit",
        description="Differential-privacy budgets of DP-SGD and of composed mechanisms "
        "(certified RDP and PLD accounting), with calibration.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    p = sub.add_parser("epsilon", help="epsilon of DP-SGD (Poisson-sampled Gaussian)")
    _add_budget_args(p, with_noise=True)
    p.add_argument("--refine", action="store_true",
                   help="also search real Rényi orders around the best grid order")

    p = sub.add_parser("calibrate", help="smallest noise multiplier for a target epsilon")
    p.add_argument("--epsilon", "-e", type=_number, required=True, help="target epsilon > 0")
    _add_budget_args(p, with_noise=False)

    p = sub.add_parser("compose", help="epsilon of a JSON list of privacy events")
    p.add_argument("spec", help="JSON file ('-' for stdin, UTF-8): a list whose items are "
                   "events (objects with 'type') or {'event': ..., 'count': n} entries (objects "
                   "without 'type'), or an Accountant.to_dict() object")
    p.add_argument("--delta", "-d", type=_number, required=True, help="target delta, in [0, 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    _add_method_arg(p)

    p = sub.add_parser("demo", help="run every mechanism on synthetic data; one composed budget")
    p.add_argument("--seed", type=_seed, default=0,
                   help="random seed, a whole number >= 0 (default 0)")
    p.add_argument("--json", action="store_true", help="print the final budget as JSON")
    return parser


# ------------------------------------------------------------------------------ helpers
def _sampling(args: argparse.Namespace) -> tuple[float, Any, str]:
    """(q, steps, how) from either --sample-rate/--steps or the epoch form."""
    epoch_form = [args.epochs, args.dataset_size, args.batch_size]
    if any(x is not None for x in epoch_form):
        if args.steps is not None or args.sample_rate is not None:
            raise DPKitError("give either --sample-rate and --steps, or --epochs with "
                             "--dataset-size and --batch-size, not both")
        if any(x is None for x in epoch_form):
            raise DPKitError("--epochs needs --dataset-size and --batch-size")
        n = V.integer(minimum=1, dataset_size=args.dataset_size)
        b = V.integer(minimum=1, maximum=n, batch_size=args.batch_size)
        e = V.positive(epochs=args.epochs)
        q = b / n
        # exact: the decimal value of E (as typed) times N over B, rounded up, so the count
        # is never below the number of batches drawn, and never overflows
        steps = math.ceil(Fraction(repr(e)) * n / b)
        if steps > sys.float_info.max:
            raise DPKitError(f"--epochs x --dataset-size / --batch-size gives a "
                             f"{len(str(steps))}-digit number of steps, more than the largest "
                             f"accounted ({sys.float_info.max:.3e})")
        return q, steps, f"q = {b}/{n}, steps = ceil({e:g}·{n}/{b}) = {steps}"
    if args.sample_rate is None or args.steps is None:
        raise DPKitError("--sample-rate and --steps are required (or --epochs, "
                         "--dataset-size and --batch-size)")
    return args.sample_rate, args.steps, ""


def _whole(x: Any) -> int:
    """A step count (already validated as a whole number) as an int, however large."""
    return x if isinstance(x, int) else int(x)


def _fmt(x: float) -> str:
    if math.isinf(x):
        return "inf"
    return f"{x:.6g}"


def _enc(x: Any) -> Any:
    """``x`` as strict JSON: ±infinity as the strings "inf"/"-inf", NaN as null (never
    produced by an accountant; kept for safety), containers recursively."""
    if isinstance(x, dict):
        return {str(k): _enc(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_enc(v) for v in x]
    if isinstance(x, float) or type(x).__module__ == "numpy":
        try:
            f = float(x)
        except (TypeError, ValueError):
            return x
        if math.isnan(f):
            return None
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f if isinstance(x, float) or not float(f).is_integer() else x.item()
    return x


def _print_json(obj: Any) -> None:
    """Print one strict JSON object (no NaN/Infinity tokens)."""
    print(json.dumps(_enc(obj), allow_nan=False))


_METHOD_TEXT = {
    "rdp": "improved RDP conversion (Balle et al. 2020)",
    "pure": "pure DP at order inf",
    "tv": "total-variation bound (Bretagnolle-Huber): epsilon = 0",
    "vacuous": "no finite guarantee",
    "pld": "certified privacy loss distribution (pessimistic connect-the-dots, Doroshenko "
           "et al. 2022; FFT composition)",
}


def _family(res: EpsilonResult) -> str:
    """The method family that decided ``res``: "PLD" or "RDP"."""
    return "PLD" if res.method == "pld" else "RDP"


def _decided(res: EpsilonResult) -> str:
    """``(PLD; RDP gives 2.10136)``: which method decided, and the other one's number when
    both were computed."""
    fam = _family(res)
    other, value = ("RDP", res.rdp_epsilon) if fam == "PLD" else ("PLD", res.pld_epsilon)
    return f"({fam}; {other} gives {_fmt(value)})" if value is not None else f"({fam})"


def _how(res: EpsilonResult) -> str:
    """How the bound was obtained, for the human output."""
    if res.method == "pld":
        return f"upper bound by PLD accounting; {_METHOD_TEXT['pld']}"
    order = "" if math.isnan(res.order) else f" at Rényi order {_fmt(res.order)}"
    return f"upper bound by RDP accounting; {_METHOD_TEXT.get(res.method, res.method)}{order}"


def _methods_json(res: EpsilonResult) -> dict[str, Any]:
    """The ``--json`` keys every result shares: what decided, what was asked, both numbers."""
    return {"method": res.method, "requested": res.requested, "rdp_epsilon": res.rdp_epsilon,
            "pld_epsilon": res.pld_epsilon, "note": res.note}


def _print_note(res: EpsilonResult) -> None:
    if res.note:
        print(f"  note: {res.note}")


def _cmd_epsilon(args: argparse.Namespace) -> int:
    q, steps, how = _sampling(args)
    res = dpsgd.epsilon_details(args.noise_multiplier, q, steps, args.delta, refine=args.refine,
                                method=args.method)
    if args.json:
        _print_json({"epsilon": res.epsilon, "delta": res.delta, "order": res.order,
                     **_methods_json(res), "noise_multiplier": args.noise_multiplier,
                     "sample_rate": q, "steps": _whole(steps), "relation": "add_remove",
                     "accountant": _family(res).lower(), "bound": "upper"})
        return 0
    print(f"epsilon = {_fmt(res.epsilon)}   at delta = {res.delta:g}   {_decided(res)}")
    print(f"  DP-SGD: Poisson-sampled Gaussian, noise multiplier {args.noise_multiplier:g}, "
          f"sample rate {q:g}, {_whole(steps)} steps" + (f" ({how})" if how else ""))
    print(f"  {_how(res)}; add/remove-one adjacency")
    _print_note(res)
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    q, steps, how = _sampling(args)
    sigma = dpsgd.noise_multiplier(args.epsilon, args.delta, q, steps, method=args.method)
    res = dpsgd.epsilon_details(sigma, q, steps, args.delta, method=args.method)
    if args.json:
        _print_json({"noise_multiplier": sigma, "epsilon": res.epsilon, "delta": res.delta,
                     "target_epsilon": args.epsilon, "order": res.order, **_methods_json(res),
                     "sample_rate": q, "steps": _whole(steps)})
        return 0
    print(f"noise_multiplier = {sigma:.6g}   (calibrated with --method {args.method})")
    print(f"  spends epsilon = {res.epsilon:.8g} <= target {args.epsilon:g} at delta = "
          f"{res.delta:g}   {_decided(res)}")
    print(f"  {_how(res)}")
    print(f"  sample rate {q:g}, {_whole(steps)} steps" + (f" ({how})" if how else "")
          + "; Poisson-sampled Gaussian, add/remove-one adjacency")
    _print_note(res)
    return 0


def _load_spec(path: str) -> Any:
    """The parsed JSON of a spec file ('-': stdin), read as UTF-8 (a BOM is allowed)."""
    try:
        if path == "-":
            stream = getattr(sys.stdin, "buffer", None)  # a text-only stdin: read as text
            data = stream.read() if stream is not None else sys.stdin.read().encode("utf-8")
        else:
            with open(path, "rb") as fh:
                data = fh.read()
    except OSError as exc:
        raise DPKitError(f"spec: cannot read {path!r}: {exc.strerror}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DPKitError(f"spec: {path!r} is not UTF-8 text (bad byte at offset {exc.start})"
                         ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DPKitError(f"spec: {path!r} is not valid JSON ({exc.msg} at line {exc.lineno})"
                         ) from None
    except RecursionError:
        raise DPKitError(f"spec: {path!r} is nested too deeply to read (events may be nested "
                         "at most MAX_EVENT_DEPTH = 64 deep)") from None


def accountant_from_spec(spec: Any) -> Accountant:
    """An Accountant from a compose spec (a thin wrapper of
    :func:`dpkit.accounting.accountant_from_json`, which the Python API shares): a non-empty
    list of events and ``{"event", "count"}`` entries, a single one, or an
    ``Accountant.to_dict()`` object."""
    if isinstance(spec, list) and not spec:
        raise DPKitError("spec must be a non-empty JSON list of events")
    return accountant_from_json(spec)


def _cmd_compose(args: argparse.Namespace) -> int:
    acct = accountant_from_spec(_load_spec(args.spec))
    res = acct.epsilon_details(args.delta, method=args.method)
    if args.json:
        out = res.to_dict()
        out.update(_methods_json(res))
        out["ledger"] = [{"event": e.to_dict(), "count": n} for e, n in acct.ledger]
        _print_json(out)
        return 0
    print(f"epsilon = {_fmt(res.epsilon)}   at delta = {res.delta:g}   {_decided(res)}")
    print(f"  {_how(res)}; relation: {res.relation or 'as stated by each event'}")
    _print_note(res)
    for ev, n in acct.ledger:
        print(f"  {n:>12} x {json.dumps(_enc(ev.to_dict()), allow_nan=False)}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(seed=args.seed, as_json=args.json)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``dpkit`` console script; returns the exit status.

    For the duration of the call the accountant's sampled-Gaussian kernels default to numpy
    (unless ``DPKIT_ACCOUNTING_BACKEND`` is set): a one-shot answer takes about a millisecond
    either way, and numba's start-up would cost half a second.
    """
    previous = os.environ.get(BACKEND_ENV)
    if previous is None:
        os.environ[BACKEND_ENV] = "numpy"
    try:
        return _main(argv)
    finally:
        if previous is None:
            os.environ.pop(BACKEND_ENV, None)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.version:
            print(f"dpkit {__version__}")
            return 0
        if args.command is None:
            raise _UsageError("a command is required: epsilon, calibrate, compose or demo "
                              "(dpkit --help lists them)")
        handler = {"epsilon": _cmd_epsilon, "calibrate": _cmd_calibrate,
                   "compose": _cmd_compose, "demo": _cmd_demo}[args.command]
        # Floating-point warnings of intermediate steps (an overflow to ∞ in a bound that is
        # then ∞, an underflow to 0) never reach the user: every result is checked for what
        # it is (never NaN; ∞ printed as "inf"), and errors are one line.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return handler(args)
    except (_UsageError, DPKitError, argparse.ArgumentTypeError, RecursionError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"dpkit: error: {msg}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:  # pragma: no cover - interactive
        print("dpkit: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # pragma: no cover - a bug in dpkit, still no traceback
        print(f"dpkit: internal error: {type(exc).__name__}: {exc} (please report this)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
