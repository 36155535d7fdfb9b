"""A batch of decision requests: one envelope, ``{"requests": [...]}``, each request decided or refused on its own.

The envelope is checked first, as a whole: JSON, an object holding only
``requests``, a list of 1 to MAX_BATCH; anything else refuses the batch
(InvalidBatch, or RequestTooComplex past the limits), and nothing in it is
decided. Each request is then read as a body of its own, against the limits
of a single request, so whatever refuses one names its fields relative to it
(``/received_at``, not ``/requests/3/received_at``) and leaves the others to
be decided. A key named twice inside one request refuses that request alone.
"""
from __future__ import annotations

from dataclasses import dataclass

from supportpolicy.engine.decide.decision import Decision
from supportpolicy.engine.decide.request import (
    LIMITS,
    Limits,
    duplicate_keys,
    loads,
    maybe_repeating,
    pointer,
    repeated_keys,
)
from supportpolicy.engine.errors import EngineError, FieldError, RequestTooComplex

MAX_BATCH = 100
# The envelope's own limits: a request's, two levels deeper (/requests/<n>), up to MAX_BATCH items and as many
# values as MAX_BATCH requests may hold; each request is held to LIMITS when it is read.
ENVELOPE_LIMITS = Limits(depth=LIMITS.depth + 2, items=max(LIMITS.items, MAX_BATCH),
                         nodes=MAX_BATCH * (LIMITS.nodes + 1) + 2, string=LIMITS.string)


class InvalidBatch(EngineError):
    status = 400
    slug = "invalid-batch"
    title = "The batch is not valid"


@dataclass(frozen=True)
class Batch:
    """The requests of a valid envelope, and those already refused (by index) for naming a key twice."""

    requests: tuple
    refused: dict


@dataclass(frozen=True)
class Item:
    """One request of a batch: its decision, or the error that refused it (fields named relative to it)."""

    decision: Decision | None = None
    error: EngineError | None = None


def decode_batch(raw: bytes | str) -> Batch:
    body = loads(raw)
    refused = {}
    if maybe_repeating(raw, body):
        repeated = repeated_keys(raw, body, ENVELOPE_LIMITS)
        outside = [(path, key) for path, key in repeated if len(path) < 2 or path[0] != "requests"]
        if outside:
            raise duplicate_keys(outside)
        by_item: dict[int, list] = {}
        for path, key in repeated:
            by_item.setdefault(path[1], []).append((path[2:], key))
        refused = {index: duplicate_keys(found) for index, found in by_item.items()}
    return Batch(tuple(_requests(body)), refused)


def _requests(body: object) -> list:
    if not isinstance(body, dict):
        raise _invalid("", "must be an object: {\"requests\": [decision request, ...]}")
    extra = sorted(set(body) - {"requests"})
    if extra:
        raise InvalidBatch(f"a batch holds only requests; it also names {', '.join(extra)}",
                           [FieldError(pointer((name,)), "is not a field of a batch") for name in extra])
    requests = body.get("requests")
    if not isinstance(requests, list):
        raise _invalid("/requests", "is required, a list of decision requests" if requests is None
                       else "must be a list of decision requests")
    if len(requests) > MAX_BATCH:
        problem = f"holds {len(requests)} requests, more than {MAX_BATCH}; send them in batches of {MAX_BATCH} at most"
        raise RequestTooComplex(f"/requests {problem}", [FieldError("/requests", problem)])
    if not requests:
        raise _invalid("/requests", f"holds no request; send 1 to {MAX_BATCH}")
    return requests


def _invalid(where: str, problem: str) -> InvalidBatch:
    return InvalidBatch(f"{where or 'the body'} {problem}; no request of it was decided", [FieldError(where, problem)])


def decide_batch(policy_set, batch: Batch) -> tuple[Item, ...]:
    """Each request decided by ``policy_set`` (its ``decide``), or the error that refused it."""
    items = []
    for index, body in enumerate(batch.requests):
        error = batch.refused.get(index)
        if error is None:
            try:
                items.append(Item(decision=policy_set.decide(body)))
                continue
            except EngineError as refused:
                error = refused
        items.append(Item(error=error))
    return tuple(items)
