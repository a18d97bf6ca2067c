"""The contract check applied to one generated call, and the registry of specs.

``check_call(fn, call, spec)``:

* the call returns or raises a :class:`~dpkit.errors.DPKitError` (any other exception, and
  any warning — RuntimeWarning included, run under ``simplefilter("error")`` — fails);
* no input array (top level, inside lists / tuples / dicts, or one level inside a dataclass)
  is modified;
* with an int ``rng`` seed the same call gives the same output;
* every privacy event in the output has an RDP curve without NaN or negative values, a
  ``to_dict`` that ``json.dumps(..., allow_nan=False)`` accepts and that round-trips through
  ``event_from_dict``;
* where the spec says so, every float in the output is finite.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from dpkit.accounting import DEFAULT_ORDERS, Event, event_from_dict
from dpkit.errors import DPKitError

from .strategies import Call, demo_rng


@dataclass
class Spec:
    """How to call one public callable: a strategy of :class:`Call` and the checks that apply.

    ``seed``: the name of the rng argument (positional index or keyword) whose int value must
    reproduce the output; ``finite``: outputs documented finite; ``examples``: max_examples.
    """

    calls: st.SearchStrategy[Call]
    seed: str | int | None = None
    finite: bool = False
    examples: int = 60


@dataclass
class Record:
    """A public class that only carries results (no behaviour to fuzz), with the reason."""

    reason: str


SPECS: dict[str, Spec | Record] = {}


def qualname(obj: Any) -> str:
    """Canonical name of a public callable: its defining module and qualified name."""
    return f"{obj.__module__}.{obj.__qualname__}"


def spec(target: Any, *, seed: str | int | None = None, finite: bool = False,
         examples: int = 60) -> Callable[[Callable[..., Call]], Callable[..., Call]]:
    """Register ``fn(draw) -> Call`` as the call strategy of ``target``."""

    def deco(fn: Callable[..., Call]) -> Callable[..., Call]:
        key = qualname(target)
        assert key not in SPECS, f"two specs for {key}"
        SPECS[key] = Spec(st.composite(fn)(), seed=seed, finite=finite, examples=examples)
        return fn

    return deco


def record(target: Any, reason: str) -> None:
    """Register a result-record class (constructed by dpkit, read by the caller)."""
    key = qualname(target)
    assert key not in SPECS, f"two specs for {key}"
    SPECS[key] = Record(reason)


def demo_spec(module: Any) -> None:
    """The spec of a mechanism's ``demo_section(rng)`` when the module still exports one."""
    if "demo_section" in getattr(module, "__all__", ()):
        spec(module.demo_section, examples=2)(lambda draw: Call((demo_rng(draw),)))


