"""What a new policy repository holds: the files ``supportpolicy init`` writes, computed, never written here.

The shipped policy is the starting point (its plans, customers, rule sets
and policy tests), with the JSON Schemas beside it, so an editor that reads
``# yaml-language-server: $schema=...`` modelines completes and checks every
file. Each modeline is written from the file's own place in the new
repository (``policies/plans/<plan>/<version>.yaml`` is three folders below
``schemas/``), not copied. Then the checks that guard a change: a pre-commit
configuration with the hooks this project publishes (``.pre-commit-hooks.yaml``),
and a CI workflow.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import PurePosixPath

from supportpolicy.engine.load.files import KINDS, discover
from supportpolicy.engine.load.yamlsource import parse
from supportpolicy.engine.resources import shipped

MODELINE = "# yaml-language-server: $schema="
SCHEMAS = "schemas"

# The hooks of .pre-commit-hooks.yaml, as a repository's own (`repo: local`) hooks run them: the
# supportpolicy installed beside pre-commit. tests/cli/test_init.py checks the two agree.
HOOKS = (
    ("supportpolicy-validate", "check support policies", "supportpolicy validate --strict"),
    ("supportpolicy-test", "run the policy tests", "supportpolicy test --min-coverage 100"),
)
FOLDER_ARGS = "[--policies, policies, --rules, rules]"


@dataclass(frozen=True)
class StarterFile:
    """One file of a new repository: its path below the repository (POSIX form) and its content."""

    path: str
    content: bytes


def schema_files() -> list[StarterFile]:
    """The JSON Schemas of every kind of policy file (and the shared definitions they refer to)."""
    folder = shipped(SCHEMAS)
    return [StarterFile(f"{SCHEMAS}/{p.name}", p.read_bytes()) for p in sorted(folder.glob("*.schema.json"))]


def starter_files(version: str) -> list[StarterFile]:
    """Every file of a new policy repository, for the supportpolicy ``version`` that writes it."""
    files = [*_policy_files("policies"), *_policy_files("rules"), *schema_files()]
    files.append(StarterFile(".pre-commit-config.yaml", _pre_commit_config().encode()))
    files.append(StarterFile(".github/workflows/policy.yml", _workflow(version).encode()))
    files.append(StarterFile("README.md", _readme().encode()))
    return files


def _policy_files(name: str) -> list[StarterFile]:
    root = shipped(name)
    found = []
    for path in discover(root):
        relative = PurePosixPath(name, path.relative_to(root).as_posix())
        found.append(StarterFile(str(relative), with_modeline(path.read_bytes(), str(relative))))
    return found


def with_modeline(content: bytes, path: str) -> bytes:
    """``content`` with its first line a modeline pointing, from ``path``, at the schema of its kind.

    The kind is the document's first key, as the loader reads it; a file of no known kind is left as it is.
    """
    source, _ = parse(path, content)
    data = source.data if source is not None and isinstance(source.data, dict) else {}
    kind = next(iter(data), None)
    if kind not in KINDS:
        return content
    target = os.path.relpath(f"{SCHEMAS}/{kind}.schema.json", os.path.dirname(path) or ".")
    line = f"{MODELINE}{PurePosixPath(target)}\n".encode()
    if content.startswith(MODELINE.encode()):
        return line + content.split(b"\n", 1)[1] if b"\n" in content else line
    return line + content


def _pre_commit_config() -> str:
    hooks = "".join(f"""      - id: {hook_id}
        name: {name}
        entry: {entry}
        args: {FOLDER_ARGS}
        language: system
        pass_filenames: false
        files: \\.ya?ml$
""" for hook_id, name, entry in HOOKS)
    return f"""# pre-commit (https://pre-commit.com): `pre-commit install` once, then every commit that touches a
# policy file is checked first. These are the hooks supportpolicy publishes in its .pre-commit-hooks.yaml,
# run by the supportpolicy installed here (`language: system`). To have pre-commit install supportpolicy
# itself, use instead `repo: <supportpolicy's git URL>`, `rev: <its tag>` and the same hook ids.
repos:
  - repo: local
    hooks:
{hooks}"""


def _workflow(version: str) -> str:
    return f"""# Checks every pull request: the policy set is valid (warnings fail too, shown as annotations), every
# policy test passes with full rule coverage, and what the change changes, replayed over the suites' requests.
name: policy
on: pull_request
jobs:
  policy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with: {{fetch-depth: 0}}  # impact reads the base branch from git
      - uses: actions/setup-python@v5
        with: {{python-version: "3.12"}}
      # supportpolicy {version} wrote this repository; install that version from where your organisation
      # keeps it (a package index, a wheel, or git+<its repository URL>@v{version}).
      - run: pip install "supportpolicy=={version}"
      - run: supportpolicy validate --strict --format github --policies policies --rules rules
      - run: supportpolicy test --min-coverage 100 --format junit --policies policies --rules rules > policy-tests.xml
      - run: supportpolicy impact --base origin/${{{{ github.base_ref }}}} --policies policies --rules rules
"""


def _readme() -> str:
    return """# Support policies

Support contracts as policy files, for supportpolicy.

| folder | what |
| --- | --- |
| `policies/plans/<plan>/<version>.yaml` | the plans: support hours, holidays, channels, categories, rates |
| `policies/customers/<customer>.yaml` | each customer's contract: its plan, designated contacts, terms of its own |
| `policies/tests/` | the policy tests: requests and the decisions expected for them |
| `rules/` | the rule sets that decide |
| `schemas/` | the JSON Schemas every file's first line points at, for editor completion and checks |

Run in this folder, every supportpolicy command uses `policies/` and `rules/` here:

```sh
supportpolicy validate            # every schema, reference and meaning error, with file:line:column
supportpolicy test                # the policy tests
supportpolicy explain request.json
supportpolicy impact --base main  # what your change changes (this folder must be a git repository)
supportpolicy serve               # the decision API and the policy explorer on http://127.0.0.1:8080/
```

`.pre-commit-config.yaml` runs the first two before each commit (`pre-commit install`), and
`.github/workflows/policy.yml` runs them, and `impact`, on every pull request.
"""
