"""Checks schemathesis adds to its own for supportpolicy (loaded by run_schemathesis.py; not a pytest module).

Both read the problem documents every error is, which schemathesis's built-in
checks validate against the Problem schema but cannot interpret.
"""
from __future__ import annotations

import re

import schemathesis

# A decision request's channel and category must be ones the customer's contract defines, and its attributes
# ones the customer's plan declares, and its received_at in the years the contract's holiday calendar knows:
# policy files, not schema. The JSON Pointers of the only body fields whose validity depends on them (an
# attribute's name may hold any character).
FIELDS_THE_POLICY_DECIDES = re.compile(r"^(/channel|/category|/attributes/.*|/received_at)$", re.S)
# The instant or day of a customer's terms or coverage must fall in the years the contract's holiday calendar
# knows (the plan names the calendar: the US one ends in 2100): a fact of the policy files too.
PARAMETERS_THE_POLICY_DECIDES = {"at", "week_of"}
# GET /v1/decisions?after= must name a logged decision: the decision log, not the schema, says which do; likewise
# GET /v1/tickets?after= a page the server gave, and GET /v1/tickets/{ticket_id}?at= must not be before the
# stored ticket was received.
PARAMETERS_THE_LOG_DECIDES = {"after", "at"}
# A ticket's (POST /v1/tickets/evaluate): its request's, the statuses and attributes its plan names, and what no
# schema can say of a stream of events (their order, before received_at or after `at`, a reply on a solved ticket).
# A tracked ticket's (POST /v1/tickets/{ticket_id}/events), what the store holds: whether the ticket is tracked
# yet (its request required, or to be the one it has), its request's ticket_id against the path, an event id
# stored with another event, the events already stored.
TICKET_FIELDS_THE_POLICY_DECIDES = re.compile(r"^(/request/(channel|category|ticket_id|received_at)|/events/\d+(/at"
                                              r"|/status|/id|/attributes/.*)?|/request/attributes/.*|/at|/request"
                                              r"|/events)$", re.S)

# A charge's (POST /v1/charges): its request's, and what no schema can say of a work log (entries reversed or
# overlapping, before received_at or in the future, one entry_id twice, a notice after the work, the plan's currency,
# the contract's rate). A tracked ticket's work (POST /v1/tickets/{ticket_id}/work) likewise, and what the store holds:
# entries stored (overlapped, or an entry_id stored with another entry) and the notice stored (/notice).
CHARGE_FIELDS_THE_POLICY_DECIDES = re.compile(r"^(/request/(channel|category|received_at|attributes/.*)|/entries/\d+/(start|end|entry_id|rate)"
                                              r"|/notice/given_at|/notice|/currency|/entries)$", re.S)


def _problem(response) -> dict | None:
    content_type = (response.headers.get("content-type") or [""])[0]
    if not content_type.startswith("application/problem+json"):
        return None
    try:
        document = response.json()
    except ValueError:
        return None  # response_schema_conformance reports a body that is not JSON
    return document if isinstance(document, dict) else None


@schemathesis.check
def problem_type_is_documented(ctx, response, case):
    """A problem document's `type` is one that the operation's response for its status lists (x-problem-types).

    The document promises which problem types each answer may carry; this holds the server to it.
    """
    problem = _problem(response)
    documented = case.operation.definition.raw.get("responses", {}).get(str(response.status_code))
    if problem is None or documented is None:  # an undocumented status is status_code_conformance's to report
        return None
    listed = documented.get("x-problem-types", [])
    if problem.get("type") not in listed:
        raise AssertionError(f"{response.status_code} carries the problem type {problem.get('type')!r}, which "
                             f"{case.operation.label} does not document for it (documented: {listed})")
    return None


def _decided_by_policy(error: dict) -> bool:
    pointer, parameter = str(error.get("pointer")), error.get("parameter")
    return (any(fields.match(pointer) is not None for fields in (FIELDS_THE_POLICY_DECIDES,
                                                                TICKET_FIELDS_THE_POLICY_DECIDES,
                                                                CHARGE_FIELDS_THE_POLICY_DECIDES))
            or parameter in PARAMETERS_THE_LOG_DECIDES or parameter in PARAMETERS_THE_POLICY_DECIDES)


@schemathesis.check
def valid_data_is_refused_only_for_what_the_policy_decides(ctx, response, case):
    """Where schemathesis.toml lets positive_data_acceptance take a 422, the 422 must be one no schema can foresee.

    Valid by the schema, a request is still refused when it names a channel or category the customer's contract
    lacks, or a time before the customer's first contract took effect: facts of the policy files in force; or
    when its Idempotency-Key was sent before with another body: a fact of the decision log. Any
    other 422 to schema-valid data means the document is looser than the server.
    """
    meta = case.meta
    if (meta is None or not meta.generation.mode.is_positive or response.status_code != 422
            or "422" not in ctx.config.positive_data_acceptance.expected_statuses):
        return None  # elsewhere the built-in positive_data_acceptance judges the 422 itself
    problem = _problem(response) or {}
    errors = problem.get("errors") or []
    # An Idempotency-Key first sent with another body: a fact of the decision log, which no schema can state.
    if problem.get("type") in ("/problems/no-policy-in-effect", "/problems/idempotency-key-reused"):
        return None
    if problem.get("type") == "/problems/invalid-request" and errors and all(map(_decided_by_policy, errors)):
        return None
    raise AssertionError("Schema-valid data was refused for a reason the document could state, not one the "
                         f"policy files decide: {problem.get('type')}: {problem.get('detail')}; {errors}")


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    """In the stateful phase, POST /v1/decisions decides for real.

    The phase follows the answer's loggedDecision link to GET /v1/decisions/{decision_id}, and its
    ensure_resource_availability check takes the 200 of a POST to the collection for a decision created in
    the log. A dry run logs nothing by design (its decision_id is in no log: a 404 there is right), so the
    link promises nothing for one; the other phases send dry runs as generated.
    """
    meta = getattr(case, "meta", None)
    if meta is None or meta.phase.name != "stateful" or case.operation.method.upper() != "POST" \
            or case.operation.path != "/v1/decisions" or not isinstance(case.query, dict):
        return
    case.query.pop("dry_run", None)
