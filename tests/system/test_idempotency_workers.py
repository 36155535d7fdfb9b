"""Idempotency-Key under ``supportpolicy serve --workers 2``: keys live in the store, not in a worker.

Retries sent at once to two gunicorn workers make one record and all get its decision; a retry after the
server was killed (SIGKILL) and started again still gets the decision first given. Against both stores
(the ``store`` fixture: SQLite in the data folder, and PostgreSQL).
"""
from __future__ import annotations

import http.client
import json
import threading

from support import DESIGNATED, Server, make_request

BODY = make_request("2026-11-28T23:00:00-06:00", "phone", email=DESIGNATED, ticket_id="T-2001")
SENDERS = 16


def post(port: int, body: dict, key: str) -> tuple[int, bytes, str | None]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.request("POST", "/v1/decisions", json.dumps(body),
                           {"Content-Type": "application/json", "Idempotency-Key": key})
        response = connection.getresponse()
        return response.status, response.read(), response.getheader("Idempotent-Replayed")
    finally:
        connection.close()


def test_retries_sent_at_once_to_every_worker_make_one_record(store, tmp_path):
    args = ["--workers", "2", "--threads", "8", "--no-watch", *store.cli_args()]
    server = Server(args, tmp_path)
    try:
        server.wait_ready()
        answers, start = [], threading.Barrier(SENDERS)

        def send():
            start.wait()
            answers.append(post(server.port, BODY, "ticket-T-2001-created"))

        threads = [threading.Thread(target=send) for _ in range(SENDERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert len(answers) == SENDERS and {status for status, _, _ in answers} == {200}, answers
        assert len({body for _, body, _ in answers}) == 1
        assert sorted(replayed or "" for _, _, replayed in answers) == [""] + ["true"] * (SENDERS - 1)
        decision_id = json.loads(answers[0][1])["decision_id"]
        assert store.ids() == [decision_id]

        # Killed and started again on the same store: the key is still there, the answer the same.
        server.kill()
        server = Server(args, tmp_path, "again")
        server.wait_ready()
        status, body, replayed = post(server.port, BODY, "ticket-T-2001-created")
        assert (status, body, replayed) == (200, answers[0][1], "true")
        status, _, _ = post(server.port, dict(BODY, channel="email"), "ticket-T-2001-created")
        assert status == 422
        assert store.ids() == [decision_id]
    finally:
        server.stop()
