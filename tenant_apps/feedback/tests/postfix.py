"""A private, throw-away Postfix instance (its own config, queue and log in a temporary directory).

It accepts mail on a loopback port for `mail.rassylka.test`, where no user
exists: local delivery fails and Postfix's bounce daemon writes a real DSN
to the envelope sender. The transport map sends mail for the bounce domain
to our receiver — the same recipe as in README for production.
Postfix's master must run as root (it binds, then drops to the `postfix` user).
"""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

MASTER_CF = """\
{listen} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
local     unix  - n n - - local
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {root}/spool
data_directory = {root}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.mail.rassylka.test
mydomain = mail.rassylka.test
myorigin = mail.rassylka.test
mydestination = mail.rassylka.test
# No user list: every recipient is accepted, and unknown ones bounce after the fact (a DSN).
local_recipient_maps =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
transport_maps = texthash:{root}/conf/transport
smtp_dns_support_level = disabled
maillog_file_prefixes = {root}
maillog_file = {root}/maillog
biff = no
"""


def available():
    """Why a private Postfix cannot run here, or "" when it can."""
    if os.geteuid() != 0:
        return "Postfix's master daemon must start as root"
    if not shutil.which("postfix") or not Path("/usr/lib/postfix/sbin/master").exists():
        return "the postfix package is not installed (bin/system-deps installs it)"
    return ""


class PrivatePostfix:
    def __init__(self, root, port, bounce_domain, receiver_port):
        self.root, self.port = Path(root) / "postfix", port
        Path(root).chmod(0o755)
        (self.root / "conf").mkdir(parents=True)
        (self.root / "spool").mkdir()
        (self.root / "data").mkdir()
        shutil.chown(self.root / "data", "postfix")
        self.root.chmod(0o755)
        (self.root / "conf" / "master.cf").write_text(MASTER_CF.format(listen=f"127.0.0.1:{port}"))
        (self.root / "conf" / "main.cf").write_text(MAIN_CF.format(root=self.root))
        (self.root / "conf" / "transport").write_text(f"{bounce_domain} smtp:[127.0.0.1]:{receiver_port}\n")

    def postfix(self, command):
        # Postfix reports to syslog, or to a terminal: `script` gives it one, so a failure says why.
        return subprocess.run(
            ["script", "-qc", f"postfix -c {self.root / 'conf'} {command}", "/dev/null"],
            capture_output=True,
            text=True,
            timeout=30,
        )

    def start(self):
        result = self.postfix("start")
        if result.returncode != 0:
            raise RuntimeError(f"postfix did not start: {result.stdout} {result.stderr} {self.log()}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"postfix is not listening: {self.log()}")

    def stop(self):
        self.postfix("stop")

    def log(self):
        path = self.root / "maillog"
        return path.read_text() if path.exists() else ""
