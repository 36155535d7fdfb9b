"""Upgrading a decision log written by an earlier version, in place and in one transaction.

Version 1 (until supportpolicy 0.1) keyed decisions by decision_id alone and
listed them in id order; version 2 numbers them in commit order (``seq``)
and keeps the ticket id in a column of its own. Version 1's records are
numbered in their id order, the best order they have. Since the log masks
personal data, a ``privacy`` column names what each record masked; records
written before it have none (NULL), and stay as they were: kept as received.
"""
from __future__ import annotations

from supportpolicy.server.storage.log import table

# The columns of version 2, as version 1's records fill them.
V2_COLUMNS = "decision_id, decided_at, customer, ticket_id, received_at, policy_digest, request, decision"


def v1_to_v2(execute, seq_type: str, ticket_id_of_decision: str) -> None:
    """Within the caller's transaction: the version 1 table becomes a version 2 table with the same records.

    ``ticket_id_of_decision`` is the store's SQL for the ticket id inside the ``decision`` JSON text.
    """
    execute("ALTER TABLE decisions RENAME TO decisions_v1")
    execute(table(seq_type))
    execute(f"INSERT INTO decisions ({V2_COLUMNS}) SELECT decision_id, decided_at, customer, "
            f"{ticket_id_of_decision}, received_at, policy_digest, request, decision FROM decisions_v1 "
            "ORDER BY decision_id")
    execute("DROP TABLE decisions_v1")  # its indexes go with it; the caller makes version 2's


def upgrade(execute, columns, seq_type: str, ticket_id_of_decision: str) -> None:
    """Within the caller's transaction: the table, whose columns are ``columns`` (none: there is no table
    yet), brought to the current version."""
    if columns and "seq" not in columns:
        v1_to_v2(execute, seq_type, ticket_id_of_decision)  # made with the privacy column
    elif columns and "privacy" not in columns:
        execute("ALTER TABLE decisions ADD COLUMN privacy TEXT")  # its records keep NULL: nothing masked
