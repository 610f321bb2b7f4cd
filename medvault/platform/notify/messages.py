"""The e-mails medvault sends, as `EmailMessage`s with a plain-text and an HTML part.

Patient safety by construction: every builder takes plain data (job names, run ids, file ids, delivery
keys, counts, error codes), never a connection or a row, so there is no patient field to leak. Error text
is the one free-form input, and `scrub` replaces its quoted literals (where databases echo data values)
with <value> and cuts it short. Every value is HTML-escaped in the HTML part; header values are folded
to one line so nothing can add a header. `assert_no_values` lets tests prove a planted value is absent.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from medvault.platform.notify.smtp import DEFAULT_SENDER
from medvault.platform.redact import _QUOTED, _USERINFO

ERROR_LIMIT = 600
PREFIX = "[medvault]"


def scrub(text: str, limit: int = ERROR_LIMIT) -> str:
    """Error text fit for an e-mail: quoted literals -> <value>, URL credentials -> ***, at most `limit`."""
    text = _USERINFO.sub(r"\1***@", _QUOTED.sub("<value>", text)).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class FailedImage:
    """An image not delivered (or delivered with problems): ids, codes, the error log's key."""

    file_id: int
    source_name: str
    code: str
    message: str
    error_log: str | None = None


@dataclass(frozen=True)
class DeliveredFile:
    destination_key: str
    delivered_at: datetime


@dataclass(frozen=True)
class SiteDigest:
    """One site's window: the files delivered (possibly a first page of them) and the counts."""

    site: str
    new_files: list[DeliveredFile] = field(default_factory=list)
    new_count: int = 0
    failed_count: int = 0

    @property
    def quiet(self) -> bool:
        return not (self.new_count or self.failed_count or self.new_files)


# -- building blocks ----------------------------------------------------------------------------------
def _line(text: object) -> str:
    """One line, for headers and table cells: no CR/LF can start a new header."""
    return re.sub(r"\s+", " ", str(text)).strip()


def _when(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _addresses(to: str | Sequence[str]) -> list[str]:
    addresses = [to] if isinstance(to, str) else list(to)
    addresses = [_line(a) for a in addresses if a and a.strip()]
    if not addresses:
        raise ValueError("an e-mail needs at least one recipient")
    return addresses


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>\n"
        '<body style="font-family: sans-serif; font-size: 14px; color: #222">\n'
        f"<h2>{html.escape(title)}</h2>\n{body}\n"
        '<p style="color: #777; font-size: 12px">Sent by medvault. No patient values are included.</p>\n'
        "</body></html>\n"
    )


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    cell = 'style="text-align: left; padding: 2px 12px 2px 0; vertical-align: top"'
    head = "".join(f"<th {cell}>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td {cell}>{html.escape(_line(v))}</td>" for v in row) + "</tr>\n" for row in rows
    )
    return f"<table>\n<tr>{head}</tr>\n{body}</table>"


def _fields(pairs: Sequence[tuple[str, object]]) -> tuple[str, str]:
    """`Name: value` lines for the text part and a two-column table for the HTML part."""
    width = max(len(name) for name, _ in pairs) + 1
    text = "\n".join(f"{name + ':':<{width}} {value}" for name, value in pairs)
    rows = "".join(
        f'<tr><th style="text-align: left; padding-right: 12px">{html.escape(name)}</th>'
        f"<td>{html.escape(str(value))}</td></tr>\n"
        for name, value in pairs
    )
    return text, f"<table>\n{rows}</table>"


