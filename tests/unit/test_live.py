"""server.live.LivePolicy: a set that changes while it loads is loaded again, never put in force half-read.

A reload reads the files one after the other. Here the customer file is half
written when the reload reads it, at a point where the partial file is still
a valid set (cut in the middle of the designated webmaster's address), and
the writer finishes it while the reload goes on reading the files after it:
the hook is the naming of a new file that sorts after the customer's, which
happens between the two.
"""
from __future__ import annotations

import shutil

from supportpolicy.engine.decide.build import check_policy_set
from supportpolicy.engine.load.files import label_from_root_name
from supportpolicy.engine.resources import shipped
from supportpolicy.server.live import LivePolicy

from support import make_request

CUSTOMER = "policies/customers/demo-city.yaml"
WEBMASTER_OUTAGE = make_request("2026-11-28T23:00:00-06:00", "phone", "website_down", "webmaster@demo-city.gov")


def test_a_file_completed_while_the_set_loads_is_loaded_again_whole(tmp_path):
    for folder in ("policies", "rules"):
        shutil.copytree(shipped(folder), tmp_path / folder, ignore=shutil.ignore_patterns("tests"))
    path = tmp_path / CUSTOMER
    complete = path.read_bytes().replace(b"name: City of Demo", b"name: City of Demo (renamed)")
    partial = complete[:complete.index(b"webmaster@demo-ci") + len(b"webmaster@demo-ci")]
    later = tmp_path / "policies" / "customers" / "zz-city.yaml"  # read after demo-city.yaml

    def label(root, file):
        if file == later and path.read_bytes() == partial:
            path.write_bytes(complete)  # the writer finishes while the reload reads on
        return label_from_root_name(root, file)

    roots = (tmp_path / "policies", tmp_path / "rules")
    live = LivePolicy(roots, label)
    assert live.current.decide(WEBMASTER_OUTAGE).as_json()["emergency_support"] is True

    path.write_bytes(partial)
    half, errors = check_policy_set(roots)
    assert half is not None, errors  # the partial file is a valid set: only reading it again catches it
    assert half.decide(WEBMASTER_OUTAGE).as_json()["emergency_support"] is False
    later.write_bytes(complete.replace(b"customer: demo-city", b"customer: zz-city"))

    attempt = live.reload("test")
    assert path.read_bytes() == complete
    whole, _ = check_policy_set(roots)
    assert attempt.ok and attempt.digest == whole.digest == live.current.digest
    assert live.current.decide(WEBMASTER_OUTAGE).as_json()["emergency_support"] is True


def test_files_unchanged_since_the_last_attempt_are_not_loaded_again(tmp_path):
    for folder in ("policies", "rules"):
        shutil.copytree(shipped(folder), tmp_path / folder, ignore=shutil.ignore_patterns("tests"))
    live = LivePolicy((tmp_path / "policies", tmp_path / "rules"))
    current = live.current
    attempt = live.reload("SIGHUP")
    assert attempt.ok and attempt.reason == "SIGHUP" and attempt.digest == current.digest
    assert live.current is current and live.current.loaded_at == current.loaded_at

    plan = tmp_path / "policies" / "plans" / "central-standard" / "2026.1.yaml"
    plan.write_text(plan.read_text(encoding="utf-8").replace("tuesday:", "tuesday :", 1) + "  oops: [\n",
                    encoding="utf-8")
    refused = live.reload("SIGHUP")
    again = live.reload("POST /v1/admin/reload")
    assert not refused.ok and not again.ok and again.errors == refused.errors and again.at > refused.at
    assert again.reason == "POST /v1/admin/reload" and live.current is current
