"""Hypothesis strategies for the contract suite: edge values of every Python type a caller may
pass, and the small building blocks the per-mechanism specs combine.

Every strategy mixes *valid* values (so the deep code runs) with *hostile* ones of the right
Python type (0, negative, huge, NaN, ±inf, 5e-324, empty / 0-d / NaN-holding arrays, wrong
dtypes) and values of the wrong type (strings where an enum or number is expected, None).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

EDGE_FLOATS = [0.0, -0.0, 5e-324, -5e-324, 1e-300, 1e-12, 0.5, 1.0, -1.0, 2.0, 1e12, 1e308,
               -1e308, math.inf, -math.inf, math.nan]
EDGE_INTS = [0, 1, -1, 2, 3, -5, 2**31, 2**53 + 1, 2**63, -(2**63), 10**30]
WRONG = [None, "abc", "", "inf", "nan", b"1", True, 1 + 2j, [1, "a"], {"a": 1}, (), object()]


def floats_any() -> st.SearchStrategy[float]:
    """Any Python float, edge values first."""
    return st.one_of(st.sampled_from(EDGE_FLOATS),
                     st.floats(allow_nan=True, allow_infinity=True))


def ints_any() -> st.SearchStrategy[int]:
    """Any Python int: 0, negative, huge."""
    return st.one_of(st.sampled_from(EDGE_INTS), st.integers(-3, 40))


def wrong() -> st.SearchStrategy[Any]:
    """Values of a wrong type (strings where an enum or number is expected, None, ...)."""
    return st.sampled_from(WRONG)


def _bad_array_makers() -> list[Any]:
    return [
        lambda: np.array([]),
        lambda: np.zeros((0, 3)),
        lambda: np.zeros((3, 0)),
        lambda: np.zeros((0, 10**12)),  # zero-size, huge extent
        lambda: np.array(1.5),  # 0-d
        lambda: np.array([np.nan, 1.0]),
        lambda: np.array([[1.0, np.inf], [0.0, 0.0]]),
        lambda: np.array([-np.inf]),
        lambda: np.array([1e308, -1e308]),
        lambda: np.array([5e-324, -0.0]),
        lambda: np.array(["a", "b"]),
        lambda: np.array([1 + 1j, 2.0]),
        lambda: np.array([True, False]),
        lambda: np.array([1, 2], dtype=object),
        lambda: np.zeros((2, 2, 2)),
        lambda: np.array([2**62, -(2**62)], dtype=np.int64),
        lambda: np.array([2**64 - 1, 1], dtype=np.uint64),
        lambda: np.array([1.5, -2.5]),
        lambda: np.array([0, 1], dtype=np.float32),
        lambda: [1.0, math.nan],
        lambda: [[1, 2], [3]],  # ragged
    ]


def bad_arrays() -> st.SearchStrategy[Any]:
    """Hostile arrays, built fresh on every draw (a mutated one cannot leak into the next)."""
    return st.sampled_from(range(len(_bad_array_makers()))).map(
        lambda i: _bad_array_makers()[i]())


def hostile() -> st.SearchStrategy[Any]:
    """Anything: edge numbers, wrong types, hostile arrays."""
    return st.one_of(floats_any(), ints_any(), wrong(), bad_arrays())


def mix(valid: st.SearchStrategy[Any], bad: st.SearchStrategy[Any] | None = None,
        p_bad: float = 0.15) -> st.SearchStrategy[Any]:
    """``valid`` with probability 1 − p_bad, else ``bad`` (default: :func:`hostile`).

    The choice is an explicit integer draw whose shrink target (0) picks ``valid``, so a
    minimal failing example keeps every argument valid that it can.
    """
    bad_s = hostile() if bad is None else bad
    cut = round(100 * (1 - p_bad))
    return st.integers(0, 99).flatmap(lambda i: valid if i < cut else bad_s)


def numbers(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Valid finite floats in [lo, hi]."""
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def f_arrays(shape: Any, lo: float = -3.0, hi: float = 3.0,
             dtype: Any = np.float64) -> st.SearchStrategy[np.ndarray]:
    """Valid float arrays of a (strategy of) shape."""
    return hnp.arrays(dtype, shape, elements=st.floats(lo, hi, allow_nan=False, width=64))


def i_arrays(shape: Any, lo: int, hi: int) -> st.SearchStrategy[np.ndarray]:
    """Valid int64 arrays of a (strategy of) shape with values in [lo, hi]."""
    return hnp.arrays(np.int64, shape, elements=st.integers(lo, hi))


def seeds() -> st.SearchStrategy[Any]:
    """``rng`` values: mostly int seeds (the reproducibility check runs on them)."""
    bad = st.sampled_from([None, -1, 2**70, 1.5, "seed", math.nan, True,
                           np.random.RandomState(0)])
    return mix(st.one_of(st.integers(0, 2**32),
                         st.builds(lambda s: np.random.default_rng(s), st.integers(0, 9))),
               bad, 0.1)


def backends(valid: tuple[str, ...] = ("numpy",)) -> st.SearchStrategy[Any]:
    """``backend``: numpy mostly (numba/JAX are tested for law elsewhere), and bad names."""
    return mix(st.sampled_from(valid), st.sampled_from(["NUMPY", "", "torch", None, 3]), 0.1)


def enum(values: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    """An enum-like string parameter: the allowed values mostly, then wrong strings/types."""
    return mix(st.sampled_from(values),
               st.sampled_from(["", "Tree", "none ", "xyz", None, 0, 1.0, b"x"]), 0.1)


def demo_rng(draw: Any) -> Any:
    """``demo_section``'s rng: a Generator (documented), sometimes something else."""
    return draw(mix(st.builds(np.random.default_rng, st.integers(0, 2**16)),
                    st.sampled_from([None, 0, "rng"])))


@dataclass
class Call:
    """One generated call: positional and keyword arguments."""

    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:  # shown by hypothesis on failure
        parts = [_short(a) for a in self.args]
        parts += [f"{k}={_short(v)}" for k, v in self.kwargs.items()]
        return "(" + ", ".join(parts) + ")"


def _short(v: Any) -> str:
    if isinstance(v, np.ndarray):
        if v.size <= 8:
            return f"np.array({v.tolist()!r}, dtype={v.dtype})"
        return f"<array shape={v.shape} dtype={v.dtype}>"
    r = repr(v)
    return r if len(r) <= 200 else r[:200] + "..."
