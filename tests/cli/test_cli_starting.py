"""A contract manager's first hour, from the user's side: ``init``, ``schemas export``, the folder rule,
and the commands around the decision log and tokens.

Every command here runs as a process (``support.run_cli``), in the folder a user would run it in.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from support import FIXTURES, OTHER, REPO, run_cli

MODELINE = re.compile(r"^# yaml-language-server: \$schema=(?P<path>\S+)$")
HERE = "supportpolicy: policies ./policies (found here), rules ./rules (found here)"
# issue 16: an e-mail 30 minutes before closing on 2026-12-31; New Year's Day and the weekend are closed,
# so the other 3.5 of its 4 business hours are counted from Monday's opening.
NEW_YEARS_EVE = {"customer": "demo-city", "received_at": "2026-12-31T18:30:00-06:00", "channel": "email",
                 "requester": {"email": OTHER}, "category": "usage_question"}
FROM_SEVEN = "2027-01-04T10:30:00-06:00"  # the hours in force when it was received: 07:00 + 3.5 h
FROM_EIGHT = "2027-01-04T11:30:00-06:00"  # what the 2027.1 hours (08:00) would give


def run(*args, cwd, **options) -> subprocess.CompletedProcess:
    return run_cli(*args, cwd=cwd, timeout=120, **options)


def output(result) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout_text}\n--- stderr\n{result.stderr_text}"


@pytest.fixture(scope="module")
def started(tmp_path_factory) -> Path:
    """A policy repository as `supportpolicy init` writes it (shared: tests that change it copy it)."""
    folder = tmp_path_factory.mktemp("init") / "acme-policies"
    result = run("init", folder, cwd=folder.parent)
    assert result.returncode == 0, output(result)
    return folder


def copy_of(started: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "acme-policies"
    shutil.copytree(started, folder)
    return folder


# ---- init ------------------------------------------------------------------------

def test_init_writes_a_policy_repository_whose_policies_validate_and_pass_their_tests(started):
    for path in ("policies/customers/demo-city.yaml", "policies/plans/central-standard/2026.1.yaml",
                 "policies/tests/decision-table.yaml", "rules/billing.yaml", "schemas/plan.schema.json",
                 "schemas/common.schema.json", ".pre-commit-config.yaml", ".github/workflows/policy.yml",
                 "README.md"):
        assert (started / path).is_file(), path
    result = run("validate", "--strict", cwd=started)
    assert result.returncode == 0, output(result)
    assert HERE in result.stderr_text and "valid" in result.stderr_text
    result = run("test", "--min-coverage", "100", cwd=started)
    assert result.returncode == 0, output(result)
    assert re.search(r"^\d+ passed, 0 failed$", result.stdout_text, re.M), output(result)


def test_every_modeline_of_a_new_repository_points_at_the_schema_of_its_kind(started):
    kinds = {"plan": 0, "customer": 0, "ruleset": 0, "suite": 0, "integration": 0}
    for path in sorted(started.rglob("*.yaml")):
        if ".github" in path.parts or path.name == ".pre-commit-config.yaml":
            continue
        first, *_ = path.read_text(encoding="utf-8").splitlines()
        match = MODELINE.match(first)
        assert match, f"{path.relative_to(started)} does not start with a modeline: {first!r}"
        schema = (path.parent / match["path"]).resolve()
        assert schema.is_file(), f"{path.relative_to(started)}: {match['path']} points at nothing"
        kind = next(iter(yaml.safe_load(path.read_text(encoding="utf-8"))))
        assert schema == (started / "schemas" / f"{kind}.schema.json").resolve(), path
        kinds[kind] += 1
    assert all(kinds.values()), kinds  # every kind of file is there to start from


def test_the_pre_commit_hooks_are_the_ones_the_project_publishes_and_pass(started):
    published = {hook["id"]: hook for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    config = yaml.safe_load((started / ".pre-commit-config.yaml").read_text())
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert [h["id"] for h in hooks] == list(published)
    for hook in hooks:
        mine = published[hook["id"]]
        assert (hook["entry"], hook["args"], hook["pass_filenames"], hook["files"]) == \
            (mine["entry"], mine["args"], mine["pass_filenames"], mine["files"])
        command, *arguments = hook["entry"].split() + hook["args"]
        assert command == "supportpolicy"
        result = run(*arguments, cwd=started)  # as pre-commit runs it, at the top of the repository
        assert result.returncode == 0, output(result)


def test_the_ci_workflow_runs_commands_that_pass_in_the_new_repository(started):
    workflow = yaml.safe_load((started / ".github/workflows/policy.yml").read_text())
    runs = [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]
    commands = [r for r in runs if r.startswith("supportpolicy ")]
    assert [c.split()[1] for c in commands] == ["validate", "test", "impact"]
    for command in commands[:2]:  # impact needs the pull request's base branch
        arguments = command.split(">")[0].split()[1:]
        result = run(*arguments, cwd=started)
        assert result.returncode == 0, f"{command}\n{output(result)}"


def test_init_refuses_a_folder_that_is_not_empty_and_writes_nothing(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    result = run("init", folder, cwd=tmp_path)
    assert result.returncode == 1, output(result)
    assert "is not empty (it holds notes.txt); nothing was written" in result.stderr_text
    assert "--force" in result.stderr_text
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    result = run("init", "--force", folder, cwd=tmp_path)
    assert result.returncode == 0, output(result)
    assert (folder / "notes.txt").read_text() == "keep me" and (folder / "rules" / "billing.yaml").is_file()


@pytest.mark.parametrize("command", [("init",), ("schemas", "export")])
def test_init_and_schemas_export_refuse_a_file_as_a_usage_error(tmp_path, command):
    (tmp_path / "file").write_text("")
    result = run(*command, tmp_path / "file", cwd=tmp_path)
    assert result.returncode == 2 and "is a file" in result.stderr_text, output(result)
    assert (tmp_path / "file").read_text() == ""


def test_schemas_export_writes_the_schemas_the_modelines_name(tmp_path):
    result = run("schemas", "export", tmp_path / "schemas", cwd=tmp_path)
    assert result.returncode == 0, output(result)
    exported = {p.name: p.read_bytes() for p in (tmp_path / "schemas").iterdir()}
    assert exported == {p.name: p.read_bytes() for p in (REPO / "schemas").glob("*.schema.json")}
    for name in ("plan", "customer", "ruleset", "suite"):
        assert json.loads(exported[f"{name}.schema.json"])["$schema"].startswith("https://json-schema.org/")


# ---- one folder rule for every command --------------------------------------------------

def test_every_command_uses_the_policy_folders_where_it_runs_and_says_so(started, tmp_path):
    folder = copy_of(started, tmp_path)
    rate = folder / "policies/plans/central-standard/2026.1.yaml"
    text = rate.read_text()
    assert text.count('amount: "200.00"') == 1
    rate.write_text(text.replace('amount: "200.00"', 'amount: "275.00"'))
    body = json.dumps(dict(NEW_YEARS_EVE, received_at="2026-11-28T23:00:00-06:00",
                           requester={"email": "it.director@demo-city.gov"})).encode()
    decided = run("decide", "-", cwd=folder, stdin=body)
    assert decided.returncode == 0, output(decided)
    assert json.loads(decided.stdout_text)["hourly_rate"] == {"amount": "275.00", "currency": "USD"}
    explained = run("explain", "--format", "json", "-", cwd=folder, stdin=body)
    assert json.loads(explained.stdout_text)["decision"]["hourly_rate"]["amount"] == "275.00"
    for result in (decided, explained):
        assert result.stderr_text.splitlines()[0] == HERE, output(result)
    # Anywhere else, the shipped policy, said as such.
    elsewhere = run("decide", "-", cwd=tmp_path, stdin=body)
    assert json.loads(elsewhere.stdout_text)["hourly_rate"]["amount"] == "200.00"
    assert elsewhere.stderr_text.startswith("supportpolicy: policies and rules: the shipped policy ("), \
        output(elsewhere)
    # Flags (and their variables) override, one folder at a time.
    mixed = run("decide", "--rules", folder / "rules", "-", cwd=tmp_path, stdin=body)
    assert mixed.stderr_text.startswith("supportpolicy: policies the shipped policies (")
    assert f"rules {folder / 'rules'} (--rules)" in mixed.stderr_text
    variable = run("decide", "-", cwd=tmp_path, stdin=body,
                   env_extra={"SUPPORTPOLICY_POLICIES": str(folder / "policies")})
    assert json.loads(variable.stdout_text)["hourly_rate"]["amount"] == "275.00"
    assert f"policies {folder / 'policies'} (SUPPORTPOLICY_POLICIES)" in variable.stderr_text


def git(repo: Path, *args) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


def test_impact_base_head_in_a_policy_repository_reads_that_repository(started, tmp_path):
    if not shutil.which("git"):
        pytest.skip("git is not installed")
    folder = copy_of(started, tmp_path)
    git(folder, "init", "-q")
    git(folder, "-c", "user.name=Policy Tests", "-c", "user.email=policy-tests@example.org", "-c",
        "commit.gpgsign=false", "commit", "-q", "--allow-empty", "-m", "empty")
    git(folder, "add", "-A")
    git(folder, "-c", "user.name=Policy Tests", "-c", "user.email=policy-tests@example.org", "-c",
        "commit.gpgsign=false", "commit", "-q", "-m", "started with supportpolicy init")
    plan = folder / "policies/plans/central-standard/2026.1.yaml"
    plan.write_text(plan.read_text().replace('amount: "200.00"', 'amount: "250.00"'))
    result = run("impact", "--base", "HEAD", cwd=folder)
    assert result.returncode == 0, output(result)
    assert result.stderr_text.splitlines()[0] == HERE
    assert re.search(r"hourly_rate: .*200\.00.* -> .*250\.00", result.stdout_text), output(result)


def test_impact_against_a_git_ref_with_the_shipped_policy_says_where_to_run_it(tmp_path):
    result = run("impact", "--base", "HEAD", cwd=tmp_path)
    assert result.returncode == 2, output(result)
    assert "run in your policy repository" in result.stderr_text
    assert "site-packages" not in result.stderr_text.split("\n", 1)[1]


# ---- deadlines across a plan version's effective date ----------------------------------

def test_a_deadline_crossing_a_new_plan_version_counts_in_the_hours_in_force_when_received(started, tmp_path):
    folder = copy_of(started, tmp_path)
    shutil.copy(FIXTURES / "plan-versions" / "central-standard-2027.1.yaml",
                folder / "policies/plans/central-standard/2027.1.yaml")
    assert run("validate", "--strict", cwd=folder).returncode == 0
    body = json.dumps(NEW_YEARS_EVE).encode()
    decision = json.loads(run("decide", "-", cwd=folder, stdin=body).stdout_text)
    assert decision["respond_by"] == FROM_SEVEN != FROM_EIGHT
    assert decision["policy"]["version"] == "2026.1"
    # The new hours are those of a request received after they take effect: 08:00 + 4 h.
    monday = json.dumps(dict(NEW_YEARS_EVE, received_at="2027-01-04T06:00:00-06:00")).encode()
    assert json.loads(run("decide", "-", cwd=folder, stdin=monday).stdout_text)["respond_by"] == \
        "2027-01-04T12:00:00-06:00"
    explained = run("explain", "-", cwd=folder, stdin=body)
    assert explained.returncode == 0, output(explained)
    lines = explained.stdout_text.splitlines()
    (due,) = [n for n, line in enumerate(lines) if line.startswith(f"  target first_response due {FROM_SEVEN}")]
    assert lines[due + 1].strip() == (
        "counted in the hours of plan central-standard 2026.1, in force when the request was received, to the "
        "end: plan central-standard 2027.1 (from 2027-01-01) takes effect before it is due and does not move it")
    document = json.loads(run("explain", "--format", "json", "-", cwd=folder, stdin=body).stdout_text)
    (across,) = document["counted_across_versions"]
    assert (across["target"], across["due"], across["counted_in"]["version"]) == \
        ("first_response", FROM_SEVEN, "2026.1")
    assert [v["path"] for v in across["newer_versions"]] == ["policies/plans/central-standard/2027.1.yaml"]
    # Without a newer version in between, explain says nothing of the kind.
    plain = run("explain", "-", cwd=started, stdin=body)
    assert "counted in the hours of plan" not in plain.stdout_text


# ---- log export ----------------------------------------------------------------------

def test_log_export_of_a_log_that_does_not_exist_is_an_error_and_creates_nothing(tmp_path):
    missing = tmp_path / "nonexistent"
    result = run("log", "export", "--data-dir", missing, cwd=tmp_path)
    assert result.returncode == 1, output(result)
    assert f"no decision log at {missing / 'decisions.sqlite3'}" in result.stderr_text
    assert result.stdout_text == "" and not missing.exists()
    home = tmp_path / "home"
    result = run("log", "export", cwd=tmp_path, env_extra={"HOME": str(home), "XDG_DATA_HOME": ""})
    assert result.returncode == 1 and "no decision log at " in result.stderr_text, output(result)
    assert not home.exists()


def test_log_export_help_says_it_reads_the_log():
    result = run("log", "export", "--help", cwd=REPO)
    text = " ".join(result.stdout_text.split())
    assert "Read decisions from this PostgreSQL database" in text and "Log decisions to" not in text


# ---- tokens --------------------------------------------------------------------------

def test_token_list_and_revoke(tmp_path):
    tokens = tmp_path / "tokens.json"
    for name, scopes in (("ticketing", "decide"), ("prometheus", "metrics"), ("ops", "read,admin")):
        assert run("token", "add", name, "--scopes", scopes, "--tokens", tokens, cwd=tmp_path).returncode == 0
    listed = run("token", "list", "--tokens", tokens, cwd=tmp_path)
    assert listed.returncode == 0, output(listed)
    rows = [line.split() for line in listed.stdout_text.splitlines()]
    assert [(r[0], r[1]) for r in rows] == [("ticketing", "decide"), ("prometheus", "metrics"), ("ops", "admin,read")]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", r[2]) for r in rows)
    assert "sp_" not in listed.stdout_text and "3 token(s)" in listed.stderr_text
    revoked = run("token", "revoke", "prometheus", "--tokens", tokens, cwd=tmp_path)
    assert revoked.returncode == 0, output(revoked)
    assert "until it is restarted" in revoked.stderr_text
    assert [line.split()[0] for line in run("token", "list", "--tokens", tokens, cwd=tmp_path)
            .stdout_text.splitlines()] == ["ticketing", "ops"]
    unknown = run("token", "revoke", "prometheus", "--tokens", tokens, cwd=tmp_path)
    assert unknown.returncode == 1 and "has no token named 'prometheus'" in unknown.stderr_text, output(unknown)
    assert "'ticketing', 'ops'" in unknown.stderr_text


def test_token_list_of_a_file_that_is_not_a_token_file(tmp_path):
    (tmp_path / "tokens.json").write_text("[]")
    result = run("token", "list", "--tokens", tmp_path / "tokens.json", cwd=tmp_path)
    assert result.returncode == 1 and "is not a token file" in result.stderr_text, output(result)
