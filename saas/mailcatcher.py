"""A local SMTP server for development: keeps every message as an .eml file.

    python -m saas.mailcatcher --port 1025 --dir var/mail

The public site lists what it received at /dev/mail/ (DEBUG only), so a
person trying the product can read verification codes and campaign emails.

With --bounce-to host:port it also plays a mailbox provider that bounces:
a message to an address starting with `bounce` comes back as a delivery
status notification (5.1.1), one to an address starting with `complain` as
an abuse report (ARF), sent to the message's return path through the bounce
receiver there (`manage.py bounce_server`, which keeps a copy for this page).
"""

import argparse
import smtplib
import threading
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller


class SaveToDirectory:
    def __init__(self, directory, bounce_to=None):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.bounce_to = bounce_to  # (host, port) of the bounce receiver, or None

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.time():.6f}-{uuid.uuid4().hex[:8]}.eml"
        (self.directory / name).write_bytes(envelope.original_content or envelope.content)
        if self.bounce_to and envelope.mail_from:
            for rcpt in envelope.rcpt_tos:
                report = feedback_for(envelope.mail_from, rcpt)
                if report:  # sent later, as a real MTA would, and off the SMTP session's loop
                    threading.Thread(target=send_report, args=(self.bounce_to, envelope.mail_from, report)).start()
        return "250 Message accepted for delivery"


def feedback_for(return_path, rcpt):
    """The DSN or complaint a playful mailbox provider sends for this recipient, or None."""
    from tenant_apps.feedback.reports_builder import make_arf, make_dsn

    local = rcpt.split("@")[0].lower()
    if local.startswith("bounce"):
        return make_dsn(return_path, rcpt, mta="mailcatcher.localhost")
    if local.startswith("complain"):
        return make_arf(return_path, rcpt, reporter="mailcatcher.localhost")
    return None


def send_report(bounce_to, return_path, report):
    time.sleep(1)
    try:
        with smtplib.SMTP(*bounce_to, local_hostname="localhost", timeout=10) as smtp:
            smtp.sendmail("", [return_path], report)
    except (OSError, smtplib.SMTPException) as error:
        print(f"Mail catcher: could not return a bounce to {bounce_to}: {error}", flush=True)


def start(directory, host="127.0.0.1", port=1025, bounce_to=None):
    controller = Controller(SaveToDirectory(directory, bounce_to), hostname=host, port=port)
    controller.start()
    return controller


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", default="var/mail")
    parser.add_argument("--bounce-to", default="", help="host:port of bounce_server: play bounces and complaints")
    args = parser.parse_args()
    bounce_to = None
    if args.bounce_to:
        host, _colon, port = args.bounce_to.rpartition(":")
        bounce_to = (host or "127.0.0.1", int(port))
    controller = start(args.dir, args.host, args.port, bounce_to)
    print(f"Mail catcher listening on {args.host}:{args.port}, saving to {args.dir}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        controller.stop()


if __name__ == "__main__":
    main()
