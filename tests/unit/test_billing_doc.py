"""docs/billing.md's worked example is what the engine computes: its request priced, its answer's figures checked."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from supportpolicy.engine.charge.price import price_work

from support import REPO

PAGE = (REPO / "docs" / "billing.md").read_text(encoding="utf-8")
NOW = datetime(2026, 12, 31, tzinfo=timezone.utc)


def _blocks() -> list:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", PAGE, re.S)]


def test_the_worked_example_is_the_engine_s_answer(policy_set):
    request, shown = _blocks()
    charge = price_work(policy_set, request, NOW)
    zone = policy_set.time_zone(charge.customer)
    answer = charge.as_json(lambda instant: instant.astimezone(zone).isoformat())
    assert {key: answer[key] for key in shown if key != "lines"} == {k: v for k, v in shown.items() if k != "lines"}
    assert len(answer["lines"]) == len(shown["lines"])
    for line, shown_line in zip(answer["lines"], shown["lines"]):
        assert {key: line[key] for key in shown_line} == shown_line


def test_the_variations_the_page_describes_are_the_engine_s_too(policy_set):
    request, _ = _blocks()
    later = price_work(policy_set, dict(request, notice={"given_at": "2026-11-28T23:40:00-06:00",
                                                         "response": "accepted"}), NOW)
    assert str(later.total.amount) == "200.00"
    assert [(line.reason, str(line.worked_minutes), str(line.amount.amount)) for line in later.lines] == [
        ("before_notice", "30", "0.00"), ("charged", "60", "200.00")]
    declined = price_work(policy_set, dict(request, notice={"given_at": "2026-11-28T23:05:00-06:00",
                                                            "response": "declined"}), NOW)
    assert [line.reason for line in declined.lines] == ["declined"] and declined.total.amount == 0
    emergency = price_work(policy_set, dict(request, request=dict(request["request"], category="website_down")), NOW)
    assert [r.name for r in emergency.lines[0].rules] == ["billing/emergency-support-is-free"]
    assert "270.00" in PAGE and "337.50" in PAGE  # the premium figures, asserted in test_pricing.py
