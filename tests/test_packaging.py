"""What the wheel must carry: every package of the source tree, and the data it needs."""
from __future__ import annotations

import configparser

import engine
import server
from engine.resources import shipped
from support import REPO


def test_setup_cfg_lists_every_package_of_the_source_tree():
    config = configparser.ConfigParser()
    config.read(REPO / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    found = {".".join(p.parent.relative_to(REPO).parts) for top in ("engine", "server")
             for p in (REPO / top).rglob("__init__.py")}
    assert found <= listed


def test_the_installed_package_finds_its_schemas_rules_and_policies():
    for name, pattern in (("schemas", "*.schema.json"), ("rules", "*.yaml"), ("policies", "**/*.yaml")):
        assert list(shipped(name).glob(pattern)), name
    assert engine.__file__ and server.__file__
