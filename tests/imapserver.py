"""A private Dovecot IMAP server on loopback for the mail tests (Debian's ``dovecot-imapd``).

Real IMAP over TLS (a throw-away CA and server certificate made with ``openssl``), users with passwords from a
private passwd file, Maildir storage in a temporary folder, and optionally XOAUTH2 / OAUTHBEARER logins checked
against a token introspection URL. Started as ``dovecot -F -c CONFIG`` and stopped with the fixture.

Dovecot never runs mail processes as root: when the tests run as root, the mail processes run as the ``dovecot``
system user and the server's folder is made readable for it.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _make_certificates(folder: Path) -> None:
    """A CA and a server certificate for 127.0.0.1 / localhost, signed by it."""
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=mailroom test CA",
        "-keyout", "ca.key", "-out", "ca.pem")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "key.pem", "-out", "server.csr")
    (folder / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
        "-extfile", "san.ext", "-out", "cert.pem")


@dataclass
class ImapServer:
    """A running private Dovecot; ``users`` maps user name to password."""

    folder: Path
    port: int
    users: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    _counter: int = 0
    last_error: str = ""  # why the last start failed

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.pem"

    def next_user(self) -> tuple[str, str]:
        """A user of its own for one test (users are made before the server starts)."""
        names = sorted(self.users)
        name = names[self._counter % len(names)]
        self._counter += 1
        return name, self.users[name]

    def client(self, user: str) -> IMAPClient:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        imap = IMAPClient("127.0.0.1", port=self.port, ssl=True, ssl_context=context, timeout=30)
        imap.login(user, self.users[user])
        return imap

    def deliver(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        """Put a message into a user's folder, as the town's mail server would."""
        with self.client(user) as imap:
            if not imap.folder_exists(folder):
                imap.create_folder(folder)
            imap.append(folder, raw)

    def messages(self, user: str, folder: str) -> list[bytes]:
        """The raw messages in a user's folder (empty when the folder does not exist)."""
        with self.client(user) as imap:
            if not imap.folder_exists(folder):
                return []
            imap.select_folder(folder, readonly=True)
            uids = imap.search("ALL")
            fetched = imap.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
            return [fetched[uid][b"BODY[]"] for uid in sorted(fetched)]

    def flags(self, user: str, folder: str) -> list[tuple[bytes, ...]]:
        with self.client(user) as imap:
            imap.select_folder(folder, readonly=True)
            uids = imap.search("ALL")
            return [tuple(flags) for _, flags in sorted(imap.get_flags(uids).items())] if uids else []

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _config(folder: Path, port: int, oauth2_url: str | None) -> str:
    me = pwd.getpwuid(os.getuid())
    mail_user = pwd.getpwnam("dovecot") if os.getuid() == 0 else me
    mechanisms = "plain login" + (" xoauth2 oauthbearer" if oauth2_url else "")
    oauth = ""
    if oauth2_url:
        (folder / "oauth2.conf").write_text(
            f"introspection_mode = post\nintrospection_url = {oauth2_url}\nusername_attribute = username\n"
            "tokeninfo_url = \nactive_attribute = active\nactive_value = true\n"
        )
        oauth = f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {folder}/oauth2.conf\n}}\n"
    return f"""
base_dir = {folder}/run
state_dir = {folder}/state
instance_name = mailroom-test-{port}
protocols = imap
listen = 127.0.0.1
log_path = {folder}/dovecot.log
info_log_path = {folder}/dovecot.log
ssl = required
ssl_cert = <{folder}/cert.pem
ssl_key = <{folder}/key.pem
disable_plaintext_auth = yes
auth_mechanisms = {mechanisms}
default_internal_user = {mail_user.pw_name}
default_internal_group = {grp.getgrgid(mail_user.pw_gid).gr_name}
default_login_user = {mail_user.pw_name}
first_valid_uid = {mail_user.pw_uid}
mail_location = maildir:{folder}/mail/%u
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
{oauth}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/users
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={folder}/home/%u
}}
namespace inbox {{
  inbox = yes
}}
"""


def _start(server: ImapServer, oauth2_url: str | None) -> bool:
    """Start Dovecot on ``server.port``; True once it answers and is this server (its certificate, its users)."""
    root = server.folder
    (root / "dovecot.conf").write_text(_config(root, server.port, oauth2_url))
    server.process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(root / "dovecot.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", server.port), timeout=1):
            break
        if server.process.poll() is not None:
            stderr = server.process.stderr.read().decode(errors="replace") if server.process.stderr else ""
            server.last_error = f"dovecot exited with {server.process.returncode}: {stderr.strip()[-2000:]}"
            return False
        if time.monotonic() > deadline:
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            raise RuntimeError(f"dovecot did not start:\n{log}")
        time.sleep(0.1)
    user = next(iter(server.users))
    try:
        with server.client(user):
            return server.process.poll() is None
    except (OSError, ssl.SSLError, IMAPClientError) as exc:
        server.last_error = f"signing in failed: {type(exc).__name__}: {exc}"
        return False


@contextlib.contextmanager
def imap_server(users: dict[str, str], *, oauth2_url: str | None = None) -> Iterator[ImapServer]:
    """Start a private Dovecot with ``users``; yield it; stop it and remove its folder."""
    root = Path(tempfile.mkdtemp(prefix="mailroom-imap-"))
    root.chmod(0o755)  # the mail processes (user dovecot when the tests run as root) must reach the folder
    port = free_port()
    server = ImapServer(folder=root, port=port, users=dict(users))
    try:
        _make_certificates(root)
        (root / "users").write_text("".join(f"{name}:{{PLAIN}}{password}\n" for name, password in users.items()))
        for sub in ("run", "state", "mail", "home"):
            (root / sub).mkdir()
        if os.getuid() == 0:
            mail_user = pwd.getpwnam("dovecot")
            for sub in ("mail", "home", "users"):  # the auth and mail processes run as that user
                os.chown(root / sub, mail_user.pw_uid, mail_user.pw_gid)
            (root / "users").chmod(0o600)
            (root / "key.pem").chmod(0o600)  # read by the master (root) only
        for _ in range(5):  # a free port can be taken by another test's server before Dovecot binds it
            if _start(server, oauth2_url):
                break
            server.stop()
            server.port = free_port()
        else:  # say why: a fresh machine's failure is otherwise a riddle
            log = (root / "dovecot.log").read_text()[-3000:] if (root / "dovecot.log").exists() else "(no log)"
            raise RuntimeError(f"no port for dovecot: {server.last_error}\n{log}")
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def with_users(count: int, password: str = "geheim-Passwort-1") -> dict[str, str]:
    return {f"postfach{n}@musterstadt.test": f"{password}-{n}" for n in range(count)}
