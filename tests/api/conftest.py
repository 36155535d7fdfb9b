"""Fixtures of the API tests: ``store``, each decision log store in turn (tests/logstores.py)."""
from logstores import store  # noqa: F401
