"""The policy explorer's first view, rendered on the server: useful before its script runs, and without it.

The page (server/explorer/index.html, a Jinja template) is filled with what
the script would ask the API for first: the customers, the week asked for
(?customer=&week_of=, by default the first customer's week of today), its
coverage as text, the legend in the contract's words, the versions in effect,
the holidays ahead, the plan's channels and categories, and the policy set's
files. The script then takes over and draws the calendar. When the server asks
for tokens, the page itself is open but the data is not: it renders the
shell, saying it waits for a token, and nothing of the policy.
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import render_template

from supportpolicy.engine.errors import EngineError
from supportpolicy.engine.instants import POLICY_DATE, parse_date
from supportpolicy.engine.tools.coverage_week import coverage_week


def render(policy_set, args, public: bool) -> str:
    """The explorer's page, with the first view filled in when ``public`` (no token needed to read)."""
    if not public or not policy_set.customers:
        return render_template("index.html", view=None, public=public)
    return render_template("index.html", view=first_view(policy_set, args), public=public)


def first_view(policy_set, args) -> dict:
    customers = [{"id": c, "name": versions[-1].name} for c, versions in sorted(policy_set.customers.items())]
    chosen = args.get("customer") if args.get("customer") in policy_set.customers else customers[0]["id"]
    problem, day = None, None
    if args.get("week_of") is not None:
        day = parse_date(args.get("week_of"), POLICY_DATE)
        if day is None:
            problem = f"week_of={args.get('week_of')!r} is not a date (YYYY-MM-DD): this is the week of today."
    try:
        week = coverage_week(policy_set, chosen, day).as_json()
    except EngineError as error:  # a week the holiday calendar does not know: today's instead
        problem, week = f"{error.detail}: this is the week of today.", coverage_week(policy_set, chosen).as_json()
    return {"customers": customers, "customer": chosen, "week": week, "problem": problem,
            "monday": _long_date(week["days"][0]["date"]), "text": week_as_text(week),
            "versions": versions_text(week), "choices": _choices(policy_set, chosen, week),
            "schedules": schedules_text(week), "holidays": [dict(h, shown=_short_date(h["date"]),
                                                                 actual=_short_date(h["actual_date"]))
                                                            for h in week["upcoming_holidays"]],
            "files": sorted(policy_set.describe(), key=lambda f: (f["kind"], f["path"])),
            "digest": policy_set.digest}


def week_as_text(week: dict) -> list:
    """Each day of the week: its name, holiday and new versions, and each period in words (as the script
    writes them: "Support hours: Mon 23 Nov 07:00 to 19:00 CST")."""
    labels = {kind: entry["label"] for kind, entry in (week["legend"] or {}).items()}
    zone = ZoneInfo(week["time_zone"])
    days = []
    for day in week["days"]:
        head = _long_date(day["date"], year=False) + (f" ({day['holiday']})" if day["holiday"] else "")
        periods = []
        for period in day["periods"]:
            start = datetime.fromisoformat(period["from"]).astimezone(zone)
            end = datetime.fromisoformat(period["to"]).astimezone(zone)
            until = "24:00" if end.date() > start.date() and end.hour == 0 and end.minute == 0 else f"{end:%H:%M}"
            periods.append(f"{labels.get(period['coverage'], period['coverage'])}: {start:%a} {start.day} {start:%b} "
                           f"{start:%H:%M} to {until} {start:%Z}")
        days.append({"date": day["date"], "head": head, "periods": periods,
                     "new": [f"{f['kind']} {f['id']} {f['version']}" for f in day["takes_effect"]]})
    return days


def versions_text(week: dict) -> list:
    """The versions in effect over the week, each run of days once: "contract 2026.1, plan central-standard
    2027.1 from Friday 1 January"."""
    runs = []
    for run in week["versions"]:
        when = "all week" if len(week["versions"]) == 1 and run["from"] == week["days"][0]["date"] \
            and run["to"] == week["days"][-1]["date"] else f"from {_long_date(run['from'], year=False)}"
        runs.append(f"contract {run['contract']}, plan {run['plan']['id']} {run['plan']['version']} {when}")
    return runs


def schedules_text(week: dict) -> list:
    """Each schedule of the contract, its zone (the customer's, when the plan keeps it there) and what it is for."""
    def zone(name: str, customer: bool) -> str:
        return f"{name}, the customer's own time zone" if customer else name
    found = [("support hours", zone(week["time_zone"], week["customer_time_zone"]),
              week["schedule_description"] or "when the support team is on duty")]
    found += [(s["label"], zone(s["time_zone"], s["customer_time_zone"]), s["description"] or "")
              for s in week["schedules"].values()]
    return [f"{name} ({where})" + (f": {what}" if what else "") for name, where, what in found]


def _short_date(text: str) -> str:
    day = date.fromisoformat(text)
    return f"{day:%a}, {day.day} {day:%b} {day.year}"


def _choices(policy_set, customer: str, week: dict) -> dict:
    """The what-if form's channels and categories: the plan's, as in effect on the first day with a contract."""
    day = next((d for d in week["days"] if d["contract"] is not None), None)
    if day is None:
        return {"channels": [], "categories": []}
    contract = policy_set.contract(customer, datetime.fromisoformat(day["periods"][0]["from"]))
    data = contract.plan.data
    return {"channels": [(k, f"{k}: {v.get('description', '')}") for k, v in data["channels"].items()],
            "categories": [(k, f"{k}: {v.get('description', '')}" + (" (emergency)" if v["emergency"] else ""))
                           for k, v in data["categories"].items()],
            "designated": sorted(contract.customer.designated_contacts)}


def _long_date(text: str, year: bool = True) -> str:
    day = date.fromisoformat(text)
    return f"{day:%A} {day.day} {day:%B}" + (f" {day.year}" if year else "")
