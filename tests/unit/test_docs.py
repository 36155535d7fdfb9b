"""The guides stay in step with the code: every word of the policy language is documented, every link resolves."""
from __future__ import annotations

import re

from supportpolicy.engine.vocabulary import DECISION_FIELDS, FACTS, NAMED_TERMS

from support import REPO

LANGUAGE = (REPO / "docs" / "policy-language.md").read_text(encoding="utf-8")


def test_the_policy_language_guide_names_every_fact_term_and_decision_field():
    missing = [name for name in (*FACTS, *NAMED_TERMS, *DECISION_FIELDS) if f"`{name}`" not in LANGUAGE]
    assert missing == []


def test_every_link_between_the_readme_and_the_guides_resolves():
    broken = []
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#]+\.md)\)", page.read_text(encoding="utf-8")):
            if not (page.parent / target).is_file():
                broken.append(f"{page.relative_to(REPO)} -> {target}")
    assert broken == []


def test_the_readme_gives_the_two_commands_near_the_top():
    head = (REPO / "README.md").read_text(encoding="utf-8")[:2500]
    assert "pip install . && .venv/bin/supportpolicy serve" in head
    assert ".venv/bin/tox" in head
