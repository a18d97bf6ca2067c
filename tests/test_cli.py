"""The dpkit command line: results, JSON output, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dpkit.accounting import ZCDP, Accountant, Gaussian, Laplace, PoissonSampled, dpsgd
from dpkit.cli import main

BASE = ["--noise-multiplier", "1", "--sample-rate", "0.01", "--steps", "1000", "--delta", "1e-5"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_epsilon_json_matches_library(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["epsilon", *BASE, "--json", "--method", "rdp"], capsys)
    assert code == 0 and err == ""
    data = json.loads(out)
    # the CLI runs the numpy kernels, the library numba's when installed: same law, ≤1e-12
    rdp = dpsgd.epsilon_details(1.0, 0.01, 1000, 1e-5, method="rdp")
    assert data["epsilon"] == pytest.approx(rdp.epsilon, rel=1e-12)
    assert data["delta"] == 1e-5
    assert data["order"] == rdp.order
    assert data["relation"] == "add_remove"
    assert (data["method"], data["requested"], data["accountant"]) == ("rdp", "rdp", "rdp")
    assert data["rdp_epsilon"] == data["epsilon"] and data["pld_epsilon"] is None
    # the spec's anchor value (dp_accounting RDP 2.101, Opacus RDP 2.101)
    assert abs(data["epsilon"] - 2.1014) < 1e-3


def test_epsilon_json_default_auto_reports_both(capsys: pytest.CaptureFixture[str]) -> None:
    """Default --method auto: the smaller of the two certified bounds; PLD decides here."""
    code, out, err = run(["epsilon", *BASE, "--json"], capsys)
    assert code == 0 and err == ""
    data = json.loads(out)
    auto = dpsgd.epsilon_details(1.0, 0.01, 1000, 1e-5)
    assert data["epsilon"] == pytest.approx(auto.epsilon, rel=1e-12)
    assert (data["method"], data["requested"], data["accountant"]) == ("pld", "auto", "pld")
    assert data["order"] is None and data["note"] == ""
    assert data["rdp_epsilon"] == pytest.approx(2.1014, abs=1e-3)
    assert data["pld_epsilon"] == data["epsilon"] == min(data["rdp_epsilon"],
                                                         data["pld_epsilon"])
    # issue 16: dp_accounting's PLD (pessimistic) gives 1.8282 here; ours within 0.5 %
    assert 1.8282 * (1 - 0.03) < data["epsilon"] <= 1.8282 * 1.005
    code, out, _ = run(["epsilon", *BASE, "--json", "--method", "pld"], capsys)
    pld = json.loads(out)
    assert code == 0 and pld["epsilon"] == data["epsilon"] and pld["rdp_epsilon"] is None
    assert (pld["method"], pld["requested"]) == ("pld", "pld")


def test_epsilon_human_output_names_method_and_relation(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["epsilon", *BASE, "--method", "rdp"], capsys)
    assert code == 0
    assert out.startswith("epsilon = 2.1013")
    first = out.splitlines()[0]
    assert first.endswith("(RDP)")
    assert "add/remove" in out and "upper bound" in out and "Rényi order" in out
    code, out, _ = run(["epsilon", *BASE], capsys)
    assert code == 0
    first = out.splitlines()[0]
    auto = dpsgd.epsilon_details(1.0, 0.01, 1000, 1e-5)
    assert first.startswith(f"epsilon = {auto.epsilon:.6g}")
    assert first.endswith(f"(PLD; RDP gives {auto.rdp_epsilon:.6g})")
    assert "upper bound by PLD accounting" in out and "add/remove" in out
    assert "Rényi order" not in out


def test_epoch_form_matches_explicit_steps(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["epsilon", "-s", "1.12", "--epochs", "60", "--dataset-size", "60000",
                        "--batch-size", "256", "-d", "1e-5", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert data["steps"] == 14063  # ceil(60 * 60000 / 256)
    assert data["sample_rate"] == 256 / 60000
    assert data["epsilon"] == pytest.approx(dpsgd.epsilon(1.12, 256 / 60000, 14063, 1e-5),
                                            rel=1e-12)
    # spec §a: TF-Privacy's example gives 2.519 with dp_accounting's default orders (RDP)
    assert data["rdp_epsilon"] <= 2.519 + 1e-3
    assert data["epsilon"] <= data["rdp_epsilon"]


def test_calibrate_never_overshoots(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["calibrate", "--epsilon", "3", "--delta", "1e-5", "--sample-rate", "0.01",
            "--steps", "10000", "--json"]
    code, out, _ = run([*argv, "--method", "rdp"], capsys)
    assert code == 0
    data = json.loads(out)
    sigma = data["noise_multiplier"]
    assert dpsgd.epsilon(sigma, 0.01, 10000, 1e-5, method="rdp") <= 3.0
    assert dpsgd.epsilon(sigma * (1 - 1e-5), 0.01, 10000, 1e-5, method="rdp") > 3.0
    assert data["epsilon"] <= 3.0 and data["method"] == "rdp"
    # default auto: a smaller σ (PLD is tighter here), still never over the target
    code, out, _ = run(argv, capsys)
    assert code == 0
    auto = json.loads(out)
    s = auto["noise_multiplier"]
    assert s < sigma and auto["requested"] == "auto" and auto["method"] == "pld"
    assert auto["epsilon"] == dpsgd.epsilon(s, 0.01, 10000, 1e-5) <= 3.0
    assert dpsgd.epsilon(s * (1 - 5e-3), 0.01, 10000, 1e-5) > 3.0  # within 0.5 % of optimal
    assert auto["rdp_epsilon"] > 3.0  # RDP alone would call this σ too small


def test_calibrate_human_output_names_the_method(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["calibrate", "-e", "3", "-d", "1e-5", "-q", "0.01", "-n", "1000"],
                       capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("noise_multiplier = ") and "--method auto" in lines[0]
    assert "(PLD; RDP gives" in lines[1] and "PLD accounting" in lines[2]


def test_compose_spec_file(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = [
        {"event": PoissonSampled(Gaussian(1.0), 0.01).to_dict(), "count": 1000},
        Laplace(10.0).to_dict(),
    ]
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    code, out, _ = run(["compose", str(path), "--delta", "1e-5", "--json"], capsys)
    assert code == 0
    acct = Accountant().compose(PoissonSampled(Gaussian(1.0), 0.01), 1000).compose(Laplace(10.0))
    data = json.loads(out)
    assert data["epsilon"] == acct.epsilon(1e-5)
    assert data["rdp_epsilon"] == acct.epsilon(1e-5, method="rdp")
    assert data["pld_epsilon"] == acct.epsilon(1e-5, method="pld")
    assert data["method"] == "pld" and data["requested"] == "auto"
    code, out, _ = run(["compose", str(path), "--delta", "1e-5", "--json", "--method", "rdp"],
                       capsys)
    assert code == 0 and json.loads(out)["epsilon"] == acct.epsilon(1e-5, method="rdp")
    # an Accountant.to_dict() object is accepted too
    acct = Accountant().compose(Laplace(2.0), 3)
    path.write_text(json.dumps(acct.to_dict()))
    code, out, _ = run(["compose", str(path), "-d", "0", "--json"], capsys)
    assert code == 0 and json.loads(out)["epsilon"] == pytest.approx(1.5, rel=1e-12)


def test_compose_with_an_rdp_only_event(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    """auto falls back to RDP for the whole ledger and says so; pld is one line naming it."""
    spec = [{"event": PoissonSampled(Gaussian(1.0), 0.01).to_dict(), "count": 100},
            ZCDP(0.01).to_dict()]
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    code, out, err = run(["compose", str(path), "-d", "1e-5", "--json"], capsys)
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["method"] == "rdp" and data["pld_epsilon"] is None
    assert "ZCDP" in data["note"] and "RDP" in data["note"]
    assert data["epsilon"] == data["rdp_epsilon"]
    code, out, _ = run(["compose", str(path), "-d", "1e-5"], capsys)
    assert code == 0 and out.splitlines()[0].endswith("(RDP)") and "note:" in out
    code, out, err = run(["compose", str(path), "-d", "1e-5", "--method", "pld"], capsys)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dpkit: error:") and "ZCDP" in lines[0]


@pytest.mark.parametrize("command", [["epsilon", *BASE], ["calibrate", "-e", "1", "-q", "0.01",
                                                          "-n", "10", "-d", "1e-5"],
                                     ["compose", "-", "-d", "1e-5"]])
def test_method_must_be_one_of_three(command: list[str],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("prv", "PLD", ""):
        code, out, err = run([*command, "--method", bad], capsys)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
        assert "--method" in err and "auto" in err


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["epsilon", "-s", "nan", "-q", "0.01", "-n", "10", "-d", "1e-5"], "noise_multiplier"),
        (["epsilon", "-s", "-1", "-q", "0.01", "-n", "10", "-d", "1e-5"], "noise_multiplier"),
        (["epsilon", "-s", "1", "-q", "1.5", "-n", "10", "-d", "1e-5"], "sample_rate"),
        (["epsilon", "-s", "1", "-q", "0.01", "-n", "1.5", "-d", "1e-5"], "steps"),
        (["epsilon", "-s", "1", "-q", "0.01", "-n", "-3", "-d", "1e-5"], "steps"),
        (["epsilon", "-s", "1", "-q", "0.01", "-n", "10", "-d", "1"], "delta"),
        (["epsilon", "-s", "1", "-q", "0.01", "-n", "10", "-d", "-1e-5"], "delta"),
        (["epsilon", "-s", "abc", "-q", "0.01", "-n", "10", "-d", "1e-5"], "noise-multiplier"),
        (["epsilon", "-s", "1", "-d", "1e-5"], "--sample-rate"),
        (["calibrate", "-e", "0", "-q", "0.01", "-n", "10", "-d", "1e-5"], "target_epsilon"),
        (["calibrate", "-e", "1", "-q", "0.01", "-n", "10", "-d", "0"], "delta"),
        (["compose", "/nonexistent/spec.json", "-d", "1e-5"], "cannot read"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_one_line_exit_2(argv: list[str], needle: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(argv, capsys)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("dpkit: error:") and needle in lines[0]
    assert "Traceback" not in err


def test_bad_spec_contents(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    for text, needle in [("{not json", "not valid JSON"), ('[{"type": "Nope"}]', "unknown event"),
                         ('[{"type": "Gaussian"}]', "noise_multiplier"), ("[]", "non-empty")]:
        path = tmp_path / "s.json"
        path.write_text(text)
        code, _, err = run(["compose", str(path), "-d", "1e-5"], capsys)
        assert code == 2 and needle in err and len(err.strip().splitlines()) == 1


def test_vacuous_guarantees_print_inf(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["epsilon", "-s", "0", "-q", "0.1", "-n", "10", "-d", "1e-5", "--json"],
                       capsys)
    assert code == 0 and json.loads(out)["epsilon"] == "inf"
    code, out, _ = run(["epsilon", "-s", "1", "-q", "0.1", "-n", "10", "-d", "0", "--json"], capsys)
    assert code == 0 and json.loads(out)["epsilon"] == "inf"


def test_console_script_cold_process() -> None:
    """The installed entry point runs in a fresh interpreter and prints the same number."""
    proc = subprocess.run(
        [sys.executable, "-m", "dpkit.cli", "epsilon", *BASE, "--json"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["epsilon"] == pytest.approx(
        dpsgd.epsilon(1.0, 0.01, 1000, 1e-5), rel=1e-12)


def test_demo_runs_and_reports_a_budget(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["demo", "--json"], capsys)
    assert code == 0
    data = json.loads(out.strip().splitlines()[-1])
    assert data and all(0 < v["epsilon"] < float("inf") for v in data.values())


def test_cli_does_not_start_numba_and_restores_the_environment() -> None:
    """One CLI answer runs the numpy kernels (numba's start-up would dominate a cold run)."""
    code = (
        "import os, sys; from dpkit.cli import main; "
        "main(['epsilon', '--noise-multiplier', '0.8', '--sample-rate', '0.02', '--steps', "
        "'500', '--delta', '1e-5']); "
        "print('numba' in sys.modules, os.environ.get('DPKIT_ACCOUNTING_BACKEND'))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.strip().splitlines()[-1] == "False None"


# ------------------------------------------------------------------ issue 14: odd values
def _strict(out: str) -> dict:
    def refuse(token: str) -> None:
        raise AssertionError(f"non-standard JSON token {token} in {out!r}")

    return json.loads(out, parse_constant=refuse)


def test_json_output_is_strict_with_infinite_inputs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["epsilon", "--noise-multiplier", "inf", "-q", "0.01", "-n", "10",
                          "-d", "1e-5", "--json"], capsys)
    assert code == 0 and err == ""
    data = _strict(out)
    assert data["noise_multiplier"] == "inf" and data["epsilon"] == 0.0
    code, out, _ = run(["calibrate", "--epsilon", "inf", "-q", "0.01", "-n", "10", "-d", "1e-5",
                        "--json"], capsys)
    if code == 0:
        assert _strict(out)["target_epsilon"] == "inf"


def test_demo_seed_must_be_a_whole_number_at_least_0(capsys: pytest.CaptureFixture[str]) -> None:
    for seed in ("-1", "1.5", "x"):
        code, out, err = run(["demo", "--seed", seed], capsys)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
        assert "--seed" in err


def test_calibrate_huge_target_is_a_true_number(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["calibrate", "--epsilon", "1e308", "-q", "0.01", "-n", "1000",
                          "-d", "1e-5", "--json"], capsys)
    assert code == 0 and err == ""
    data = _strict(out)
    assert dpsgd.epsilon(data["noise_multiplier"], 0.01, 1000, 1e-5) <= 1e308
    assert data["noise_multiplier"] > 0


def test_epoch_form_counts_steps_exactly(capsys: pytest.CaptureFixture[str]) -> None:
    # 0.7 epochs of 10 records in batches of 7 is one batch; in floats 0.7·10/7 = 1.0000000002
    code, out, _ = run(["epsilon", "-s", "1", "--epochs", "0.7", "--dataset-size", "10",
                        "--batch-size", "7", "-d", "1e-5", "--json"], capsys)
    assert code == 0 and _strict(out)["steps"] == 1
    code, out, err = run(["epsilon", "-s", "1", "--epochs", "1e308", "--dataset-size", "1e308",
                          "--batch-size", "1", "-d", "1e-5"], capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "steps" in err
    code, out, _ = run(["epsilon", "-s", "1", "-q", "0.01", "-n", "1e308", "-d", "1e-5",
                        "--json"], capsys)
    assert code == 0 and _strict(out)["steps"] == int(1e308)


ODD = ["0", "-0", "1e-300", "1e308", "inf", "nan", "-1"]
ODD_ARGV = (
    [["epsilon", "-s", s, "-q", "0.01", "-n", "100", "-d", "1e-5"] for s in ODD]
    + [["epsilon", "-s", "1", "-q", q, "-n", "100", "-d", "1e-5"] for q in [*ODD, "1"]]
    + [["epsilon", "-s", "1", "-q", "0.01", "-n", n, "-d", "1e-5"] for n in [*ODD, "1e9"]]
    + [["epsilon", "-s", "1", "-q", "0.01", "-n", "100", "-d", d] for d in [*ODD, "0.999"]]
    + [["epsilon", "-s", "1e-300", "-q", "1", "-n", "1e308", "-d", "0"]]
    + [["calibrate", "-e", e, "-q", "0.01", "-n", "100", "-d", "1e-5"] for e in ODD]
    + [["calibrate", "-e", "1", "-q", q, "-n", "100", "-d", "1e-5"] for q in [*ODD, "1"]]
    + [["calibrate", "-e", "1", "-q", "0.01", "-n", n, "-d", "1e-5"] for n in [*ODD, "1e9"]]
    + [["calibrate", "-e", "1", "-q", "0.01", "-n", "100", "-d", d] for d in ODD]
    + [["epsilon", "-s", "1", "--epochs", e, "--dataset-size", "100", "--batch-size", "10",
        "-d", "1e-5"] for e in ODD]
    + [["epsilon", "-s", "1", "--epochs", "1", "--dataset-size", n, "--batch-size", "10",
        "-d", "1e-5"] for n in ODD]
    + [["epsilon", "-s", "1", "--epochs", "1", "--dataset-size", "100", "--batch-size", b,
        "-d", "1e-5"] for b in [*ODD, "100", "101"]]
)


@pytest.mark.parametrize("argv", ODD_ARGV, ids=[" ".join(a) for a in ODD_ARGV])
def test_odd_values_give_a_number_or_one_line_exit_2(argv: list[str],
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    import warnings

    for extra in ([], ["--json"]):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            code, out, err = run([*argv, *extra], capsys)
        assert not caught, [str(w.message) for w in caught]
        assert code in (0, 2), err
        if code == 2:
            assert out == "" and len(err.strip().splitlines()) == 1, err
            assert err.startswith("dpkit: error:")
            continue
        assert err == ""
        if extra:
            data = _strict(out)
            eps = data["epsilon"]
            assert eps == "inf" or (isinstance(eps, float) and eps >= 0.0)
