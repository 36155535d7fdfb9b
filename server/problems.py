"""Every error the API returns, as an RFC 9457 problem document.

One place turns engine errors and HTTP errors into problem documents, so
views never build error responses themselves and no traceback ever leaves.
"""
from __future__ import annotations

import logging

from flask import Flask, Response, json, request
from werkzeug.exceptions import BadRequest, HTTPException, RequestEntityTooLarge

from supportpolicy.engine import EngineError

log = logging.getLogger("supportpolicy")

PROBLEM_TYPES = {
    "invalid-request": "The request body is valid JSON but a field is missing or wrong; see `errors`.",
    "unknown-customer": "The customer named in the request has no contract in the policy set.",
    "no-policy-in-effect": "No version of the contract was in effect at the request's received_at.",
    "malformed-json": "The request body is not valid JSON, or one of its objects names a key more than once "
                      "(`errors` names each such key and, by JSON Pointer, the object that holds it).",
    "unsupported-media-type": "The request body must be sent as application/json.",
    "payload-too-large": "The request body is larger than the server accepts (1 MiB).",
    "limit-exceeded": "The request body nests deeper (8 levels), holds more items in one object or array (64) "
                      "or more values in all (1,024) than the server accepts; `errors` names where.",
    "not-found": "There is no resource at this path, or no logged decision with this id (`detail` says which).",
    "unknown-parameter": "The query names a parameter the operation does not take; `errors` names it. Nothing was "
                         "done: a parameter is never ignored.",
    "invalid-idempotency-key": "The Idempotency-Key header is not a key (a string of 1 to 255 visible ASCII "
                               "characters, quoted as draft-ietf-httpapi-idempotency-key-header has it, or bare), "
                               "is given twice, or is sent to a server that keeps no decision log and so cannot "
                               "recognise a retry.",
    "idempotency-key-reused": "The Idempotency-Key was first sent with a different request body; nothing was "
                              "decided or logged. Send the first body again to get its decision, or use a new key.",
    "invalid-batch": "The batch is not {\"requests\": [1 to 100 decision requests]}; `errors` names where. No "
                     "request of it was decided.",
    "unauthorized": "The request has no valid bearer token (Authorization: Bearer <token>).",
    "webhook-unauthorized": "The webhook call does not come from the ticketing system: a Zendesk call unsigned, "
                            "signed with another secret, or signed more than 5 minutes from the server's clock; a "
                            "Jira call without the webhook token (Authorization: Bearer <token>). Nothing was decided "
                            "or logged.",
    "unmappable-payload": "The webhook payload cannot be made a decision request by the integration's mapping "
                          "(policies/integrations/): `errors` names each payload field at fault by JSON Pointer.",
    "forbidden": "The token is valid but lacks the scope this endpoint needs (decide, read, admin or metrics).",
    "method-not-allowed": "The resource exists but does not accept this method.",
    "engine-error": "The policy engine could not decide this request.",
    "decision-log-unavailable": "The decision was made but could not be written to the decision log, so it was not "
                                "given; retry, and see the server's log.",
    "invalid-policy-set": "The policy files could not be loaded; `errors` lists every problem with file:line. "
                          "The server keeps deciding with the last valid set.",
    "internal-error": "The server failed; the error has been logged.",
    # The type of any other HTTP error (e.g. 416 for a Range past the end of an explorer file, or a request
    # line too long for the HTTP server: 414): it links here too.
    "http-error": "The request could not be served as sent; `title` and `status` name the HTTP error.",
}
_HTTP_SLUGS = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large",
               415: "unsupported-media-type", 400: "malformed-json"}


class MalformedHTTP(BadRequest):
    """A request whose HTTP framing is broken, found while the app reads its body (a chunked body with a bad
    chunk size, say): 400 http-error, not malformed-json, since no JSON arrived to be malformed."""

    slug = "http-error"


class BodyTooLarge(RequestEntityTooLarge):
    """A body found to be over the limit before all of it was read (a chunk that announces too much)."""


INTERNAL_DETAIL = "the server failed to handle this request; the error has been logged"


class NotFoundProblem(EngineError):
    """A 404 whose detail says what is missing (a decision that was never logged), not just the path."""

    status = 404
    slug = "not-found"
    title = "Not Found"


def _document(status: int, slug: str, title: str, detail: str, errors=None) -> dict:
    body = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = [e if isinstance(e, dict) else e.as_dict() for e in errors]
    return body


def document_of(error: EngineError) -> dict:
    """The problem document of an engine error, as a value (for one request of a batch)."""
    return _document(error.status, error.slug, error.title, error.detail, error.errors)


def problem(status: int, slug: str, title: str, detail: str, errors=None, headers=None) -> Response:
    response = Response(json.dumps(_document(status, slug, title, detail, errors)), status=status,
                        mimetype="application/problem+json")
    response.problem_type = slug  # for the metrics and the request log
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


DIGEST_HEADER = "Policy-Set-Digest"  # the set in force in the process that answered, on every answer


def raw_response(status: int, reason: str, detail: str, digest: str | None = None) -> bytes:
    """A whole HTTP/1.1 response holding a problem document, for errors answered before Flask runs.

    gunicorn answers requests it cannot parse (a request line or headers over
    its limits, malformed HTTP) itself; server/gunicorn.py sends this instead
    of its HTML page, so every error a client sees is a problem document.
    ``detail`` may quote the client's own bytes: it is cut short and JSON-encoded. ``digest``: the
    Policy-Set-Digest header's, which every answer of a server carries.
    """
    slug = "internal-error" if status == 500 else "http-error"
    body = json.dumps(_document(status, slug, reason, detail[:200] or INTERNAL_DETAIL)).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/problem+json\r\n"
            f"Content-Length: {len(body)}\r\n" + (f"{DIGEST_HEADER}: {digest}\r\n" if digest else "") + "\r\n")
    return head.encode("latin-1") + body


def policy_problem(attempt) -> Response:
    """A reload that found the policy files invalid: every error, with its place."""
    count = sum(e.severity == "error" for e in attempt.errors)
    return problem(422, "invalid-policy-set", "The policy set is not valid",
                   f"{count} error(s) in the policy files; the set in force is unchanged",
                   [dict(e.as_dict(), detail=e.message) for e in attempt.errors])


def register(app: Flask) -> None:
    @app.errorhandler(EngineError)
    def engine_error(error: EngineError):
        return problem(error.status, error.slug, error.title, error.detail, error.errors)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        headers = {}
        if error.code == 405 and error.valid_methods:
            headers["Allow"] = ", ".join(error.valid_methods)
        slug = getattr(error, "slug", None) or _HTTP_SLUGS.get(error.code, "http-error")
        detail = error.description or error.name
        if error.code == 404:
            detail = f"there is no resource at {request.path}"
        elif error.code == 413:
            detail = "the request body is larger than 1 MiB"
        elif error.code == 405:
            detail = f"{request.path} does not accept {request.method}"
        return problem(error.code, slug, error.name, detail, headers=headers)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        return problem(500, "internal-error", "Internal Server Error", INTERNAL_DETAIL)
