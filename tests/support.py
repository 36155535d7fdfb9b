"""Constants and helpers the tests share (fixtures are in conftest.py)."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
DESIGNATED = "it.director@demo-city.gov"
OTHER = "resident@example.org"
CHANNELS = ("phone", "voicemail", "email", "portal")
CATEGORIES = ("website_down", "application_malfunction", "application_error", "usage_question",
              "suggestion", "additional_services", "other")


def make_request(received_at: str, channel: str = "email", category: str = "usage_question",
                 email: str = OTHER, **extra) -> dict:
    """A decision request for demo-city; keyword arguments add or replace fields."""
    body = {"customer": "demo-city", "received_at": received_at, "channel": channel,
            "requester": {"email": email}, "category": category}
    body.update(extra)
    return body
