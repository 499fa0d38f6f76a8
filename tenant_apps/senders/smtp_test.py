"""'Test connection': connect, EHLO, STARTTLS/TLS and AUTH as the engine would, and report the answers.

No ORM here. The password is never part of the answer.
"""

import smtplib
import ssl

from tenant_apps.delivery.smtp import SmtpConfig


def probe(config: SmtpConfig) -> tuple[bool, str]:
    lines = []
    cls = smtplib.SMTP_SSL if config.use_ssl else smtplib.SMTP
    try:
        conn = cls(config.host, config.port, local_hostname=config.local_hostname, timeout=config.timeout)
    except (OSError, smtplib.SMTPException) as exc:
        return False, f"connect: {type(exc).__name__}: {exc}"
    try:
        code, text = conn.ehlo()
        lines.append(f"EHLO: {code} {text.decode('utf-8', 'replace').splitlines()[0] if text else ''}")
        if config.use_tls:
            code, text = conn.starttls(context=ssl.create_default_context())
            lines.append(f"STARTTLS: {code} {text.decode('utf-8', 'replace')}")
            conn.ehlo()
        if config.username:
            code, text = conn.login(config.username, config.password)
            lines.append(f"AUTH: {code} {text.decode('utf-8', 'replace')}")
        return True, "\n".join(lines)
    except smtplib.SMTPResponseException as exc:
        error = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        lines.append(f"{type(exc).__name__}: {exc.smtp_code} {error}")
    except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
        lines.append(f"{type(exc).__name__}: {exc}")
    finally:
        try:
            conn.quit()
        except Exception:  # noqa: BLE001, S110 - closing a connection that may be gone
            conn.close()
    return False, "\n".join(lines)
