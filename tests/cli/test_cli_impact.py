"""``supportpolicy impact`` as a contract manager meets it: a new plan version that takes effect after every
request replayed, requests replayed in its period (--shift), a new customer's requests, moved deadlines.

The change is the fixture tests/fixtures/plan-2027: central-standard 2027.1, effective 2027-01-01, open from
08:00 instead of 07:00, at 225.00 USD an hour. Every policy test case of the shipped suites is dated before it.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from support import DESIGNATED, REPO, make_request, run_cli, with_plan_2027

VERSION_LINE = re.compile(r"^  2027-01-01  plan central-standard 2027\.1 \(added, current/policies/plans/"
                          r"central-standard/2027\.1\.yaml\)$", re.M)


def run(*args, cwd):
    return run_cli(*args, cwd=cwd, timeout=120)


def output(result) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout_text}--- stderr\n{result.stderr_text}"


@pytest.fixture()
def folders(tmp_path) -> Path:
    """base/ (the shipped policy), current/ (with central-standard 2027.1)."""
    for folder in ("policies", "rules"):
        shutil.copytree(REPO / folder, tmp_path / "base" / folder)
    with_plan_2027(tmp_path / "current")
    return tmp_path


def impact(folder: Path, *args):
    return run("impact", "--base", "base", "--policies", "current/policies", "--rules", "current/rules", *args,
               cwd=folder)


def test_a_version_after_every_request_is_named_with_its_date_and_a_warning(folders):
    result = impact(folders)
    assert result.returncode == 0, output(result)
    text = result.stdout_text
    cases = int(re.match(r"0 of (\d+) requests would be decided differently\n", text).group(1))
    assert VERSION_LINE.search(text), text
    match = re.search(rf"^0 of {cases} requests decided under them; the requests were received from "
                      r"(\d{4}-\d\d-\d\d) to (\d{4}-\d\d-\d\d)$", text, re.M)
    assert match and match.group(2) < "2027-01-01", text
    warning = [line for line in result.stderr_text.splitlines() if "warning" in line]
    assert warning == [f"supportpolicy: warning: none of the {cases} requests replayed is decided under the "
                       "versions that differ (they take effect on 2027-01-01): give --shift to replay them at "
                       "the same weekday and local time on or after 2027-01-01"], output(result)
    document = json.loads(impact(folders, "--format", "json").stdout_text)
    assert document["takes_effect"] == "2027-01-01" and document["reached"] == 0 and document["shifted"] == 0
    assert [(v["change"], v["kind"], v["id"], v["version"], v["effective_from"]) for v in document["versions"]] == \
        [("added", "plan", "central-standard", "2027.1", "2027-01-01")]


def test_shifted_into_the_new_period_the_requests_show_the_change(folders):
    result = impact(folders, "--shift")
    assert result.returncode == 0, output(result)
    text = result.stdout_text
    changed, cases = map(int, re.match(r"(\d+) of (\d+) requests would be decided differently\n", text).groups())
    assert changed > 0
    assert "replaying every request received before 2027-01-01 on or after it" in result.stderr_text
    assert "warning" not in result.stderr_text, output(result)
    reached = int(re.search(rf"^(\d+) of {cases} requests decided under them; the requests were received from "
                            r"2027-01-01 to 2027-01-\d\d$", text, re.M).group(1))
    assert reached >= changed
    assert re.search(r"^\d+ requests replayed on or after 2027-01-01, at the same weekday and local time \(--shift\)$",
                     text, re.M), text
    # An hour later opening moves deadlines: one line per distance moved, not one per due time.
    moved = section(text, "Deadlines moved:")
    assert any(re.fullmatch(r"  respond_by: \+1 h  \(\d+ requests\)", line) for line in moved), text
    assert len([line for line in moved if not line.startswith("      e.g.")]) <= 4, text
    assert not any(line.lstrip().startswith("respond_by:") for line in section(text, "By field:")), text
    # The new rate, for the after-hours work that is billed.
    assert re.search(r'^  hourly_rate: \{"amount":"200\.00","currency":"USD"\} -> \{"amount":"225\.00","currency":'
                     r'"USD"\}  \(\d+ requests\)$', text, re.M), text
    # Each example says when it was received, and that it was replayed later.
    assert re.search(r"^      e\.g\. current/policies/tests/[a-z-]+\.yaml:\d+ \(.+\), received at 2026-[0-9T:+-]+, "
                     r"replayed later: \{", text, re.M), text
    document = json.loads(impact(folders, "--shift", "--format", "json").stdout_text)
    assert document["shifted"] > 0 and document["reached"] == reached
    (first,) = [d for d in document["deadlines"] if d["moved"] == "+1 h"]
    assert first["field"] == "respond_by" and first["seconds"] == 3600
    example = first["examples"][0]
    assert example["shifted_from"] < "2027" <= example["request"]["received_at"]


def test_a_new_customer_is_refused_before_and_decided_now_not_a_diff_of_its_fields(folders):
    customers = folders / "current" / "policies" / "customers"
    text = (customers / "demo-city.yaml").read_text(encoding="utf-8")
    (customers / "lakeview-county.yaml").write_text(
        text.replace("demo-city", "lakeview-county").replace("City of Demo", "Lakeview County"), encoding="utf-8")
    lines = [make_request("2026-11-30T10:00:00-06:00", customer="lakeview-county"),
             make_request("2026-11-28T23:00:00-06:00", email=DESIGNATED, customer="lakeview-county"),
             make_request("2026-11-30T10:00:00-06:00")]
    (folders / "requests.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    result = impact(folders, "--requests", "requests.jsonl")
    assert result.returncode == 0, output(result)
    text = result.stdout_text
    assert text.startswith("2 of 3 requests would be decided differently\n"), text
    assert section(text, "Refused or decided:")[0] == \
        "  refused before, decided now: 404 No contract for this customer -> decided  (2 requests)"
    assert "By field:" not in text and "customer:" not in text, text
    assert re.search(r"^2 of 3 requests decided under them", text, re.M), text
    assert "warning" not in result.stderr_text


def section(text: str, heading: str) -> list[str]:
    """The lines of a report's section, up to the blank line that ends it."""
    lines = text.splitlines()
    if heading not in lines:
        return []
    start = lines.index(heading) + 1
    end = next((n for n in range(start, len(lines)) if not lines[n].strip()), len(lines))
    return lines[start:end]
