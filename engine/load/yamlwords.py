"""YAML syntax errors in plain words: what is wrong at that line, and how to fix it.

PyYAML says what its parser expected (``expected <block end>, but found
'<block mapping start>'``); a contract manager needs to hear that a line is
indented differently from the lines around it. Each known problem is matched
on PyYAML's own words and explained; anything else keeps PyYAML's text.
"""
from __future__ import annotations

import re

# (what PyYAML says, matched in "context problem", what to tell the person)
_EXPLAINED = (
    (r"found character '\\t' that cannot start any token",
     "a tab is used here; YAML indents with spaces only: replace the tab with spaces"),
    (r"while parsing a block mapping expected <block end>, but found '<block mapping start>'",
     "this line is indented differently from the lines above it at the same level: indent it like its "
     "neighbours (a key belongs under the key above it only when indented further)"),
    (r"while parsing a block (mapping|collection) expected <block end>, but found '(-|\?|<scalar>|<block sequence "
     r"start>|<block mapping start>)'",
     "this line does not line up with the lines above it: a list item (-) and a key: value at one level need "
     "the same indentation"),
    (r"mapping values are not allowed here",
     "a colon followed by a space starts a key here, where none can start: put the value in quotes if it holds "
     "': ', or move it to a line of its own with its own key"),
    (r"could not find expected ':'",
     "a key here has no colon after it: write `key: value`"),
    (r"while parsing a flow sequence expected ',' or '\]'",
     "a list written in brackets [...] is not closed, or two of its items have no comma between them"),
    (r"while parsing a flow mapping expected ',' or '\}'",
     "a mapping written in braces {...} is not closed, or two of its entries have no comma between them"),
    (r"while scanning a quoted scalar found unexpected end of stream",
     "a quotation mark is opened and never closed: close the text with the same quote it starts with"),
    (r"found undefined alias",
     "*name refers to an anchor (&name) that is not defined before it; policy files need no anchors: "
     "write the value out"),
    (r"while scanning a simple key could not find expected ':'",
     "a line here is a key without a colon, or a value that runs on from the line above: add the colon, or "
     "quote the value"),
    (r"expected <block end>, but found",
     "the indentation here does not match the lines above it: line it up with the entries it belongs with"),
)


def explained(context: str | None, problem: str | None) -> str:
    """The message for a YAML syntax error: in plain words when it is a known one, with PyYAML's words after."""
    said = " ".join(p for p in (context, problem) if p)
    for pattern, words in _EXPLAINED:
        if re.search(pattern, said):
            return f"YAML syntax: {words} (YAML says: {said})"
    return f"YAML syntax: {said}"