def _message(to: str | Sequence[str], subject: str, text: str, body_html: str, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = _line(subject)
    msg["From"] = _line(sender)
    msg["To"] = ", ".join(_addresses(to))
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid("medvault", domain=sender.rpartition("@")[2].strip("> ") or "localhost")
    msg.set_content(text.rstrip() + "\n\n-- \nSent by medvault. No patient values are included.\n")
    msg.add_alternative(_page(_line(subject), body_html), subtype="html")
    return msg


def _link(url: str | None) -> str:
    if not url:
        return ""
    return f'<p><a href="{html.escape(url, quote=True)}">Open the run in Dagster</a></p>'


# -- the messages --------------------------------------------------------------------------------------
def run_failed(
    to: str | Sequence[str],
    *,
    job: str,
    run_id: str,
    assets: Sequence[str],
    partition: str | None,
    error: str,
    run_url: str | None,
    sender: str = DEFAULT_SENDER,
) -> EmailMessage:
    """For admins, right after a run failed: what ran, where to look, the error with its values removed."""
    subject = f"{PREFIX} run failed: {job}" + (f" {partition}" if partition else "")
    pairs = [
        ("Job", job),
        ("Partition", partition or "-"),
        ("Run", run_id),
        ("Assets", ", ".join(assets) or "-"),
    ]
    if run_url:
        pairs.append(("Link", run_url))
    summary = scrub(error)
    text_fields, html_fields = _fields(pairs)
    text = f"A medvault run failed.\n\n{text_fields}\n\nError (quoted values removed):\n{summary}\n"
    body = (
        f"<p>A medvault run failed.</p>\n{html_fields}\n{_link(run_url)}\n"
        "<h3>Error (quoted values removed)</h3>\n"
        f'<pre style="white-space: pre-wrap">{html.escape(summary)}</pre>'
    )
    return _message(to, subject, text, body, sender)


def failed_images(
    to: str | Sequence[str],
    *,
    run_id: str,
    site: str,
    date: str,
    failures: Sequence[FailedImage],
    run_url: str | None = None,
    sender: str = DEFAULT_SENDER,
) -> EmailMessage | None:
    """For admins, once per delivery run: every image that failed, its code and its error log; None if none."""
    if not failures:
        return None
    n = len(failures)
    subject = f"{PREFIX} {n} image{'s' if n != 1 else ''} failed: {site} {date}"
    pairs = [("Site", site), ("Date", date), ("Run", run_id), ("Failed", n)]
    if run_url:
        pairs.append(("Link", run_url))
    text_fields, html_fields = _fields(pairs)
    rows = [
        (f.file_id, f.source_name, f.code, scrub(f.message, 300), f.error_log or "(not written)")
        for f in failures
    ]
    lines = [
        f"- file {fid} ({name}): {code}: {message}\n  error log: {log}"
        for fid, name, code, message, log in rows
    ]
    text = f"Images of {site} {date} failed in run {run_id}.\n\n{text_fields}\n\n" + "\n".join(lines) + "\n"
    body = (
        f"<p>Images of {html.escape(site)} {html.escape(date)} failed.</p>\n{html_fields}\n{_link(run_url)}\n"
        + _table(("File", "Source", "Code", "Message", "Error log"), rows)
    )
    return _message(to, subject, text, body, sender)


def digest(
    to: str | Sequence[str],
    *,
    since: datetime,
    until: datetime,
    sites: Sequence[SiteDigest],
    sender: str = DEFAULT_SENDER,
) -> EmailMessage | None:
    """For users, on a schedule: the files delivered per site in [since, until) and how many failed.

    None when no site has anything new or failed: a digest with nothing to say is not sent."""
    busy = [s for s in sites if not s.quiet]
    if not busy:
        return None
    quiet = sorted(s.site for s in sites if s.quiet)
    new = sum(max(s.new_count, len(s.new_files)) for s in busy)
    failed = sum(s.failed_count for s in busy)
    window = f"{_when(since)} to {_when(until)}"
    subject = f"{PREFIX} digest: {new} new, {failed} failed ({_when(since)[:10]} to {_when(until)[:10]})"
    text = [f"New files delivered from {window}.", ""]
    body = [f"<p>New files delivered from {html.escape(window)}.</p>"]
    for s in sorted(busy, key=lambda s: s.site):
        count = max(s.new_count, len(s.new_files))
        more = count - len(s.new_files)
        heading = f"{s.site}: {count} new, {s.failed_count} failed"
        text += [heading, "-" * len(heading)]
        text += [f"  {f.destination_key}  ({_when(f.delivered_at)})" for f in s.new_files]
        if more > 0:
            text.append(f"  ... and {more} more")
        text.append("")
        body.append(f"<h3>{html.escape(heading)}</h3>")
        if s.new_files:
            body.append(
                _table(
                    ("File", "Delivered"), ((f.destination_key, _when(f.delivered_at)) for f in s.new_files)
                )
            )
        if more > 0:
            body.append(f"<p>... and {more} more</p>")
    if quiet:
        text.append(f"Nothing new or failed: {', '.join(quiet)}")
        body.append(f"<p>Nothing new or failed: {html.escape(', '.join(quiet))}</p>")
    return _message(to, subject, "\n".join(text), "\n".join(body), sender)


# -- the guard -------------------------------------------------------------------------------------------
def assert_no_values(message: EmailMessage, forbidden: Iterable[str]) -> None:
    """AssertionError when any forbidden value (or its HTML-escaped form) is in a header or a decoded part.

    The error names the value by position only, so the guard itself never prints a patient value."""
    texts = [
        ("headers", "\n".join(f"{k}: {v}" for k, v in message.items())),
        ("raw message", message.as_string()),
    ]
    for part in message.walk():
        if not part.is_multipart():
            texts.append((part.get_content_type(), str(part.get_content())))
    for i, value in enumerate(v for v in forbidden if v):
        for where, text in texts:
            if value in text or html.escape(value) in text:
                raise AssertionError(f"forbidden value #{i} appears in the {where}")
