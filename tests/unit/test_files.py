"""Finding the policy files: links are followed, as a Kubernetes ConfigMap mounts them.

A ConfigMap volume holds each version of its files in a folder of its own
(``..2026_11_30_10_00_00.000000001``), a link ``..data`` to the version in
force, and each entry as a link into ``..data``: a new version is written
beside the old one and put in force by renaming a new ``..data`` link over the
old one. The policies and rules are mounted that way here, and the set loaded
from them must be the one loaded from a plain copy, with the same file names.
"""
from __future__ import annotations

import os
import shutil

from supportpolicy.engine.decide.build import check_policy_set
from supportpolicy.engine.load.files import discover, read_files
from supportpolicy.engine.resources import shipped

from support import configmap


def test_a_configmap_mount_loads_the_set_a_plain_copy_loads(tmp_path):
    plain = tmp_path / "plain"
    shutil.copytree(shipped("policies"), plain / "policies", ignore=shutil.ignore_patterns("tests"))
    shutil.copytree(shipped("rules"), plain / "rules")
    mounted = tmp_path / "mounted"
    configmap(mounted / "policies", shipped("policies"), "..2026_11_30_10_00_00.000000001")
    configmap(mounted / "rules", shipped("rules"), "..2026_11_30_10_00_00.000000001")
    assert (mounted / "policies" / "customers").is_symlink() and (mounted / "rules" / "billing.yaml").is_symlink()

    expected, errors = check_policy_set((plain / "policies", plain / "rules"))
    assert expected is not None, errors
    policy_set, errors = check_policy_set((mounted / "policies", mounted / "rules"))
    assert policy_set is not None, "\n".join(map(str, errors))
    # The same files under the same names (policies/customers/demo-city.yaml, never ..data/...), so the same digest.
    assert [f["path"] for f in policy_set.describe()] == [f["path"] for f in expected.describe()]
    assert policy_set.digest == expected.digest
    assert not any(".." in f["path"] for f in policy_set.describe())


def test_swapping_the_data_link_puts_the_new_version_in_what_is_read(tmp_path):
    folder = configmap(tmp_path / "policies", shipped("policies"), "..v1")
    before = read_files([folder])
    newer = folder / "..v2"
    shutil.copytree(folder / "..v1", newer)
    customer = newer / "customers" / "demo-city.yaml"
    customer.write_text(customer.read_text(encoding="utf-8").replace("City of Demo", "City of Demo (v2)"),
                        encoding="utf-8")
    os.symlink("..v2", folder / "..data_tmp")
    os.replace(folder / "..data_tmp", folder / "..data")
    after = read_files([folder])
    assert [f.name for f in after.files] == [f.name for f in before.files]
    assert after.fingerprint != before.fingerprint
    text = {f.name: f.text for f in after.files}
    assert b"City of Demo (v2)" in text[str(folder / "customers" / "demo-city.yaml")]


def test_a_link_back_up_is_not_followed_and_each_real_folder_is_read_once(tmp_path):
    root = tmp_path / "policies"
    shutil.copytree(shipped("policies") / "customers", root / "customers")
    os.symlink("..", root / "customers" / "up")  # a loop: back to the root
    os.symlink(tmp_path, root / "out")  # the folder holding the root: a loop too
    os.symlink("customers", root / "again")  # the same real folder a second time
    (root / ".hidden").mkdir()
    (root / ".hidden" / "x.yaml").write_text("customer: x\n", encoding="utf-8")
    found = discover(root)
    # Named by its real place, whichever name sorts first.
    assert [p.relative_to(root).as_posix() for p in found if p.name == "demo-city.yaml"] == \
        ["customers/demo-city.yaml"]
    assert not any(".hidden" in p.parts for p in found)
