"""supportpolicy serve and the webhooks' secrets: a secret configured wrongly stops it before it serves."""
from __future__ import annotations

from support import free_port, run_cli


def test_serve_refuses_a_webhook_secret_file_it_cannot_read(tmp_path):
    result = run_cli("serve", "--no-decision-log", "--port", free_port(), cwd=tmp_path, timeout=30,
                     env_extra={"SUPPORTPOLICY_JIRA_WEBHOOK_TOKEN_FILE": str(tmp_path / "missing")})
    assert result.returncode == 2
    assert f"cannot read SUPPORTPOLICY_JIRA_WEBHOOK_TOKEN_FILE ({tmp_path / 'missing'})" in result.stderr_text
    assert "listening" not in result.stderr_text


def test_serve_refuses_a_webhook_secret_given_twice(tmp_path):
    (tmp_path / "secret").write_text("from-the-file\n", encoding="utf-8")
    result = run_cli("serve", "--no-decision-log", "--port", free_port(), cwd=tmp_path, timeout=30,
                     env_extra={"SUPPORTPOLICY_ZENDESK_WEBHOOK_SECRET": "from-the-variable",
                                "SUPPORTPOLICY_ZENDESK_WEBHOOK_SECRET_FILE": str(tmp_path / "secret")})
    assert result.returncode == 2 and "set one" in result.stderr_text
    assert "from-the-variable" not in result.stderr_text and "from-the-file" not in result.stderr_text
