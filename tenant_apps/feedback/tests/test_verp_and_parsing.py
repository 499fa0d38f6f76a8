"""VERP tokens and the parsing of bounce and complaint messages (no database)."""

import pytest

from tenant_apps.feedback.parsing import parse_message
from tenant_apps.feedback.verp import find_token, is_bounce_address, read_token, return_path, token_of

from .conftest import sample

RECIPIENT = "jane.doe@mail.example"


@pytest.fixture(autouse=True)
def _bounce_domain(settings):
    settings.BOUNCE_DOMAIN = "bounces.rassylka.test"


def test_return_path_names_workspace_and_delivery_and_fits_a_local_part():
    address = return_path(42, 9_876_543_210)
    local = address.split("@")[0]
    assert address.endswith("@bounces.rassylka.test")
    assert len(local) <= 64
    assert read_token(token_of(address)).workspace_id == 42
    assert read_token(token_of(address)).delivery_id == 9_876_543_210


def test_token_survives_an_mta_that_upper_cases_the_local_part():
    address = return_path(7, 123)
    assert read_token(token_of(address.upper().replace("BOUNCES.RASSYLKA.TEST", "bounces.rassylka.test"))) is not None


def test_changed_delivery_id_fails_the_signature():
    token = token_of(return_path(7, 123))
    workspace, _delivery, mac = token.split("-")
    assert read_token(f"{workspace}-3e-{mac}") is None


def test_token_signed_with_another_secret_key_is_refused(settings):
    token = token_of(return_path(7, 123))
    settings.SECRET_KEY = "another-secret-key-of-another-installation-0123456789"
    assert read_token(token) is None


@pytest.mark.parametrize("token", ["", "garbage", "1-2", "1-2-!!!!!!!!!!!!", "1-2-abcdefghijkl-extra"])
def test_malformed_tokens_are_refused(token):
    assert read_token(token) is None


def test_only_the_bounce_domain_and_prefix_are_bounce_addresses():
    assert is_bounce_address("bounces@bounces.rassylka.test")
    assert is_bounce_address("<Bounces+abc@BOUNCES.rassylka.test>")
    assert not is_bounce_address("postmaster@bounces.rassylka.test")
    assert not is_bounce_address("bounces+abc@elsewhere.test")
    assert not is_bounce_address("bouncesx@bounces.rassylka.test")


def test_find_token_reads_a_return_path_header():
    address = return_path(1, 2)
    assert find_token(f"Return-Path: <{address}>") == token_of(address)


# --- parsing: one expectation per stored format ---------------------------------------------

CASES = [
    # file, kind, status code, reporting MTA, a piece of the diagnostic
    ("postfix_unknown_user.eml", "hard", "5.1.1", "mx1.mail.example", "User unknown in virtual mailbox table"),
    ("postfix_mailbox_full_soft.eml", "soft", "4.2.2", "relay.example.net", "Mailbox full"),
    ("exim_plain.eml", "hard", "5.1.1", "mail.example.org", "Recipient address rejected"),
    ("qmail_plain.eml", "hard", "5.1.1", "gate.example.net", "no mailbox here"),
    ("exchange_dsn.eml", "hard", "5.1.10", "DB9PR01MB5678.eurprd01.prod.exchangelabs.com", "RecipientNotFound"),
    ("gmail_dsn.eml", "hard", "5.1.1", "googlemail.com", "does not exist"),
    ("yahoo_plain.eml", "hard", "5.0.0", "yahoo.com", "554: delivery error"),
    ("yahoo_arf_complaint.eml", "complaint", "", "arf.mail.yahoo.com", "abuse"),
    ("mailru_arf_redacted.eml", "complaint", "", "fbl.mail.example", "abuse"),
]


@pytest.mark.parametrize(("name", "kind", "status", "mta", "diagnostic"), CASES)
def test_each_format_gives_one_event_with_its_fields(name, kind, status, mta, diagnostic):
    address = return_path(3, 555)
    events = parse_message(sample(name, return_path=address, recipient=RECIPIENT))
    assert len(events) == 1
    event = events[0]
    assert (event.kind, event.status_code, event.reporting_mta) == (kind, status, mta)
    assert diagnostic in event.diagnostic
    assert event.recipient == RECIPIENT
    assert event.occurred_at is not None and event.occurred_at.tzinfo is not None
    assert event.token == token_of(address)  # found in the quoted original too


def test_a_delay_notice_is_not_a_bounce():
    assert parse_message(sample("postfix_delayed.eml", return_path=return_path(3, 5), recipient=RECIPIENT)) == []


def test_an_ordinary_reply_is_not_a_bounce():
    raw = b"From: someone@example.com\r\nTo: bounces@bounces.rassylka.test\r\nSubject: Thanks\r\n\r\nThank you!\r\n"
    assert parse_message(raw) == []


def test_a_not_spam_report_is_not_a_complaint():
    raw = sample("yahoo_arf_complaint.eml", return_path=return_path(3, 5), recipient=RECIPIENT)
    assert parse_message(raw.replace(b"Feedback-Type: abuse", b"Feedback-Type: not-spam")) == []


def test_a_dsn_for_two_recipients_gives_two_events():
    raw = sample("postfix_unknown_user.eml", return_path=return_path(3, 5), recipient=RECIPIENT)
    second = (
        b"\r\nFinal-Recipient: rfc822; other@mail.example\r\nAction: failed\r\nStatus: 5.2.2\r\n"
        b"Diagnostic-Code: smtp; 552 5.2.2 Over quota\r\n\r\n--4F1C81A2B3C.1764486904/mx1.mail.example\r\n"
        b"Content-Description: Undelivered"
    )
    raw = raw.replace(b"\r\n--4F1C81A2B3C.1764486904/mx1.mail.example\r\nContent-Description: Undelivered", second)
    events = parse_message(raw)
    assert [(e.recipient, e.kind, e.status_code) for e in events] == [
        (RECIPIENT, "hard", "5.1.1"),
        ("other@mail.example", "soft", "5.2.2"),
    ]


def test_garbage_bytes_are_not_a_bounce():
    assert parse_message(b"\x00\xff\xfe garbage \r\n\r\n\x00") == []
