"""GET /v1/customers/{customer_id}/statement?month=: a customer's monthly statement of its tickets' work.

Read from the charges stored with the work (server.storage.work), as priced
when the work was stored, by ``engine.tools.statement``; nothing is priced
again. A view like the others: HTTP in, one engine call, HTTP out.
"""
from __future__ import annotations

from flask import Flask, request

from supportpolicy.engine.errors import UnknownCustomer
from supportpolicy.engine.tools.statement import month_error, statement
from supportpolicy.server import params
from supportpolicy.server.problems import NotFoundProblem
from supportpolicy.server.storage.work import WorkStore

ROUTE = ("/v1/customers/<customer_id>/statement", "GET", "customer_statement")


def register(app: Flask, live, log) -> None:
    """Add the route; ``live`` holds the policy set in force, ``log`` is the decision log (None: no store)."""

    def view(customer_id: str):
        params.only(request.args, ("month",))
        month = request.args.get("month")
        error = month_error("month", month)
        if error is not None:
            raise error
        policy_set = live.current
        if customer_id not in policy_set.customers:
            raise UnknownCustomer(customer_id)
        if log is None:
            raise NotFoundProblem("this server keeps no decision log (it was started with --no-decision-log), "
                                  "so it stores no work to bill")
        charges = WorkStore(log).charges_of(customer_id, month)
        return statement(customer_id, month, policy_set.time_zone(customer_id).key, charges).as_json()

    rule, method, endpoint = ROUTE
    app.add_url_rule(rule, endpoint, view, methods=[method])
