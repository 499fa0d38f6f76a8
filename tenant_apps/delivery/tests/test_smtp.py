"""The provider adapter alone, against smtp-sink's fault recipes and aiosmtpd (no database)."""

import shutil
import tempfile
import time
from pathlib import Path

import pytest

from tenant_apps.delivery.compose import build_message
from tenant_apps.delivery.smtp import PERMANENT, SENT, TEMPORARY, SmtpConfig, SmtpSender
from tenant_apps.delivery.tests.conftest import free_port

MESSAGE = build_message(from_header="a@example.com", to="b@example.com", subject="Тема", text="hi")


def sender_for(port, timeout=1.0):
    return SmtpSender(SmtpConfig(host="127.0.0.1", port=port, timeout=timeout, local_hostname="test.local"))


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-command-at-a-time"])
def test_a_healthy_server_accepts_over_one_reused_connection(smtp_sink, pipelining):
    sink = smtp_sink(*([] if pipelining else ["-p"]))
    with sender_for(sink.port) as sender:
        outcomes = [sender.send("a@example.com", f"r{i}@example.com", MESSAGE) for i in range(3)]
        connection = sender._conn
        assert connection is not None and connection.has_extn("pipelining") is pipelining
    assert [o.kind for o in outcomes] == [SENT] * 3
    assert all(o.code == 250 and "Ok" in o.response for o in outcomes)


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-command-at-a-time"])
def test_lines_starting_with_a_dot_arrive_intact(smtp_sink, smtp_server, pipelining):
    body = b"line one\r\n.starts with a dot\r\n..two dots\r\n.\r\nend\r\n"
    raw = b"Subject: dots\r\nFrom: a@example.com\r\n\r\n" + body
    if pipelining:
        with sender_for(smtp_server.port) as sender:
            assert sender.send("a@example.com", "b@example.com", raw).sent
        assert smtp_server.messages[0][1].get_payload().encode() == body
    else:
        dump = Path(tempfile.mkdtemp(prefix="rassylka-sink-"))  # smtp-sink writes as the postfix user
        dump.chmod(0o777)
        try:
            sink = smtp_sink("-p", "-d", f"{dump}/%M.")  # one command at a time; dump what arrives
            with sender_for(sink.port) as sender:
                assert sender.send("a@example.com", "b@example.com", raw).sent
            sink.stop()
            (dumped,) = dump.iterdir()
            assert b"\n\n" + body.replace(b"\r\n", b"\n") in dumped.read_bytes().replace(b"\r\n", b"\n")
        finally:
            shutil.rmtree(dump)


def test_a_long_non_ascii_subject_is_folded_into_valid_encoded_words(smtp_server):
    subject = "Очень длинная тема письма с кириллицей, эмодзи 🎉 и ещё немного текста, чтобы перенести строку"
    message = build_message(from_header="a@example.com", to="b@example.com", subject=subject, text="x")
    assert all(len(line) <= 78 for line in message.split(b"\r\n") if line.startswith((b"Subject", b" =?")))
    with sender_for(smtp_server.port) as sender:
        sender.send("a@example.com", "b@example.com", message)
    assert smtp_server.messages[0][1]["Subject"] == subject


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-command-at-a-time"])
def test_slow_server_is_a_temporary_provider_fault_logged_as_a_timeout(smtp_sink, pipelining):
    sink = smtp_sink("-w", "3", *([] if pipelining else ["-p"]))
    with sender_for(sink.port, timeout=1.0) as sender:
        outcome = sender.send("a@example.com", "b@example.com", MESSAGE)
        assert sender._conn is None, "never reused after an error"
    assert outcome.kind == TEMPORARY and outcome.provider_fault and not outcome.interrupted
    assert outcome.response.startswith("timeout: no answer within 1 s at ")
    assert "Disconnected" not in outcome.response, "smtplib's wrapper is not what happened"
    assert outcome.stage == ("MAIL FROM/RCPT/DATA" if pipelining else "DATA")


def test_4xx_on_the_recipient_is_temporary_with_its_code(smtp_sink):
    sink = smtp_sink("-r", "RCPT")
    with sender_for(sink.port) as sender:
        outcome = sender.send("a@example.com", "b@example.com", MESSAGE)
    assert outcome.kind == TEMPORARY and outcome.code == 450 and not outcome.provider_fault


