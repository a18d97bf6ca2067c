"""CLI contract: every subcommand, hypothesis-generated argument values (``--method`` included).

``dpkit.cli.main(argv)`` exits 0 or 2, never 1 (an internal error) or anything else; on exit 2
stderr is exactly one line; with ``--json`` stdout is one strictly valid JSON object (no NaN /
Infinity tokens: ``json.loads`` with a ``parse_constant`` that raises).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dpkit.cli import main

NUMBER_STRINGS = ["inf", "-inf", "nan", "NaN", "1e308", "-1e308", "1e999", "-0", "0", "0.0",
                  "5e-324", "1e-300", "-1", "1", "0.5", "abc", "", " ", "1,5", "0x10", "1e",
                  "--", "１", "9" * 400]
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


def numbers(valid: st.SearchStrategy[Any] | None = None) -> st.SearchStrategy[str]:
    """Argument strings: a plausible value (when ``valid`` is given, 3 times in 4), else an
    edge value or garbage."""
    hostile = st.one_of(st.sampled_from(NUMBER_STRINGS),
                        st.floats(allow_nan=True, allow_infinity=True).map(repr),
                        st.integers(-(10**20), 10**20).map(str))
    if valid is None:
        return hostile
    return st.integers(0, 3).flatmap(lambda i: valid.map(str) if i < 3 else hostile)


VALID = {
    "--noise-multiplier": st.floats(0.3, 20.0),
    "--delta": st.sampled_from([1e-9, 1e-5, 1e-3, 0.1]),
    "--sample-rate": st.floats(1e-4, 1.0),
    "--steps": st.integers(1, 10**6),
    "--epochs": st.integers(1, 100),
    "--dataset-size": st.integers(1000, 10**6),
    "--batch-size": st.integers(1, 1000),
    "--epsilon": st.floats(0.1, 20.0),
}

#: ``--method`` values: the three methods (most of the time) and refused spellings.
METHODS = st.one_of(st.sampled_from(["auto", "rdp", "pld"]),
                    st.sampled_from(["prv", "PLD", "", "auto,rdp", "1"]))


def method_args(draw: Any) -> list[str]:
    """No ``--method`` (the default, auto) half of the time, else a drawn value."""
    return ["--method", draw(METHODS)] if draw(st.booleans()) else []


def _strict(text: str) -> Any:
    def refuse(token: str) -> Any:
        raise AssertionError(f"non-standard JSON token {token!r} in {text!r}")
    return json.loads(text, parse_constant=refuse)


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's --help and friends
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def check(argv: list[str]) -> tuple[int, str, str]:
    code, out, err = run_cli(argv)
    assert code in (0, 2), f"dpkit {argv!r} exited {code}; stderr: {err!r}"
    if code == 2:
        lines = err.strip("\n").split("\n")
        assert len(lines) == 1 and lines[0], f"dpkit {argv!r}: stderr not one line: {err!r}"
    elif "--json" in argv:
        obj = _strict(out)
        assert isinstance(obj, dict), f"dpkit {argv!r}: --json printed {out!r}"
    return code, out, err


@st.composite
def budget_args(draw: Any) -> list[str]:
    argv: list[str] = []
    if draw(st.integers(0, 9)) < 9:
        argv += ["--delta", draw(numbers(VALID["--delta"]))]
    if draw(st.booleans()):
        for flag in ("--sample-rate", "--steps"):
            if draw(st.integers(0, 9)) < 9:
                argv += [flag, draw(numbers(VALID[flag]))]
    else:
        for flag in ("--epochs", "--dataset-size", "--batch-size"):
            if draw(st.integers(0, 9)) < 9:
                argv += [flag, draw(numbers(VALID[flag]))]
    if draw(st.booleans()):
        argv.append("--json")
    return argv + method_args(draw)


@SETTINGS
@given(s=numbers(VALID["--noise-multiplier"]), rest=budget_args(), refine=st.booleans())
def test_epsilon_contract(s: str, rest: list[str], refine: bool) -> None:
    check(["epsilon", "--noise-multiplier", s, *rest] + (["--refine"] if refine else []))


@SETTINGS
@given(e=numbers(VALID["--epsilon"]), rest=budget_args())
def test_calibrate_contract(e: str, rest: list[str]) -> None:
    check(["calibrate", "--epsilon", e, *rest])


def _num_value() -> st.SearchStrategy[Any]:
    return st.one_of(st.floats(allow_nan=False, allow_infinity=False),
                     st.sampled_from([0, -1, 1, 2, 10**9, 10**30, 0.5, 1e-300, "1", None,
                                      True, [], {}]))


@st.composite
def event_dicts(draw: Any, depth: int = 0) -> Any:
    kind = draw(st.sampled_from(["Gaussian", "Laplace", "RandomizedResponse", "PureDP", "ZCDP",
                                 "PoissonSampled", "SampledWithoutReplacement", "Repeated",
                                 "Composed", "Nope", "wrapper"]))
    if depth > 1 and kind in ("PoissonSampled", "SampledWithoutReplacement", "Repeated",
                              "Composed", "wrapper"):
        kind = "Gaussian"
    if kind == "Gaussian":
        d = {"type": kind, "noise_multiplier": draw(_num_value())}
    elif kind == "Laplace":
        d = {"type": kind, "noise_multiplier": draw(_num_value())}
    elif kind == "RandomizedResponse":
        d = {"type": kind, "epsilon": draw(_num_value()), "k": draw(_num_value())}
    elif kind == "PureDP":
        d = {"type": kind, "epsilon": draw(_num_value())}
    elif kind == "ZCDP":
        d = {"type": kind, "rho": draw(_num_value())}
    elif kind in ("PoissonSampled", "SampledWithoutReplacement"):
        d = {"type": kind, "sample_rate": draw(_num_value()),
             "event": draw(event_dicts(depth + 1))}
    elif kind == "Repeated":
        d = {"type": kind, "event": draw(event_dicts(depth + 1)), "count": draw(_num_value())}
    elif kind == "Composed":
        d = {"type": kind, "events": draw(st.lists(event_dicts(depth + 1), max_size=2))}
    elif kind == "wrapper":
        d = {"event": draw(event_dicts(depth + 1)), "count": draw(_num_value())}
    else:
        d = {"type": kind}
    if draw(st.integers(0, 9)) == 9:
        d["relation"] = draw(st.sampled_from(["add_remove", "replace_one", None, "x", 3]))
    return d


spec_bodies = st.one_of(
    st.lists(event_dicts(), max_size=3).map(lambda v: json.dumps(v).encode()),
    st.sampled_from([b"", b"[", b"{}", b"null", b"[]", b"\xff\xfe", b"[NaN]",
                     b'[{"type": "Gaussian", "noise_multiplier": Infinity}]',
                     b"[" * 5000 + b"]" * 5000, b'{"orders": [2], "ledger": "x"}']),
)


@SETTINGS
@given(body=spec_bodies, delta=numbers(VALID["--delta"]), as_json=st.booleans(),
       method=st.one_of(st.just(None), METHODS))
def test_compose_contract(body: bytes, delta: str, as_json: bool, method: str | None) -> None:
    fd, path = tempfile.mkstemp(suffix=".json")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
        check(["compose", path, "--delta", delta] + (["--json"] if as_json else [])
              + ([] if method is None else ["--method", method]))
    finally:
        os.unlink(path)


def test_compose_missing_file_is_one_line() -> None:
    code, _, _ = check(["compose", "/nonexistent/spec.json", "--delta", "1e-5"])
    assert code == 2


@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(seed=st.one_of(st.sampled_from(["-1", "abc", "1e3", "1.5", "", "nan", "inf",
                                       "9" * 40]), st.integers(-5, -1).map(str)))
def test_demo_bad_seed_contract(seed: str) -> None:
    """Bad seeds are refused before the demo runs (fast); the demo itself runs once below."""
    check(["demo", "--seed", seed, "--json"])


def test_demo_runs_once_with_strict_json() -> None:
    code, out, _ = check(["demo", "--seed", "3", "--json"])
    assert code == 0 and "epsilon" in out


def test_top_level_usage_errors() -> None:
    for argv in ([], ["nope"], ["epsilon"], ["--version"], ["compose"], ["calibrate", "-e"]):
        check(argv)
