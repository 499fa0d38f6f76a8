"""A local SMTP server for development: keeps every message as an .eml file.

    python -m saas.mailcatcher --port 1025 --dir var/mail

The public site lists what it received at /dev/mail/ (DEBUG only), so a
person trying the product can read verification codes and campaign emails.
"""

import argparse
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller


class SaveToDirectory:
    def __init__(self, directory):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.time():.6f}-{uuid.uuid4().hex[:8]}.eml"
        (self.directory / name).write_bytes(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def start(directory, host="127.0.0.1", port=1025):
    controller = Controller(SaveToDirectory(directory), hostname=host, port=port)
    controller.start()
    return controller


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", default="var/mail")
    args = parser.parse_args()
    controller = start(args.dir, args.host, args.port)
    print(f"Mail catcher listening on {args.host}:{args.port}, saving to {args.dir}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        controller.stop()


if __name__ == "__main__":
    main()
