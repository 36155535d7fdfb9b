"""What the wheel must carry: every package of the source tree, under one distinctive name, and its data."""
from __future__ import annotations

import configparser
from importlib import metadata
from pathlib import PurePosixPath

import supportpolicy.engine as engine
import supportpolicy.server as server
from supportpolicy.engine.resources import shipped

from support import REPO


def test_setup_cfg_lists_every_package_of_the_source_tree():
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    found = {".".join(("supportpolicy",) + p.parent.relative_to(REPO).parts) for top in ("engine", "server")
             for p in (REPO / top).rglob("__init__.py")}
    assert found <= listed


def test_everything_installs_under_the_supportpolicy_name():
    # Generic top-level packages (engine, server) would clash with any other project's in site-packages.
    distribution = metadata.distribution("supportpolicy")
    assert (distribution.read_text("top_level.txt") or "supportpolicy").split() == ["supportpolicy"]
    tops = {PurePosixPath(str(f)).parts[0] for f in distribution.files or () if not str(f).startswith("..")}
    machinery = {t for t in tops if t.endswith(".dist-info") or "__editable__" in t or t == "__pycache__"}
    assert tops - machinery <= {"supportpolicy"}


def test_the_installed_package_finds_its_schemas_rules_and_policies():
    for name, pattern in (("schemas", "*.schema.json"), ("rules", "*.yaml"), ("policies", "**/*.yaml")):
        assert list(shipped(name).glob(pattern)), name
    assert engine.__file__ and server.__file__
