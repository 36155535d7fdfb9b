#!/usr/bin/env python
"""Lint the OpenAPI document as servers serve it, and compile the JSON Schemas with another validator.

    python .ci/openapi-lint/run.py --npm-prefix DIR      (tox -e openapi)

The document is built by the installed supportpolicy twice: as a server
without tokens serves it, and as one with tokens (each operation's scope and
its 401 and 403). Both are linted with Redocly CLI's recommended rules and with
Spectral's spectral:oas, and every schema in schemas/ is compiled by ajv
(draft 2020-12), which resolves their references to each other by their $id.

The tools are those package-lock.json pins, installed from the npm registry
with `npm ci` into DIR (once per lock file). Any error, and any warning but
those listed in ACCEPTED (README.md says why each is deliberate), fails the run.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from supportpolicy.server.app import SCOPE_OF
from supportpolicy.server.openapi import openapi_document

HERE = Path(__file__).resolve().parent
SCHEMAS = HERE.parent.parent / "schemas"
# Spectral findings left on purpose (README.md says why): rule -> the JSON paths (regular expressions) it may name.
ACCEPTED = {
    "info-contact": re.compile(r"info"),
    # OpenAPI 3.1 lets an http bearer requirement list role names; Spectral only knows OAuth scopes.
    "oas3-operation-security-defined": re.compile(r"paths\..*\.security\.0\.bearer\.0"),
}


def install(prefix: Path) -> Path:
    """The pinned tools in ``prefix``, installed with npm ci unless that lock file's are already there."""
    lock = (HERE / "package-lock.json").read_bytes()
    stamp = prefix / ".installed-lock-sha256"
    digest = hashlib.sha256(lock).hexdigest()
    if not stamp.exists() or stamp.read_text() != digest:
        prefix.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(HERE / name, prefix / name)
        npm = shutil.which("npm")
        if npm is None:
            sys.exit("npm is not installed: install Node.js 18.17 or later with npm (Debian: apt install nodejs npm)")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=prefix, check=True)
        stamp.write_text(digest)
    return prefix / "node_modules" / ".bin"


def redocly(bin_: Path, document: Path) -> bool:
    """Redocly's errors and warnings alike fail (it exits 0 on warnings)."""
    command = [str(bin_ / "redocly"), "lint", str(document), "--config", str(HERE / "redocly.yaml"),
               "--max-problems", "1000"]
    result = subprocess.run(command + ["--format", "json"], capture_output=True, text=True)
    try:
        totals = json.loads(result.stdout)["totals"]
    except (ValueError, KeyError):
        print(result.stdout, result.stderr, file=sys.stderr)
        return False
    if totals["errors"] or totals["warnings"]:
        subprocess.run(command)  # again, as people read it
        return False
    print(f"redocly: {document.name}: no errors, no warnings")
    return True


def _accepted(finding: dict) -> bool:
    where = ACCEPTED.get(finding["code"])
    return where is not None and where.fullmatch(".".join(map(str, finding["path"]))) is not None


def spectral(bin_: Path, document: Path) -> bool:
    result = subprocess.run([str(bin_ / "spectral"), "lint", str(document), "--ruleset", str(HERE / ".spectral.yaml"),
                             "--format", "json", "--quiet", "--fail-severity", "error"],
                            capture_output=True, text=True)
    findings = json.loads(result.stdout or "[]")
    unexpected = [f for f in findings if not _accepted(f)]
    for f in findings:
        mark = "accepted" if f not in unexpected else "FAIL"
        print(f"spectral {mark}: {f['code']} at {'.'.join(map(str, f['path'])) or '/'}: {f['message']}")
    if result.returncode not in (0, 1) or (result.returncode == 1 and not findings):
        print(result.stderr, file=sys.stderr)
        return False
    return not unexpected


def ajv(bin_: Path) -> bool:
    ok = True
    for path in sorted(SCHEMAS.glob("*.schema.json")):
        others = [arg for other in sorted(SCHEMAS.glob("*.schema.json")) if other != path
                  for arg in ("-r", other.name)]
        result = subprocess.run([str(bin_ / "ajv"), "compile", "--spec=draft2020", "--allow-union-types",
                                 "-c", "ajv-formats", "-s", path.name, *others], cwd=SCHEMAS)
        ok &= result.returncode == 0
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--npm-prefix", type=Path, required=True, help="where the pinned npm tools are installed")
    args = parser.parse_args(argv)
    bin_ = install(args.npm_prefix.resolve())
    ok = True
    with tempfile.TemporaryDirectory(prefix="supportpolicy-openapi-") as workdir:
        for name, scope_of in (("without-tokens", None), ("with-tokens", SCOPE_OF)):
            document = Path(workdir) / f"openapi-{name}.json"
            document.write_text(json.dumps(openapi_document(scope_of), indent=2))
            print(f"== the document a server {name.replace('-', ' ')} serves")
            ok &= redocly(bin_, document)
            ok &= spectral(bin_, document)
    print("== the JSON Schemas, compiled by ajv")
    ok &= ajv(bin_)
    print("openapi lint: ok" if ok else "openapi lint: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
