"""Prometheus metrics, correct under several gunicorn workers.

``supportpolicy serve`` runs prometheus-client in multiprocess mode: each
worker writes its samples to files in a private folder and /metrics, in
whichever worker answers, adds up all of them.
"""
from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess, values
from prometheus_client.core import GaugeMetricFamily

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def use_multiprocess(folder: str) -> None:
    """Before the first metric is made: keep samples in ``folder``, shared by every process of a server."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    values.ValueClass = values.get_value_class()


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR")


class Metrics:
    def __init__(self):
        # In multiprocess mode samples go to files and /metrics collects them; otherwise to this registry.
        self.registry = None if multiprocess_dir() else CollectorRegistry()
        self.decisions = Counter("supportpolicy_decisions", "Decisions made, by who handles them first, "
                                 "whether billable and whether an emergency.",
                                 ["route_team", "billable", "emergency"], registry=self.registry)
        self.dry_runs = Counter("supportpolicy_dry_runs", "Dry runs: requests decided without being logged "
                                "(POST /v1/decisions?dry_run=true); not counted in supportpolicy_decisions.",
                                registry=self.registry)
        self.replays = Counter("supportpolicy_idempotent_replays", "Retried requests (the same Idempotency-Key and "
                               "body) answered with the decision first given; not counted again in "
                               "supportpolicy_decisions.", registry=self.registry)
        self.latency = Histogram("supportpolicy_request_duration_seconds", "Time to answer a request.",
                                 ["endpoint"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.problems = Counter("supportpolicy_problems", "Problem documents returned, by problem type.",
                                ["type"], registry=self.registry)
        self.policy = Gauge("supportpolicy_policy_active", "1 for the digest of the policy set in force.",
                            ["digest"], multiprocess_mode="liveall", registry=self.registry)
        self.reload_failures = Counter("supportpolicy_reload_failures", "Reloads refused because the policy "
                                       "files were invalid.", registry=self.registry)
        self._digest = None
        # Label lookups build tuples and take a lock; each child is looked up once and kept.
        self._children = {}

    def _child(self, metric, *labels):
        key = (metric, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def decided(self, route_team: str, billable: bool, emergency: bool) -> None:
        self._child(self.decisions, route_team, "true" if billable else "false",
                    "true" if emergency else "false").inc()

    def refused(self, problem_type: str) -> None:
        """A problem that is not the answer's own: one request of a batch refused."""
        self._child(self.problems, problem_type).inc()

    def answered(self, endpoint: str, seconds: float, problem_type: str | None) -> None:
        self._child(self.latency, endpoint).observe(seconds)
        if problem_type:
            self._child(self.problems, problem_type).inc()

    def policy_in_force(self, digest: str) -> None:
        if digest != self._digest:
            if self._digest is not None:
                self.policy.labels(self._digest).set(0)
            self.policy.labels(digest).set(1)
            self._digest = digest

    def exposition(self, open_clocks=None, fleet_digests=None) -> bytes:
        """The metrics; ``open_clocks``, (plan, target, state, count) of the tracked tickets' open clocks now
        (server.storage.tickets.open_clocks), read from the store at each scrape: the same in every worker;
        ``fleet_digests``, digest -> replicas of the fleet deciding with it (with a policy source)."""
        if self.registry is not None:
            text = generate_latest(self.registry)
        else:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            text = generate_latest(registry)
        families = ([_ticket_gauge(open_clocks)] if open_clocks is not None else []) + \
            ([_fleet_gauge(fleet_digests)] if fleet_digests is not None else [])
        return text + generate_latest(_Collected(*families)) if families else text


TICKET_STATES = ("running", "paused", "warning", "breached")


def _ticket_gauge(open_clocks) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily("supportpolicy_tickets", "Tracked tickets whose clock of a target is open, by the plan "
                              "they were received under, the target, and its state now: running, paused, warning "
                              "(a warning has fired, no breach) or breached.", labels=["plan", "target", "state"])
    counts = {(plan, target, state): count for plan, target, state, count in open_clocks}
    for plan, target in sorted({(plan, target) for plan, target, _ in counts}):
        for state in TICKET_STATES:  # every state, zero included, so a rate or an alert sees it drop to none
            gauge.add_metric([plan, target, state], counts.get((plan, target, state), 0))
    return gauge


def _fleet_gauge(digests: dict) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily("supportpolicy_fleet_replicas", "Replicas of the fleet (those whose heartbeat was seen "
                              "in the last minute) by the digest of the policy set each decides with.",
                              labels=["digest"])
    for digest, count in sorted(digests.items()):
        gauge.add_metric([digest], count)
    return gauge


class _Collected:
    """A registry of metrics already collected (generate_latest asks only for ``collect``)."""

    def __init__(self, *families):
        self.families = families

    def collect(self):
        return iter(self.families)


def worker_exited(pid: int) -> None:
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)
