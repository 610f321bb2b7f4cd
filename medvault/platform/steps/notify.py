"""E-mails of seed 004: a run failure and the failed images of a delivery to the admins, the digest of newly
delivered images to the users. Who gets what is `rules/recipients.yaml`; how it is sent is the SMTP settings
(or the outbox folder). Every e-mail is built from codes, counts, keys and file names, never from patient
values; an e-mail with nothing to say is not sent, and nobody to send to is not an error.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from medvault.platform.ledger import Ledger
from medvault.platform.notify import (
    DeliveredFile,
    Mailer,
    SiteDigest,
    digest,
    run_failed,
)
from medvault.platform.notify.alerts import run_url
from medvault.platform.notify.smtp import SmtpSettings
from medvault.platform.steps.context import StepContext

DIGEST_LIST_LIMIT = 200  # files listed per site; the count says how many more


def send_run_failed(
    ctx: StepContext,
    smtp: SmtpSettings,
    *,
    job: str,
    run_id: str,
    site: str | None,
    partition: str | None,
    assets: list[str],
    error: str,
) -> str | None:
    """Tell the admins (of the site, when the run had one) that a run failed; where the e-mail went."""
    to = ctx.rules.recipients.admins_for(site)
    if not to:
        return None
    message = run_failed(
        to,
        job=job,
        run_id=run_id,
        assets=assets,
        partition=partition,
        error=error,
        run_url=run_url(ctx.settings.ui_url, run_id),
        sender=smtp.sender,
    )
    return Mailer(smtp).send(message)


def send_digest(
    ctx: StepContext, smtp: SmtpSettings, *, until: datetime | None = None, hours: float = 24.0
) -> list[str]:
    """The users' digest of the last `hours`: per site, the files newly delivered and how many failed.
    Sites whose users differ get separate e-mails, each naming only its sites; where each one went."""
    until = until or datetime.now(UTC).replace(tzinfo=None)
    since = until - timedelta(hours=hours)
    with ctx.connect() as con:
        delivered, failed = Ledger(con).pipeline.window(ctx.rules.delivery.code, since, until)
    files: dict[str, list[DeliveredFile]] = defaultdict(list)
    for site, key, at in delivered:
        files[site].append(DeliveredFile(key, at))
    by_audience: dict[tuple[str, ...], list[SiteDigest]] = defaultdict(list)
    for site in sorted(set(files) | set(failed)):
        users = tuple(ctx.rules.recipients.users_for(site))
        if users:
            new = files.get(site, [])
            by_audience[users].append(
                SiteDigest(site, new[:DIGEST_LIST_LIMIT], len(new), failed.get(site, 0))
            )
    sent = []
    mailer = Mailer(smtp)
    for users, sites in by_audience.items():
        message = digest(list(users), since=since, until=until, sites=sites, sender=smtp.sender)
        if message is not None:
            sent.append(mailer.send(message))
    return sent
