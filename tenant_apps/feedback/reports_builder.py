"""Building standard bounce and complaint messages (no Django): the dev mail catcher and the benchmark use these.

make_dsn() is what an MTA such as Postfix sends back (RFC 3464), make_arf()
what a mailbox provider's feedback loop sends (RFC 5965). Written as text:
the email package's generator cannot write a delivery-status part it did not parse.
"""

import os
from email.utils import formatdate

DSN = """\
From: MAILER-DAEMON@{mta} (Mail Delivery System)
To: {return_path}
Subject: Undelivered Mail Returned to Sender
Date: {date}
Message-ID: <{id}@{mta}>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"

--{boundary}
Content-Type: text/plain; charset=us-ascii

This is the mail system at host {mta}.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{recipient}>: {diagnostic}

--{boundary}
Content-Type: message/delivery-status

Reporting-MTA: dns; {mta}
Arrival-Date: {date}

Final-Recipient: rfc822; {recipient}
Action: failed
Status: {status}
Diagnostic-Code: smtp; {diagnostic}

--{boundary}
Content-Type: text/rfc822-headers

Return-Path: <{return_path}>
To: {recipient}
Subject: (the returned message)

--{boundary}--
"""

ARF = """\
From: Feedback Loop <feedback@{reporter}>
To: {return_path}
Subject: Abuse report
Date: {date}
Message-ID: <{id}@{reporter}>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="{boundary}"

--{boundary}
Content-Type: text/plain; charset=us-ascii

This is an email abuse report.

--{boundary}
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: Rassylka-dev/1.0
Version: 1
Original-Mail-From: <{return_path}>
Original-Rcpt-To: <{recipient}>
Arrival-Date: {date}
Reporting-MTA: dns; {reporter}

--{boundary}
Content-Type: text/rfc822-headers

Return-Path: <{return_path}>
To: {recipient}
Subject: (the reported message)

--{boundary}--
"""


def _bytes(text):
    return text.replace("\n", "\r\n").encode()


def make_dsn(return_path, recipient, *, status="5.1.1", mta="mx.localhost", diagnostic=None):
    """An RFC 3464 failure report for `recipient`, sent back to `return_path`, as bytes."""
    diagnostic = diagnostic or f"550 {status} <{recipient}>: Recipient address rejected: User unknown"
    marker = os.urandom(8).hex()
    return _bytes(
        DSN.format(
            mta=mta,
            return_path=return_path,
            recipient=recipient,
            status=status,
            diagnostic=diagnostic,
            date=formatdate(usegmt=True),
            id=marker,
            boundary=f"dsn-{marker}",
        )
    )


def make_arf(return_path, recipient, *, reporter="fbl.localhost"):
    """An RFC 5965 abuse report about a message to `recipient` whose return path was `return_path`."""
    marker = os.urandom(8).hex()
    return _bytes(
        ARF.format(
            reporter=reporter,
            return_path=return_path,
            recipient=recipient,
            date=formatdate(usegmt=True),
            id=marker,
            boundary=f"arf-{marker}",
        )
    )
