"""The body of a request, as every view that takes JSON reads it."""
from __future__ import annotations

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType


def json_body() -> bytes:
    """The body, refused (413) past the app's MAX_CONTENT_LENGTH, whether or not it said its length.

    Werkzeug refuses a Content-Length over the limit; but a body of unknown length (chunked) it only reads
    up to the limit and hands over as if that were all of it, so a valid JSON body followed by megabytes
    of spaces was decided. One byte more is asked of the server's own stream: any is too much.
    """
    current = request._get_current_object()  # each read of the proxy is a context look-up
    if current.mimetype != "application/json":
        raise UnsupportedMediaType(f"send the request body as application/json, not {current.mimetype or 'nothing'}")
    data = current.get_data(cache=False)
    limit = current.max_content_length
    if current.content_length is None and limit is not None and len(data) >= limit \
            and current.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()
    return data
