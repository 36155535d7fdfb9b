"""The pieces of a replica's policy source: its cache of sets, the follower's reads, the fleet's channel.

The cache and the URL shown need no database; the rest use a PostgreSQL schema of their own per
test (tests/logstores.py), published to with the store's own calls.
"""
from __future__ import annotations

import os

import pytest
from logstores import postgres_schema

from supportpolicy.engine.decide.build import load_policy_set
from supportpolicy.engine.load.files import label_from_root_name
from supportpolicy.server.policysource import KEEP_SETS, Cache, CannotStart, Follower
from supportpolicy.server.publishing import prepare
from supportpolicy.server.storage.policysource import PolicyStore, StoredFile, channel_for, without_password

from support import REPO, shipped_with_rate

FILES = [StoredFile("policies/customers/a.yaml", b"customer: a\n"), StoredFile("rules/r.yaml", b"ruleset: r\n")]


def digest_of(n: int) -> str:
    return f"sha256:{n:064x}"


def test_the_cache_writes_a_set_whole_and_points_its_link_at_it(tmp_path):
    cache = Cache(tmp_path / "cache", "host:8080")
    assert cache.digest() is None
    cache.put(digest_of(1), FILES)
    assert cache.digest() == digest_of(1)
    assert (cache.roots[0] / "customers" / "a.yaml").read_bytes() == b"customer: a\n"
    assert (cache.roots[1] / "r.yaml").read_bytes() == b"ruleset: r\n"
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")], "a temporary was left"


def test_the_cache_keeps_the_sets_its_links_name_and_the_newest_others(tmp_path):
    cache = Cache(tmp_path / "cache", "host:8080")
    for n in range(KEEP_SETS + 3):
        cache.put(digest_of(n), FILES)
        os.utime(tmp_path / "cache" / digest_of(n), (n, n))  # the order they were written in, whatever the clock
    kept = sorted(p.name for p in (tmp_path / "cache").iterdir() if p.is_dir() and not p.is_symlink())
    newest = KEEP_SETS + 2
    assert kept == sorted(digest_of(n) for n in range(newest - KEEP_SETS, newest + 1))
    assert cache.digest() == digest_of(newest)


def test_a_stored_path_that_leaves_its_set_is_refused_and_nothing_is_put_in_force(tmp_path):
    cache = Cache(tmp_path / "cache", "host:8080")
    with pytest.raises(ValueError, match="leaves its set"):
        cache.put(digest_of(1), [StoredFile("policies/../../escaped.yaml", b"x: 1\n")])
    assert cache.digest() is None and not (tmp_path / "escaped.yaml").exists()


def test_a_replica_under_another_name_starts_from_the_newest_set_cached_in_its_folder(tmp_path):
    Cache(tmp_path / "cache", "host:8080").put(digest_of(1), FILES)
    other = Cache(tmp_path / "cache", "host:9090")
    assert other.digest() is None and other.adopt() == digest_of(1) and other.digest() == digest_of(1)


def test_the_url_shown_has_no_password_anywhere():
    shown = without_password("postgresql://me:s3cret@db.example:5432/fleet?sslmode=require&password=other")
    assert shown == "postgresql://me@db.example:5432/fleet?sslmode=require"


def test_each_schema_has_a_channel_of_its_own_that_postgresql_accepts():
    assert channel_for("fleet_a") != channel_for("fleet_b")
    assert len(channel_for("x" * 63)) <= 63


@pytest.fixture
def source():
    with postgres_schema() as (url, _):
        yield url


def publish_folders(url, policies, rules) -> str:
    prepared = prepare((policies, rules), lambda root, path: str(path))
    with PolicyStore(url) as store:
        store.publish(prepared.digest, list(prepared.files), "test")
    return prepared.digest


def test_a_set_read_back_and_loaded_from_the_cache_has_the_digest_it_was_published_under(tmp_path, source):
    digest = publish_folders(source, *shipped_with_rate(tmp_path / "set", "250.00"))
    follower = Follower(source, Cache(tmp_path / "cache", "r1"), "r1")
    follower.begin()
    assert follower.cache.digest() == digest == load_policy_set(*follower.cache.roots,
                                                                label=label_from_root_name).digest


def test_a_reload_asked_for_reads_the_database_again(tmp_path, source):
    first = publish_folders(source, REPO / "policies", REPO / "rules")
    follower = Follower(source, Cache(tmp_path / "cache", "r1"), "r1")
    follower.begin()
    assert follower.cache.digest() == first
    changed = publish_folders(source, *shipped_with_rate(tmp_path / "set", "250.00"))
    follower.refresh()  # what POST /v1/admin/reload and SIGHUP do first
    assert follower.cache.digest() == changed and follower.report()["policy_source"]["published"] == changed


def test_nothing_published_and_nothing_cached_is_no_start(tmp_path, source):
    with pytest.raises(CannotStart, match="nothing has been published"):
        Follower(source, Cache(tmp_path / "cache", "r1"), "r1").begin()


def test_fleets_in_two_schemas_do_not_hear_each_other():
    with postgres_schema() as (one, _), postgres_schema() as (other, _):
        with PolicyStore(one) as listening, PolicyStore(other) as publishing:
            listening.listen()
            publishing.publish(digest_of(1), FILES, "test")
            assert listening.notified(0.5) == []
            with PolicyStore(one) as same:
                same.publish(digest_of(2), FILES, "test")
            assert listening.notified(5) == [digest_of(2)]
