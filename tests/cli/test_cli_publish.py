"""`supportpolicy publish`: a valid set stored once by its digest and put in force; an invalid one refused whole.

Each test publishes to a PostgreSQL schema of its own (tests/logstores.py) and reads what was stored
with a connection of its own. The digest a set must be stored under is the one a folder load of the
same files computes (``load_policy_set``), never a number written here.
"""
from __future__ import annotations

import shutil
import threading

import pytest
from logstores import admin_connection, password_of, postgres_schema

from supportpolicy.engine.decide.build import load_policy_set
from supportpolicy.server.storage.policysource import PolicyStore, StoredFile

from support import REPO, error_lines, run_cli, shipped_with_rate

TABLES = ("policy_sets", "policy_set_files", "policy_file_contents", "policy_in_force")


@pytest.fixture
def source():
    with postgres_schema() as (url, _):
        yield url


def publish(cwd, url, *args, **kwargs):
    return run_cli("publish", "--to", url, *args, cwd=cwd, **kwargs)


def counts(url) -> dict:
    with admin_connection(url) as connection:
        present = {r[0] for r in connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}
        return {t: connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0] if t in present else 0
                for t in TABLES}


def copy_of_shipped(where):
    shutil.copytree(REPO / "policies", where / "policies")
    shutil.copytree(REPO / "rules", where / "rules")
    return where / "policies", where / "rules"


def test_a_valid_set_is_stored_under_the_digest_a_folder_load_computes(tmp_path, source):
    policies, rules = copy_of_shipped(tmp_path / "repo")
    result = publish(tmp_path, source, "--policies", policies, "--rules", rules, "--by", "ci@example")
    assert result.returncode == 0, result.stderr_text
    digest = load_policy_set(policies, rules).digest
    assert result.stdout_text.splitlines() == [f"published {digest} (13 files)", f"{digest} is now in force"]
    with admin_connection(source) as connection:
        assert connection.execute("SELECT digest, published_by FROM policy_sets").fetchall() == [(digest, "ci@example")]
        stored = dict(connection.execute("SELECT f.path, c.content FROM policy_set_files f "
                                         "JOIN policy_file_contents c USING (sha256)").fetchall())
    on_disk = {f"{root.name}/{p.relative_to(root).as_posix()}": p.read_bytes()
               for root in (policies, rules) for p in root.rglob("*.yaml") if "tests" not in p.relative_to(root).parts}
    assert {k: bytes(v) for k, v in stored.items()} == on_disk


def test_publishing_the_same_content_twice_stores_it_once(tmp_path, source):
    first = publish(tmp_path, source, "--policies", REPO / "policies", "--rules", REPO / "rules")
    copy = copy_of_shipped(tmp_path / "elsewhere")  # the same files in other folders: the same set
    again = publish(tmp_path, source, "--policies", copy[0], "--rules", copy[1])
    assert first.returncode == again.returncode == 0, again.stderr_text
    digest = first.stdout_text.split()[1]
    assert again.stdout_text.splitlines() == [f"already published {digest} (13 files)",
                                              f"{digest} was already in force"]
    assert counts(source) == {"policy_sets": 1, "policy_set_files": 13, "policy_file_contents": 13,
                              "policy_in_force": 1}


def test_an_invalid_set_is_refused_with_the_errors_validate_prints_and_nothing_is_stored(tmp_path, source):
    policies, rules = copy_of_shipped(tmp_path / "repo")
    customer = policies / "customers" / "demo-city.yaml"
    text = customer.read_text(encoding="utf-8")
    assert "  id: central-standard\n" in text
    customer.write_text(text.replace("  id: central-standard\n", "  id: no-such-plan\n"), encoding="utf-8")
    result = publish(tmp_path, source, "--policies", policies, "--rules", rules)
    validated = run_cli("validate", "--policies", policies, "--rules", rules, cwd=tmp_path)
    assert result.returncode == validated.returncode == 1
    assert result.stdout_text == validated.stdout_text
    errors = error_lines(result.stdout_text)
    expected_line = text.splitlines().index("  id: central-standard") + 1
    assert any(e["file"] == str(customer) and e["line"] == expected_line for e in errors), errors
    assert "nothing was published" in result.stderr_text
    assert counts(source) == dict.fromkeys(TABLES, 0)


