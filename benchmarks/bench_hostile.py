#!/usr/bin/env python
"""How fast the policy loader refuses hostile YAML.

    python benchmarks/bench_hostile.py [--runs N] [--case NAME ...] [--timeout S] [--json]

The target, from the production issue: YAML alias bombs, deeply nested and
oversized documents are rejected in under a second. For each hostile file
below, written as ``policies/customers/hostile.yaml`` beside a copy of the
shipped policy, it times ``check_policy_set`` (what ``supportpolicy validate``
and a reload do: every file read, parsed and checked), median of --runs runs
(default 5), and ``yamlsource.parse`` of the hostile file alone, to show
where the time goes. A case passes when the set is refused with the expected
error code in the hostile file and the median is under a second; the command
exits 1 when any case misses.

    billion-laughs              9 levels of 9 aliases ("billion laughs"): 9**9 values once expanded
    nested-flow-sequences       [[[[...]]]] 10,000 levels deep
    nested-flow-mappings        {a: {a: ...}} 10,000 levels deep
    nested-block-sequences      - - - ... x, 10,000 levels deep
    nested-block-mappings       a:\\n a:\\n  a: ..., 1,500 levels (as deep as 2 MiB allows, one space a level)
    three-mib-file              a 3 MiB file (the limit is 2 MiB)
    one-2mib-scalar             a file that is one scalar, exactly 2 MiB
    a-2mib-name                 a customer whose name fills a 2 MiB file
    key-repeated-100000-times   the same key 100,000 times in one mapping
    recursive-alias             &a [*a], a value inside itself
    a-million-values            [1,1,1,...]: a million values in under 2 MiB (the limit is 500,000)

The same cases are checked for their error code and position, never for
speed, in tests/test_fuzz_loader.py. Each case is measured in a child process
with a time limit (--timeout, default 30 s a run), so a hang or a crash is
reported as that case's failure and the others are still measured.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import tempfile
import time
import traceback
from pathlib import Path

import common
from common import log

common.make_engine_importable()
import supportpolicy.engine as engine  # noqa: E402
from supportpolicy.engine.decide.build import check_policy_set  # noqa: E402
from supportpolicy.engine.load.yamlsource import MAX_BYTES, parse  # noqa: E402
from supportpolicy.engine.resources import shipped  # noqa: E402

TARGET_S = 1.0
MAX_RUNS = 20
HOSTILE = "policies/customers/hostile.yaml"
DEEP = 10_000


# -- the hostile files ----------------------------------------------------------------------------

def billion_laughs() -> bytes:
    lines = ["customer: hostile", 'name: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for previous, anchor in zip("abcdefgh", "bcdefghi"):
        lines.append(f"x{anchor}: &{anchor} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return ("\n".join(lines) + "\n").encode()


def block_mappings(levels: int = 1_500) -> bytes:
    return b"customer: hostile\nname:\n" + b"".join(b" " * (i + 1) + b"a:\n" for i in range(levels)) \
        + b" " * (levels + 1) + b"x\n"


# name -> (the file, the error code it must be refused with)
CASES = {
    "billion-laughs": (billion_laughs, "too_large"),
    "nested-flow-sequences": (lambda: b"customer: hostile\nname: " + b"[" * DEEP + b"]" * DEEP + b"\n", "too_deep"),
    "nested-flow-mappings": (lambda: b"customer: hostile\nname: " + b"{a: " * DEEP + b"1" + b"}" * DEEP + b"\n",
                             "too_deep"),
    "nested-block-sequences": (lambda: b"customer: hostile\nname:\n" + b"- " * DEEP + b"x\n", "too_deep"),
    "nested-block-mappings": (block_mappings, "too_deep"),
    "three-mib-file": (lambda: b"customer: hostile\nname: " + b"x" * (3 * 1024 * 1024) + b"\n", "file_too_large"),
    "one-2mib-scalar": (lambda: b"x" * MAX_BYTES, "unknown_document"),
    "a-2mib-name": (lambda: b"customer: hostile\nname: " + b"x" * (MAX_BYTES - 25) + b"\n", "too_long"),
    "key-repeated-100000-times": (lambda: b"customer: hostile\n" + b"name: x\n" * 100_000, "duplicate_key"),
    "recursive-alias": (lambda: b"customer: hostile\nname: &a [*a]\n", "too_deep"),
    "a-million-values": (lambda: b"customer: hostile\nname: [" + b"1," * (MAX_BYTES // 2 - 20) + b"1]\n",
                         "too_large"),
}


# -- measuring ------------------------------------------------------------------------------------

def _summary(samples: list) -> dict:
    return {"median_s": statistics.median(samples), "min_s": min(samples), "max_s": max(samples),
            "runs": len(samples)}


def _measure(roots: tuple, data: bytes, runs: int, connection) -> None:
    """In the child: time check_policy_set over the set, and parse of the hostile file alone."""
    try:
        load, alone, errors = [], [], []
        for _ in range(runs):
            started = time.perf_counter()
            policy_set, errors = check_policy_set(roots)
            load.append(time.perf_counter() - started)
            started = time.perf_counter()
            parse(HOSTILE, data)
            alone.append(time.perf_counter() - started)
        mine = [e for e in errors if e.file == HOSTILE and e.severity == "error"]
        connection.send({"refused": policy_set is None, "load": _summary(load), "parse": _summary(alone),
                         "errors": len(mine), "first": str(mine[0])[:160] if mine else None,
                         "codes": sorted({e.code for e in mine})})
    except BaseException:  # noqa: BLE001 - reported as the case's failure
        connection.send({"crash": traceback.format_exc()})


def measure(name: str, root: Path, runs: int, timeout: float) -> dict:
    builder, code = CASES[name]
    data = builder()
    (root / HOSTILE).write_bytes(data)
    context = multiprocessing.get_context("fork")  # the child starts warm: engine imported, schemas compiled
    parent, child = context.Pipe()
    process = context.Process(target=_measure, args=((root / "policies", root / "rules"), data, runs, child))
    try:
        process.start()
        child.close()
        if parent.poll(timeout):
            try:
                result = parent.recv()
            except EOFError:
                process.join(5)
                result = {"crash": f"the process died (exit code {process.exitcode})"}
        else:
            result = {"timed_out": True}
    finally:
        process.kill()
        process.join()
        parent.close()
        (root / HOSTILE).unlink()
    result.update({"case": name, "bytes": len(data), "expected_code": code})
    problems = []
    if result.get("timed_out"):
        problems.append(f"no answer within {timeout:g} s for all runs (a hang)")
    elif "crash" in result:
        problems.append("crashed: " + result["crash"].strip().splitlines()[-1])
    else:
        if not result["refused"]:
            problems.append("the set was not refused")
        if code not in result["codes"]:
            problems.append(f"refused with {', '.join(result['codes']) or 'nothing'}, not {code}")
        if result["load"]["median_s"] >= TARGET_S:
            problems.append(f"median {result['load']['median_s'] * 1000:,.0f} ms, target under "
                            f"{TARGET_S * 1000:,.0f} ms")
    result["problems"] = problems
    result["passed"] = not problems
    return result


def baseline(root: Path, runs: int) -> dict:
    """The same load without a hostile file: what every case pays anyway (after one load to warm up)."""
    check_policy_set((root / "policies", root / "rules"))
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        policy_set, errors = check_policy_set((root / "policies", root / "rules"))
        samples.append(time.perf_counter() - started)
    if policy_set is None:
        raise SystemExit("the shipped policy does not load: " + "; ".join(map(str, errors[:5])))
    return _summary(samples)


# -- report ---------------------------------------------------------------------------------------

def _ms(summary: dict | None) -> str:
    if not summary:
        return f"{'n/a':>9}".ljust(28)
    return (f"{summary['median_s'] * 1000:>9,.1f} ({summary['min_s'] * 1000:,.1f}-"
            f"{summary['max_s'] * 1000:,.1f})").ljust(28)


def render(report: dict) -> str:
    env = report["environment"]
    lines = [f"supportpolicy hostile-YAML benchmark: Python {env['python']}, PyYAML {env['pyyaml']} "
             f"(libyaml {'yes' if env['libyaml'] else 'no'}), {env['cpus']} CPUs, median of {report['runs']} "
             f"run(s) in ms (min-max)",
             f"  each file is {HOSTILE} beside the shipped policy; load = check_policy_set "
             "over the set, parse = yamlsource.parse of the file alone",
             "",
             f"  {'case':27} {'size':>9}  {'load ms':28} {'parse ms':28} {'refused with':30} verdict",
             f"  {'(the shipped set alone)':27} {'':>9}  {_ms(report['baseline'])} {'':28} {'':30}"]
    for r in report["cases"]:
        size = f"{r['bytes'] / 1024:,.0f} KiB" if r["bytes"] >= 1024 else f"{r['bytes']} B"
        refused = (f"{', '.join(r['codes'])} x{r['errors']:,}" if r.get("codes") else "-")[:30]
        lines.append(f"  {r['case']:27} {size:>9}  {_ms(r.get('load'))} {_ms(r.get('parse'))} {refused:30} "
                     f"{'PASS' if r['passed'] else 'FAIL'}")
    failed = [r for r in report["cases"] if not r["passed"]]
    lines += ["", f"  target: every hostile file refused, with its code, in under {TARGET_S * 1000:,.0f} ms: "
                  f"{len(report['cases']) - len(failed)} of {len(report['cases'])} met"]
    for r in failed:
        lines.append(f"  FAIL {r['case']}: " + "; ".join(r["problems"]))
        if r.get("first"):
            lines.append(f"       first error: {r['first']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Time how fast the policy loader refuses hostile YAML files "
                                                 "(target: under a second each).")
    parser.add_argument("--runs", type=int, default=5, help=f"timed runs of each case [5] (1 to {MAX_RUNS})")
    parser.add_argument("--case", action="append", choices=sorted(CASES), metavar="NAME",
                        help="measure only this case (repeatable); one of: " + ", ".join(CASES))
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds one run of a case may take before the case fails as a hang [30]")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= MAX_RUNS:
        parser.error(f"--runs must be between 1 and {MAX_RUNS}")
    if not 0 < args.timeout <= 3600:
        parser.error("--timeout must be between 0 and 3600 seconds")

    import yaml
    scratch = tempfile.TemporaryDirectory(prefix="supportpolicy-bench-hostile-")
    root = Path(scratch.name)
    try:
        shutil.copytree(shipped("policies"), root / "policies", ignore=shutil.ignore_patterns("tests"))
        shutil.copytree(shipped("rules"), root / "rules")
        log("warming up: loading the shipped policy ...")
        base = baseline(root, args.runs)
        results = []
        for name in args.case or CASES:
            log(f"{name} ({args.runs} run(s)) ...")
            results.append(measure(name, root, args.runs, args.timeout * args.runs))
    finally:
        scratch.cleanup()
    report = {
        "environment": {"python": platform.python_version(), "pyyaml": yaml.__version__,
                        "libyaml": bool(getattr(yaml, "__with_libyaml__", False)), "cpus": os.cpu_count(),
                        "engine": str(Path(engine.__file__).resolve().parent)},
        "runs": args.runs, "target_s": TARGET_S, "baseline": base, "cases": results,
        "target_met": all(r["passed"] for r in results),
    }
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0 if report["target_met"] else 1


if __name__ == "__main__":
    common.run(main)