# ----------------------------------------------------------------------------- comparisons
def _arrays_in(value: Any, depth: int = 0) -> list[np.ndarray]:
    if isinstance(value, np.ndarray):
        return [value]
    if depth > 2:
        return []
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in _arrays_in(v, depth + 1)]
    if isinstance(value, dict):
        return [a for v in value.values() for a in _arrays_in(v, depth + 1)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [a for f in dataclasses.fields(value)
                for a in _arrays_in(getattr(value, f.name, None), depth + 1)]
    return []


def same(a: Any, b: Any) -> bool:
    """Structural equality; NaN equals NaN; arrays compared by dtype, shape and values."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.kind in "fc":
            return bool(np.array_equal(a, b, equal_nan=True))
        return bool(np.array_equal(a, b))
    if isinstance(a, (float, np.floating)):
        return bool(a == b or (a != a and b != b))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if dataclasses.is_dataclass(a):
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if callable(a):
        return True  # closures (e.g. aggregators) compare by behaviour elsewhere
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 (an odd type: fall back to identity)
        return a is b


def _walk(value: Any, depth: int = 0):  # noqa: ANN202 (generator of leaves)
    yield value
    if depth > 3:
        return
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _walk(v, depth + 1)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _walk(v, depth + 1)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _walk(getattr(value, f.name, None), depth + 1)


# ----------------------------------------------------------------------------- event checks
def check_event(ev: Event) -> None:
    """An event's RDP curve is never NaN or negative; its JSON is strict and round-trips."""
    curve = np.asarray(ev.rdp(np.asarray(DEFAULT_ORDERS, dtype=float)), dtype=float)
    assert not np.isnan(curve).any(), f"{ev!r}: NaN in the RDP curve"
    assert (curve >= 0).all(), f"{ev!r}: negative RDP values {curve[curve < 0][:3]}"
    eps_inf = ev.epsilon_inf() if hasattr(ev, "epsilon_inf") else None
    if eps_inf is not None:
        assert not np.isnan(eps_inf) and eps_inf >= 0, f"{ev!r}: epsilon_inf {eps_inf}"
    d = ev.to_dict()
    text = json.dumps(d, allow_nan=False)
    back = event_from_dict(json.loads(text))
    assert type(back) is type(ev), f"{ev!r} round-trips to {back!r}"
    curve2 = np.asarray(back.rdp(np.asarray(DEFAULT_ORDERS, dtype=float)), dtype=float)
    assert np.array_equal(curve, curve2, equal_nan=True), f"{ev!r}: round-trip changes RDP"


def check_output(out: Any, finite: bool) -> None:
    for leaf in _walk(out):
        if isinstance(leaf, Event):
            check_event(leaf)
        if finite:
            if isinstance(leaf, np.ndarray) and leaf.dtype.kind in "fc":
                assert np.isfinite(leaf).all(), "non-finite values in a documented-finite output"
            elif isinstance(leaf, (float, np.floating)):
                assert np.isfinite(leaf), f"non-finite output {leaf}"


# ----------------------------------------------------------------------------- the call
class _Watchdog:
    """Development aid only (DPKIT_CONTRACT_WATCHDOG=seconds): turn a hang into a failure."""

    def __init__(self) -> None:
        self.seconds = int(os.environ.get("DPKIT_CONTRACT_WATCHDOG", "0"))

    def __enter__(self) -> None:
        if self.seconds:
            def fire(*_: Any) -> None:
                raise TimeoutError(f"call ran past the {self.seconds} s watchdog")
            signal.signal(signal.SIGALRM, fire)
            signal.alarm(self.seconds)

    def __exit__(self, *exc: Any) -> None:
        if self.seconds:
            signal.alarm(0)


def invoke(fn: Callable[..., Any], call: Call) -> tuple[bool, Any]:
    """(True, output) or (False, the DPKitError); any other exception or warning propagates."""
    with warnings.catch_warnings(), _Watchdog():
        warnings.simplefilter("error")
        try:
            return True, fn(*call.args, **call.kwargs)
        except DPKitError as exc:
            assert str(exc).strip(), "a DPKitError with an empty message"
            return False, exc


def _seed_value(call: Call, seed: str | int | None) -> Any:
    if seed is None:
        return None
    if isinstance(seed, int):
        return call.args[seed] if seed < len(call.args) else None
    return call.kwargs.get(seed)


def check_call(fn: Callable[..., Any], call: Call, sp: Spec) -> Any:
    """Run the contract on one call; returns the output (or the DPKitError)."""
    inputs = _arrays_in(call.args) + _arrays_in(call.kwargs)
    before = [(a, a.copy(), a.flags.writeable) for a in inputs]
    ok, out = invoke(fn, call)
    for arr, copy, writeable in before:
        assert same(arr, copy), f"input array modified in place: {copy!r} -> {arr!r}"
        assert arr.flags.writeable == writeable, "input array's writeable flag changed"
    if not ok:
        return out
    check_output(out, sp.finite)
    s = _seed_value(call, sp.seed)
    if isinstance(s, int) and not isinstance(s, bool) and s >= 0:
        ok2, out2 = invoke(fn, call)
        assert ok2, f"second call with the same seed raised {out2!r}"
        assert same(out, out2), "the same int seed gave a different output"
    return out
