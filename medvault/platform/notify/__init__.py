"""E-mail notifications: errors to admins, digests to users, over SMTP or into an outbox folder.

Plain Python (no Dagster): `messages` builds the e-mails from plain data, `recipients` says who gets them,
`smtp.Mailer` sends them. No patient value is ever passed in, so none can go out.
"""

from medvault.platform.notify.messages import (
    DeliveredFile,
    FailedImage,
    SiteDigest,
    assert_no_values,
    digest,
    failed_images,
    run_failed,
    scrub,
)
from medvault.platform.notify.recipients import Audience, Recipients, RecipientsError, parse_recipients
from medvault.platform.notify.smtp import DEFAULT_SENDER, SECURITIES, Mailer, NotifyError, SmtpSettings

__all__ = [
    "DEFAULT_SENDER",
    "SECURITIES",
    "Audience",
    "DeliveredFile",
    "FailedImage",
    "Mailer",
    "NotifyError",
    "Recipients",
    "RecipientsError",
    "SiteDigest",
    "SmtpSettings",
    "assert_no_values",
    "digest",
    "failed_images",
    "parse_recipients",
    "run_failed",
    "scrub",
]
