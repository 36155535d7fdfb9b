"""Stored work does not depend on how it was sent: generated work logs, cut into batches sent in any order
(retries included), are stored and charged as POST /v1/charges charges the whole log at once; and the month's
statement adds up the tickets' charges."""
from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supportpolicy.server import create_app
from supportpolicy.server.storage.decisionlog import open_log

from support import DESIGNATED, make_request

REQUESTS = {  # central-standard (a flat rate, notice required) and premium-24x7 (period rates, minimum, increment)
    "demo-city": make_request("2026-11-27T17:00:00-06:00", "phone", "usage_question", DESIGNATED),
    "harbor-county": {"customer": "harbor-county", "received_at": "2026-11-27T15:00:00-08:00", "channel": "phone",
                      "requester": {"email": "cio@harbor-county.gov"}, "category": "question",
                      "attributes": {"severity": 3}},
}

# Within two days of the Friday the ticket came in: a month of work (the split by month is tested apart).
work_logs = st.lists(st.tuples(st.integers(0, 120), st.integers(1, 120)), min_size=1, max_size=12)
notices = st.one_of(st.none(), st.tuples(st.integers(0, 900), st.sampled_from(["accepted", "declined"])))


def entries_of(request: dict, log: list) -> list:
    at, entries = datetime.fromisoformat(request["received_at"]), []
    for n, (gap, length) in enumerate(log):
        start = at + timedelta(minutes=gap)
        at = start + timedelta(minutes=length)
        entries.append({"entry_id": f"w-{n}", "start": start.isoformat(), "end": at.isoformat()})
    return entries


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(customer=st.sampled_from(sorted(REQUESTS)), log=work_logs, notice=notices, data=st.data())
def test_work_sent_in_batches_is_charged_as_the_whole_log_at_once(policy_set, customer, log, notice, data):
    request = REQUESTS[customer]
    entries = entries_of(request, log)
    body = {"request": request, "entries": entries}
    if notice is not None:
        last = datetime.fromisoformat(entries[-1]["end"])
        given_at = min(datetime.fromisoformat(request["received_at"]) + timedelta(minutes=notice[0]), last)
        body["notice"] = {"given_at": given_at.isoformat(), "response": notice[1]}
    with tempfile.TemporaryDirectory() as folder:
        log_ = open_log(None, Path(folder))
        try:
            client = create_app({"POLICY_SET": policy_set, "DECISION_LOG": log_, "TESTING": True}).test_client()
            whole = client.post("/v1/charges", json=body)
            assert whole.status_code == 200, whole.get_json()
            opened = {"type": "status", "at": request["received_at"], "status": "open", "id": "e-1"}
            assert client.post("/v1/tickets/T-1/events", json={"request": request, "events": [opened]}) \
                .status_code == 200
            order = data.draw(st.permutations(range(len(entries))))
            cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(entries) - 1)), max_size=4)))
            batches = [order[a:b] for a, b in zip([0, *cuts], [*cuts, len(entries)]) if a < b]
            sent = []
            for n, batch in enumerate(batches):
                retried = sent[-1:] if n % 2 else []  # every other batch repeats an entry stored before
                work = {"entries": [entries[i] for i in batch + retried]}
                # The notice, with a batch once the work stored and sent reaches it (else it would be "after
                # the work ended"): at the latest with the last.
                reached = "notice" in body and max(datetime.fromisoformat(entries[i]["end"]) for i in sent + batch) \
                    >= datetime.fromisoformat(body["notice"]["given_at"])
                if reached and (n == len(batches) - 1 or data.draw(st.booleans())):
                    work["notice"] = body["notice"]
                answer = client.post("/v1/tickets/T-1/work", json=work)
                assert answer.status_code == 200, answer.get_json()
                assert (answer.get_json()["stored"], answer.get_json()["already_stored"]) == (len(batch),
                                                                                              len(retried))
                sent += batch
            stored = client.get("/v1/tickets/T-1/work").get_json()
            charge = whole.get_json()
            assert stored["totals"] == [charge["total"]]
            [month] = stored["charges"]
            assert [{k: v for k, v in line.items() if k != "unbilled"} for line in month["lines"]] == charge["lines"]
            statement = client.get(f"/v1/customers/{customer}/statement?month=2026-11").get_json()
            assert statement["totals"]["charged"] == ([charge["total"]] if any(
                line["charged"] for line in charge["lines"]) else [])
        finally:
            log_.close()
