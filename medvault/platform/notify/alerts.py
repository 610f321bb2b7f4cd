"""Sending the admins' alerts that follow from engine results: the failed images of a delivery. The step
hands over codes, file names and error-log keys; the recipients come from the rules."""

from __future__ import annotations

from collections.abc import Sequence

from medvault.platform.notify.messages import FailedImage, failed_images
from medvault.platform.notify.recipients import Recipients
from medvault.platform.notify.smtp import Mailer, SmtpSettings


def run_url(ui_url: str, run_id: str) -> str:
    """The run's page in the Dagster UI."""
    return f"{ui_url.rstrip('/')}/runs/{run_id}"


def send_failed_images(
    smtp: SmtpSettings,
    recipients: Recipients,
    *,
    site: str,
    date: str,
    run_id: str | None,
    ui_url: str,
    failures: Sequence[FailedImage],
) -> str | None:
    """The admins' summary of a delivery's failed images with their error logs; where it went (None when
    nothing failed or the site has no admins)."""
    to = recipients.admins_for(site)
    if not to or not failures:
        return None
    message = failed_images(
        to,
        run_id=run_id or "-",
        site=site,
        date=date,
        failures=list(failures),
        run_url=run_url(ui_url, run_id) if run_id else None,
        sender=smtp.sender,
    )
    return Mailer(smtp).send(message) if message is not None else None
