"""tests/relay.py's relay in a process of its own, driven through its standard input and output.

    python tests/relay_process.py URL

relays to the server URL names (a postgresql:// URL). It prints ``listening <URL through the relay>`` when
ready, then reads commands, one a line, answering each once it is done: ``cut`` (answers ``cut``) and
``restore`` (answers ``restored``). End of input ends it, so it never outlives the test that started it.

For tests that time answers in threads of their own (tests/system/test_fleet.py): the bytes the relay
forwards do not wait for those threads' turn at the interpreter lock.
"""
from __future__ import annotations

import sys

from relay import Relay


def main() -> int:
    url = sys.argv[1]
    relay = Relay.to(url)
    print(f"listening {relay.url(url)}", flush=True)
    answers = {"cut": (relay.cut, "cut"), "restore": (relay.restore, "restored")}
    for line in sys.stdin:
        action, answer = answers.get(line.strip(), (None, f"unknown command {line.strip()!r}"))
        if action is not None:
            action()
        print(answer, flush=True)
    relay.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
