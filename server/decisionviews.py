"""The views of decisions and the decision log: decide one request or a batch, a dry run, a retry, a lookup.

Each translates HTTP in, makes the engine call, and translates the answer out;
errors are raised, and server.problems renders them.
"""
from __future__ import annotations

from dataclasses import replace

import orjson
from flask import Response, g, request, url_for

from supportpolicy.engine.decide.batch import decide_batch, decode_batch
from supportpolicy.engine.decide.request import decode_json
from supportpolicy.server import params, problems
from supportpolicy.server.body import json_body
from supportpolicy.server.params import InvalidIdempotencyKey
from supportpolicy.server.problems import NotFoundProblem
from supportpolicy.server.storage.decisionlog import LogRecord

# Set on the answer to a retried request (the same Idempotency-Key and body): the decision first given.
REPLAYED = "Idempotent-Replayed"


class DecisionViews:
    """The decision endpoints of server.views.Views (which holds live, log and metrics)."""

    def decide(self):
        asked = request._get_current_object()  # each read of the proxy is a context look-up
        dry_run = params.dry_run(asked.args)
        body = decode_json(json_body())
        current = self.live.current
        # Read (and refused when malformed) even for a dry run, which has no effect to repeat and keeps no key.
        key = params.idempotency_key(asked.headers, asked.environ.get("supportpolicy.client", ""), body)
        if dry_run:
            key = None
        if key is not None:
            if self.log is None:
                raise InvalidIdempotencyKey(
                    "this server keeps no decision log, so it remembers no decision for a retry to get back: "
                    "send the request without Idempotency-Key, or serve with a decision log")
            earlier = self.log.keyed(key)
            if earlier is not None:
                return self._replay(earlier)
        decision = current.decide(body)
        document = decision.as_json()
        if dry_run:
            self.metrics.dry_runs.inc()
        elif self.log is not None:
            # Before the answer: nothing acknowledged is unlogged.
            record = LogRecord.of(body, decision, document)
            standing = self.log.write(record if key is None else replace(record, idempotency=key))
            if standing.decision_id != decision.decision_id:  # a retry sent at once, and the first committed
                return self._replay(standing)
        if not dry_run:
            g.decision_id = decision.decision_id
            self.metrics.decided(decision.outcome.route.team, decision.outcome.billable, decision.facts.emergency)
        self.metrics.policy_in_force(current.digest)
        return Response(orjson.dumps(document), mimetype="application/json")

    def _replay(self, earlier: LogRecord):
        g.decision_id = earlier.decision_id
        self.metrics.replays.inc()
        return Response(orjson.dumps(earlier.decision), mimetype="application/json", headers={REPLAYED: "true"})

    def decide_batch(self):
        dry_run = params.dry_run(request.args)
        batch = decode_batch(json_body())
        current = self.live.current
        items = decide_batch(current, batch)
        decided = [item.decision for item in items if item.decision is not None]
        documents = {d.decision_id: d.as_json() for d in decided}
        if self.log is not None and not dry_run and decided:
            # The whole batch in one transaction, before the answer.
            self.log.write_many([LogRecord.of(body, item.decision, documents[item.decision.decision_id])
                                 for body, item in zip(batch.requests, items) if item.decision is not None])
        results = []
        for item in items:
            if item.decision is None:
                self.metrics.refused(item.error.slug)
                results.append({"status": item.error.status, "problem": problems.document_of(item.error)})
                continue
            if dry_run:
                self.metrics.dry_runs.inc()
            else:
                self.metrics.decided(item.decision.outcome.route.team, item.decision.outcome.billable,
                                     item.decision.facts.emergency)
            results.append({"status": 200, "decision": documents[item.decision.decision_id]})
        self.metrics.policy_in_force(current.digest)
        return Response(orjson.dumps({"results": results}), mimetype="application/json")

    def logged_decision(self, decision_id: str):
        params.only(request.args, ())
        record = self._log().get(decision_id)
        if record is None:
            raise NotFoundProblem(f"no decision with the id {decision_id!r} was logged (or retention has removed it "
                                  "since): check the id, which is the decision_id of a decision answered by a "
                                  "server logging to this decision log")
        return record.as_json()

    def logged_decisions(self):
        query = params.log_query(request.args)
        records = self._log().find(query.customer, query.since, query.until, query.after, query.limit,
                                   ticket_id=query.ticket_id, newest_first=query.newest_first)
        following = None
        if len(records) == query.limit:
            following = url_for("logged_decisions", **query.next_args(records[-1].decision_id))
        return {"decisions": [r.as_json() for r in records], "next": following}

    def _log(self):
        if self.log is None:
            raise NotFoundProblem("this server keeps no decision log (it was started with --no-decision-log)")
        return self.log