@pytest.mark.parametrize("option", ["-f", "-r"])
def test_4xx_and_5xx_are_told_apart(smtp_sink, option):
    sink = smtp_sink(option, "MAIL")
    with sender_for(sink.port) as sender:
        outcome = sender.send("a@example.com", "b@example.com", MESSAGE)
    expected = (PERMANENT, 500) if option == "-f" else (TEMPORARY, 450)
    assert (outcome.kind, outcome.code) == expected
    assert "command failed" in outcome.response.lower() or "error" in outcome.response.lower()


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-command-at-a-time"])
def test_a_4xx_at_mail_from_is_the_providers_fault_and_a_5xx_there_refuses_the_sender(smtp_sink, pipelining):
    extra = [] if pipelining else ["-p"]
    with sender_for(smtp_sink("-r", "MAIL", *extra).port, timeout=5) as sender:
        temporary = sender.send("a@example.com", "b@example.com", MESSAGE)
    with sender_for(smtp_sink("-f", "MAIL", *extra).port, timeout=5) as sender:
        permanent = sender.send("a@example.com", "b@example.com", MESSAGE)
    assert temporary.stage == "MAIL FROM" and temporary.provider_fault and not temporary.sender_refused
    assert permanent.stage == "MAIL FROM" and permanent.sender_refused


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-command-at-a-time"])
def test_replies_about_the_recipient_are_neither_provider_faults_nor_sender_refusals(smtp_sink, pipelining):
    extra = [] if pipelining else ["-p"]
    with sender_for(smtp_sink("-r", "RCPT", *extra).port, timeout=5) as sender:
        greylisted = sender.send("a@example.com", "b@example.com", MESSAGE)
    with sender_for(smtp_sink("-f", "RCPT", *extra).port, timeout=5) as sender:
        unknown = sender.send("a@example.com", "b@example.com", MESSAGE)
    assert (greylisted.kind, greylisted.stage, greylisted.provider_fault) == (TEMPORARY, "RCPT", False)
    assert (unknown.kind, unknown.stage, unknown.sender_refused) == (PERMANENT, "RCPT", False)


def test_a_5xx_after_data_is_the_recipients_permanent_failure(smtp_server):
    smtp_server.refuse["spam@example.com"] = "554 5.7.1 message rejected"
    with sender_for(smtp_server.port, timeout=5) as sender:
        outcome = sender.send("a@example.com", "spam@example.com", MESSAGE)
    assert (outcome.kind, outcome.code, outcome.stage) == (PERMANENT, 554, "DATA")
    assert not outcome.sender_refused and not outcome.provider_fault


@pytest.fixture
def refusing_auth_server():
    """aiosmtpd that offers AUTH (without TLS, on loopback) and rejects every login with 535."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from tenant_apps.delivery.tests.conftest import Recorder

    controller = Controller(
        Recorder(),
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=lambda *args: AuthResult(success=False, handled=False),
        auth_require_tls=False,
    )
    controller.start()
    yield controller
    controller.stop()


def test_a_refused_login_refuses_the_sender(refusing_auth_server):
    config = SmtpConfig(host="127.0.0.1", port=refusing_auth_server.port, username="u", password="wrong", timeout=2)
    with SmtpSender(config) as sender:
        outcome = sender.send("a@example.com", "b@example.com", MESSAGE)
    assert (outcome.kind, outcome.code, outcome.stage) == (PERMANENT, 535, "AUTH")
    assert outcome.sender_refused


def test_a_deadline_cuts_a_slow_send_short_without_blaming_the_provider(smtp_sink):
    sink = smtp_sink("-w", "5")
    with sender_for(sink.port, timeout=10.0) as sender:
        outcome = sender.send("a@example.com", "b@example.com", MESSAGE, deadline=time.monotonic() + 0.5)
    assert outcome.kind == TEMPORARY and outcome.interrupted and not outcome.provider_fault
    assert outcome.response.startswith("stopped at the time limit")


def test_a_deadline_does_not_shorten_the_next_sends_timeout(smtp_server):
    with sender_for(smtp_server.port, timeout=3.0) as sender:
        assert sender.send("a@example.com", "b@example.com", MESSAGE, deadline=time.monotonic() + 1).sent
        assert sender._conn.sock.gettimeout() <= 1
        assert sender.send("a@example.com", "c@example.com", MESSAGE).sent
        assert sender._conn.sock.gettimeout() == 3.0


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-command-at-a-time"])
def test_disconnect_at_data_is_temporary_and_the_next_send_reconnects(smtp_sink, pipelining):
    sink = smtp_sink("-q", "DATA", *([] if pipelining else ["-p"]))
    with sender_for(sink.port) as sender:
        first = sender.send("a@example.com", "b@example.com", MESSAGE)
        assert first.kind == TEMPORARY and first.provider_fault
        assert sender._conn is None
        second = sender.send("a@example.com", "b@example.com", MESSAGE)
    assert second.kind == TEMPORARY, "a fresh connection, dropped again by this server"


def test_421_then_disconnect_is_temporary(smtp_sink):
    sink = smtp_sink("-Q", "DATA")
    with sender_for(sink.port) as sender:
        outcome = sender.send("a@example.com", "b@example.com", MESSAGE)
    assert outcome.kind == TEMPORARY and outcome.code == 421 and outcome.provider_fault


def test_server_down_is_temporary(smtp_sink):
    port = free_port()
    with sender_for(port) as sender:
        outcome = sender.send("a@example.com", "b@example.com", MESSAGE)
    assert outcome.kind == TEMPORARY and outcome.provider_fault and "refused" in outcome.response.lower()


def test_a_refusal_closes_the_connection_and_the_next_message_opens_a_new_one(smtp_server):
    smtp_server.refuse["busy@example.com"] = "451 4.3.0 try again later"
    with sender_for(smtp_server.port) as sender:
        assert sender.send("a@example.com", "ok1@example.com", MESSAGE).sent
        refused = sender.send("a@example.com", "busy@example.com", MESSAGE)
        assert sender.send("a@example.com", "ok2@example.com", MESSAGE).sent
    assert refused.kind == TEMPORARY and refused.code == 451 and "try again later" in refused.response
    assert smtp_server.recipients == ["ok1@example.com", "ok2@example.com"]
    assert len(smtp_server.sessions) == 2