def test_list_shows_every_set_and_which_is_in_force_and_rollback_puts_an_earlier_one_back(tmp_path, source):
    first = publish(tmp_path, source, "--policies", REPO / "policies", "--rules", REPO / "rules")
    changed = shipped_with_rate(tmp_path / "changed", "250.00")
    second = publish(tmp_path, source, "--policies", changed[0], "--rules", changed[1])
    old, new = first.stdout_text.split()[1], second.stdout_text.split()[1]
    assert old != new and second.stdout_text.startswith(f"published {new}")
    listed = publish(tmp_path, source, "--list").stdout_text.splitlines()
    assert [line.split()[0] for line in listed] == [new, old]
    assert listed[0].endswith("in force") and not listed[1].endswith("in force")

    rolled = publish(tmp_path, source, "--rollback", old.removeprefix("sha256:")[:10])
    assert rolled.returncode == 0, rolled.stderr_text
    assert rolled.stdout_text.splitlines() == [f"{old} is now in force"]
    listed = publish(tmp_path, source, "--list").stdout_text.splitlines()
    assert [line.split()[0] for line in listed if line.endswith("in force")] == [old]
    with admin_connection(source) as connection:
        history = connection.execute("SELECT digest, action FROM policy_in_force ORDER BY seq").fetchall()
    assert history == [(old, "publish"), (new, "publish"), (old, "rollback")]


def test_rollback_to_an_unknown_or_ambiguous_digest_is_refused(tmp_path, source):
    publish(tmp_path, source, "--policies", REPO / "policies", "--rules", REPO / "rules")
    changed = shipped_with_rate(tmp_path / "changed", "250.00")
    publish(tmp_path, source, "--policies", changed[0], "--rules", changed[1])
    before = counts(source)
    unknown = publish(tmp_path, source, "--rollback", "sha256:ffffffffnotthere")
    assert unknown.returncode == 1 and "no published policy set has the digest" in unknown.stderr_text
    ambiguous = publish(tmp_path, source, "--rollback", "sha256:")  # the start of both
    assert ambiguous.returncode == 1 and "more than one published digest" in ambiguous.stderr_text
    assert counts(source) == before


def test_the_database_may_come_from_the_environment_and_an_unreachable_one_is_said_without_its_password(tmp_path,
                                                                                                       source):
    from_env = run_cli("publish", "--policies", REPO / "policies", "--rules", REPO / "rules", cwd=tmp_path,
                       env_extra={"SUPPORTPOLICY_POLICY_SOURCE": source})
    assert from_env.returncode == 0, from_env.stderr_text
    url = "postgresql://someone:not-this-password@127.0.0.1:1/nothing"
    result = publish(tmp_path, url, "--policies", REPO / "policies", "--rules", REPO / "rules")
    assert result.returncode == 1
    assert "cannot use the policy source postgresql://someone@127.0.0.1:1/nothing" in result.stderr_text
    assert password_of(url) not in result.stderr_text + result.stdout_text


def test_a_replica_reading_while_sets_are_published_never_sees_part_of_one(source):
    sets = []
    for n in range(12):
        files = [StoredFile(f"policies/customers/c{i}.yaml", f"customer: c{i}\nset: {n}\n".encode()) for i in range(60)]
        sets.append((f"sha256:{n:064x}", files))
    seen, problems = [], []

    def publisher():
        with PolicyStore(source) as store:
            for digest, files in sets:
                store.publish(digest, files, "test")

    def reader(stop):
        with PolicyStore(source) as store:
            while not stop.is_set():
                digest = store.in_force()
                if digest is None:
                    continue
                files = store.files(digest)
                expected = dict(sets)[digest]
                seen.append(digest)
                if files != sorted(expected, key=lambda f: f.path):
                    problems.append(digest)

    PolicyStore(source).connect().close()  # the tables, before either starts
    stop = threading.Event()
    reading = threading.Thread(target=reader, args=(stop,))
    reading.start()
    publisher()
    stop.set()
    reading.join(timeout=30)
    assert len(set(seen)) > 1, "the reader saw too few publishes to tell"
    assert problems == []


def test_serve_with_a_policy_source_refuses_folders_as_well(tmp_path):
    result = run_cli("serve", "--policy-source", "postgresql://someone@127.0.0.1:1/nothing", "--policies",
                     REPO / "policies", "--port", "0", cwd=tmp_path)
    assert result.returncode == 2
    assert "--policy-source replaces --policies and --rules" in result.stderr_text
