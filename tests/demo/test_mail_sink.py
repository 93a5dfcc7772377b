"""The demo's SMTP sink and `exoshare mail list/show`: what exoshare sent, readable by people."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from exoshare.auth.mail import send_mail
from exoshare.cli import app
from exoshare.config import Settings
from exoshare.demo.mail_sink import MailSink, mail_dir, read_messages


def test_mail_sent_over_smtp_is_kept_and_listed(tmp_path: Path) -> None:
    with MailSink(mail_dir(tmp_path)) as sink:
        settings = Settings(smtp_url=sink.url, mail_from="exoshare <no-reply@demo.test>")
        assert send_mail(settings, "ana@demo.test", "First", "Hello Ana\nhttps://x.test/a?token=1")
        assert send_mail(settings, "ben@demo.test", "Second", "Hello Ben")
    kept = read_messages(mail_dir(tmp_path))
    assert [(m.number, m.to, m.subject) for m in kept] == [
        (1, "ana@demo.test", "First"),
        (2, "ben@demo.test", "Second"),
    ]
    assert kept[0].message["From"] == "exoshare <no-reply@demo.test>"

    runner = CliRunner()
    listed = runner.invoke(app, ["mail", "list", "--data-dir", str(tmp_path)])
    assert listed.exit_code == 0, listed.output
    assert "ana@demo.test" in listed.output and "Second" in listed.output
    shown = runner.invoke(app, ["mail", "show", "1", "--data-dir", str(tmp_path)])
    assert shown.exit_code == 0
    assert "Subject: First" in shown.output and "https://x.test/a?token=1" in shown.output
    missing = runner.invoke(app, ["mail", "show", "3", "--data-dir", str(tmp_path)])
    assert missing.exit_code == 2 and "there are 2" in missing.output


def test_empty_sink_says_so(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["mail", "list", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0 and "no e-mail yet" in result.output
