"""The notification engine: messages, recipients, and real SMTP round trips over loopback."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser

import pytest

from medvault.platform.notify import (
    DeliveredFile,
    FailedImage,
    Mailer,
    NotifyError,
    RecipientsError,
    SiteDigest,
    SmtpSettings,
    assert_no_values,
    digest,
    failed_images,
    parse_recipients,
    run_failed,
    scrub,
)
from tests.servers import LOOPBACK, free_port
from tests.smtp_server import smtp_server, smtp_server_factory  # noqa: F401

PATIENT_ID = "CHI-1234567890"
USER, PASSWORD = "medvault", "s3cret-Pa55-word"
T0 = datetime(2026, 1, 14, 6, 0, tzinfo=UTC)


def a_failure(to="ops@example.org", **overrides):
    kwargs = dict(
        job="ingest_daily",
        run_id="5f0c1a2b-1111-2222-3333-444455556666",
        assets=["raw/files", "staging/lab"],
        partition="rhine_vision|2026-01-14",
        error=f"ConversionException: Could not convert string '{PATIENT_ID}' to INT32 in column \"mrn\"",
        run_url="http://127.0.0.1:3000/runs/5f0c1a2b",
    )
    kwargs.update(overrides)
    return run_failed(to, **kwargs)


def parts(message) -> dict[str, str]:
    return {p.get_content_type(): p.get_content() for p in message.walk() if not p.is_multipart()}


# -- messages --------------------------------------------------------------------------------------------
def test_run_failed_is_multipart_with_headers():
    msg = a_failure(["ops@example.org", "dev@example.org"])
    assert msg.get_content_type() == "multipart/alternative"
    assert set(parts(msg)) == {"text/plain", "text/html"}
    assert msg["Subject"] == "[medvault] run failed: ingest_daily rhine_vision|2026-01-14"
    assert msg["To"] == "ops@example.org, dev@example.org"
    assert msg["From"] and msg["Date"] and msg["Message-ID"]
    assert a_failure(partition=None)["Subject"] == "[medvault] run failed: ingest_daily"
    for body in parts(msg).values():
        assert "raw/files, staging/lab" in body and "http://127.0.0.1:3000/runs/5f0c1a2b" in body


def test_run_failed_scrubs_quoted_values_from_both_parts():
    msg = a_failure()
    text, html_part = parts(msg)["text/plain"], parts(msg)["text/html"]
    assert PATIENT_ID not in text and PATIENT_ID not in html_part
    assert "Could not convert string <value> to INT32 in column <value>" in text
    assert "Could not convert string &lt;value&gt; to INT32" in html_part
    assert_no_values(msg, [PATIENT_ID, "mrn"])


def test_scrub_removes_url_credentials_and_truncates():
    assert scrub("cannot reach postgresql://admin:hunter2@db/x") == "cannot reach postgresql://***@db/x"
    long = scrub("x" * 5000)
    assert len(long) <= 600 and long.endswith("…")


def test_values_are_html_escaped_and_headers_stay_one_line():
    msg = a_failure(job="<script>alert(1)</script>\nBcc: evil@example.org", error="a < b & c")
    html_part = parts(msg)["text/html"]
    assert "<script>" not in html_part and "&lt;script&gt;" in html_part
    assert "a &lt; b &amp; c" in html_part
    assert "\n" not in msg["Subject"] and msg["Bcc"] is None


def test_assert_no_values_finds_a_planted_value_without_printing_it():
    msg = a_failure(job=f"job {PATIENT_ID}")
    with pytest.raises(AssertionError) as info:
        assert_no_values(msg, ["", PATIENT_ID])
    assert PATIENT_ID not in str(info.value)


def test_failed_images_lists_each_failure_and_its_error_log():
    failures = [
        FailedImage(
            7, "v1.dcm", "copy_failed", f"v1.dcm: OSError: '{PATIENT_ID}'", "error_logs/trc/a_error_log.txt"
        ),
        FailedImage(8, "v2.dcm", "source_missing", "v2.dcm: the raw copy is missing", None),
    ]
    msg = failed_images(
        "ops@example.org", run_id="r1", site="rhine_vision", date="2026-01-14", failures=failures
    )
    assert msg["Subject"] == "[medvault] 2 images failed: rhine_vision 2026-01-14"
    for body in parts(msg).values():
        assert "error_logs/trc/a_error_log.txt" in body and "source_missing" in body and "v2.dcm" in body
    assert_no_values(msg, [PATIENT_ID])
    assert failed_images("ops@example.org", run_id="r1", site="s", date="d", failures=[]) is None


def test_digest_with_nothing_to_say_is_none():
    quiet = [SiteDigest("rhine_vision"), SiteDigest("oslo", new_files=[], new_count=0, failed_count=0)]
    assert digest("lab@example.org", since=T0, until=T0 + timedelta(days=1), sites=quiet) is None
    assert digest("lab@example.org", since=T0, until=T0 + timedelta(days=1), sites=[]) is None


def test_digest_lists_files_and_counts_per_site():
    files = [DeliveredFile(f"PET/TRC_PET_{i}.dcm", T0 + timedelta(hours=i)) for i in range(2)]
    sites = [
        SiteDigest("rhine_vision", new_files=files, new_count=5, failed_count=1),
        SiteDigest("oslo", failed_count=2),
        SiteDigest("quiet_site"),
    ]
    msg = digest("lab@example.org", since=T0, until=T0 + timedelta(days=1), sites=sites)
    assert msg["Subject"] == "[medvault] digest: 5 new, 3 failed (2026-01-14 to 2026-01-15)"
    text, html_part = parts(msg)["text/plain"], parts(msg)["text/html"]
    for body in (text, html_part):
        assert "rhine_vision: 5 new, 1 failed" in body and "oslo: 0 new, 2 failed" in body
        assert "PET/TRC_PET_1.dcm" in body and "2026-01-14 07:00 UTC" in body
        assert "and 3 more" in body and "Nothing new or failed: quiet_site" in body


def test_a_message_needs_a_recipient():
    with pytest.raises(ValueError):
        a_failure(to=[])


# -- recipients ------------------------------------------------------------------------------------------
RECIPIENTS = {
    "admins": ["ops@example.org"],
    "users": ["lab@example.org"],
    "sites": {
        "rhine_vision": {"admins": ["rv-ops@example.org", "OPS@example.org"], "users": ["rv@example.org"]},
        "oslo": {"users": ["lab@example.org", "oslo@example.org"]},
    },
    "studies": {"TRC": {"users": ["trc-images-l@atrihub.io", "rv@example.org"]}},
}


def test_recipients_merge_site_and_study_lists_deduplicated_in_order():
    r = parse_recipients(RECIPIENTS)
    assert r.admins_for() == ["ops@example.org"]
    assert r.admins_for("rhine_vision") == ["ops@example.org", "rv-ops@example.org"]
    assert r.admins_for("unknown_site") == ["ops@example.org"]
    assert r.users_for("oslo") == ["lab@example.org", "oslo@example.org"]
    assert r.users_for("rhine_vision", study="trc") == [
        "lab@example.org",
        "rv@example.org",
        "trc-images-l@atrihub.io",
    ]
    assert r.users_for(study="TRC") == ["lab@example.org", "trc-images-l@atrihub.io", "rv@example.org"]


def test_recipients_accept_an_empty_file_a_single_string_and_display_names():
    assert parse_recipients(None).admins_for() == []
    r = parse_recipients({"admins": '"Ops, Team" <ops@example.org>', "users": None})
    assert r.admins_for() == ['"Ops, Team" <ops@example.org>'] and r.users_for() == []


@pytest.mark.parametrize(
    "data, where",
    [
        (
            {"sites": {"rhine_vision": {"users": ["ok@example.org", "not-an-address"]}}},
            "sites.rhine_vision.users[1]",
        ),
        ({"admins": ["a@example.org, b@example.org"]}, "admins[0]"),
        ({"users": ["lab@example.org\nBcc: x@example.org"]}, "users[0]"),
        ({"studies": {"trc": {"users": [42]}}}, "studies.trc.users[0]"),
        ({"studies": {"trc": {"admins": ["a@example.org"]}}}, "studies.trc: unknown key 'admins'"),
        ({"admin": ["ops@example.org"]}, "unknown key 'admin'"),
        ({"sites": ["rhine_vision"]}, "sites must be a mapping"),
    ],
)
def test_bad_recipients_name_the_entry_and_its_path(data, where):
    with pytest.raises(RecipientsError) as info:
        parse_recipients(data, source="rules/recipients.yaml")
    assert str(info.value).startswith("rules/recipients.yaml: ") and where in str(info.value)
    if "not-an-address" in str(data):
        assert "'not-an-address'" in str(info.value)


# -- settings and the outbox -------------------------------------------------------------------------------
def test_settings_hide_the_password_and_check_their_values():
    assert PASSWORD not in repr(SmtpSettings(host="mail.example.org", user=USER, password=PASSWORD))
    with pytest.raises(ValueError, match="security"):
        SmtpSettings(security="tls")
    with pytest.raises(ValueError, match="port"):
        SmtpSettings(port=0)


def test_a_password_is_never_sent_in_clear_to_a_remote_host():
    with pytest.raises(NotifyError, match="mail.example.org:25") as info:
        Mailer(SmtpSettings(host="mail.example.org", user=USER, password=PASSWORD))
    assert PASSWORD not in str(info.value)
    assert Mailer(SmtpSettings(host="mail.example.org", security="starttls", user=USER, password=PASSWORD))


def test_without_host_or_outbox_mail_is_off():
    mailer = Mailer(SmtpSettings())
    assert not mailer.enabled and mailer.mode == "off"
    with pytest.raises(NotifyError, match="off"):
        mailer.send(a_failure())


def test_outbox_writes_a_parseable_eml_atomically(tmp_path):
    outbox = tmp_path / "outbox"
    mailer = Mailer(SmtpSettings(outbox=outbox, sender="alerts@example.org"))
    assert mailer.enabled and mailer.mode == "outbox"
    original = a_failure()
    first, second = mailer.send(original), mailer.send(original)
    assert first != second
    assert sorted(p.name for p in outbox.iterdir()) == sorted(
        [first.rsplit("/", 1)[1], second.rsplit("/", 1)[1]]
    )
    name = first.rsplit("/", 1)[1]
    assert name.endswith("-medvault-run-failed-ingest-daily-rhine-vision-2026-01-14.eml")
    assert name[:8].isdigit() and name[8] == "T"
    parsed = BytesParser(policy=policy.default).parsebytes((outbox / name).read_bytes())
    assert parsed["Subject"] == original["Subject"] and parsed["From"] == "alerts@example.org"
    assert set(parts(parsed)) == {"text/plain", "text/html"}
    assert original["From"] == "medvault@localhost"  # the caller's message is not changed
    assert_no_values(parsed, [PATIENT_ID])


# -- SMTP over loopback ------------------------------------------------------------------------------------
def settings_for(server, **overrides) -> SmtpSettings:
    values = dict(host=server.host, port=server.port, security=server.tls, timeout=5, ca_file=server.ca_file)
    values.update(overrides)
    return SmtpSettings(**values)


@pytest.mark.network
def test_plain_smtp_round_trip(smtp_server):  # noqa: F811
    mailer = Mailer(settings_for(smtp_server, sender="alerts@example.org"))
    assert mailer.enabled and mailer.mode == "smtp"
    where = mailer.send(a_failure(["ops@example.org", "dev@example.org"]))
    assert where == f"smtp://{LOOPBACK}:{smtp_server.port}"
    (got,) = smtp_server.wait_for(1)
    assert got.mail_from == "alerts@example.org" and got.rcpt_tos == ["ops@example.org", "dev@example.org"]
    assert not got.tls and got.login is None
    assert got.message["From"] == "alerts@example.org"
    assert got.message["Subject"] == "[medvault] run failed: ingest_daily rhine_vision|2026-01-14"
    assert set(parts(got.message)) == {"text/plain", "text/html"}
    assert_no_values(got.message, [PATIENT_ID])


@pytest.mark.network
@pytest.mark.parametrize("tls", ["starttls", "ssl"])
def test_tls_smtp_round_trip_with_login(smtp_server_factory, tls):  # noqa: F811
    server = smtp_server_factory(tls=tls, auth=(USER, PASSWORD))
    mailer = Mailer(settings_for(server, user=USER, password=PASSWORD))
    assert mailer.send(a_failure()) == f"smtp://{LOOPBACK}:{server.port}"
    (got,) = server.wait_for(1)
    assert got.tls and got.login == USER
    assert set(parts(got.message)) == {"text/plain", "text/html"}


@pytest.mark.network
def test_wrong_password_is_a_clear_error_without_the_password(smtp_server_factory):  # noqa: F811
    server = smtp_server_factory(tls="starttls", auth=(USER, PASSWORD))
    wrong = "wr0ng-" + PASSWORD
    with pytest.raises(NotifyError) as info:
        Mailer(settings_for(server, user=USER, password=wrong)).send(a_failure())
    text = str(info.value)
    assert f"{LOOPBACK}:{server.port}" in text and "login" in text and "medvault" in text
    assert wrong not in text and PASSWORD not in text and wrong not in repr(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert server.messages == []


@pytest.mark.network
def test_a_server_without_starttls_is_not_used_in_clear(smtp_server):  # noqa: F811
    with pytest.raises(NotifyError, match="STARTTLS"):
        Mailer(settings_for(smtp_server, security="starttls")).send(a_failure())
    assert smtp_server.messages == []


@pytest.mark.network
@pytest.mark.parametrize("tls", ["starttls", "ssl"])
def test_an_untrusted_certificate_is_refused(smtp_server_factory, tls):  # noqa: F811
    server = smtp_server_factory(tls=tls)
    with pytest.raises(NotifyError, match="CERTIFICATE_VERIFY_FAILED"):
        Mailer(settings_for(server, ca_file="")).send(a_failure())
    assert server.messages == []


@pytest.mark.network
def test_an_unreachable_server_is_named():
    port = free_port()  # nothing listens here
    with pytest.raises(NotifyError, match=f"{LOOPBACK}:{port}.*connect"):
        Mailer(SmtpSettings(host=LOOPBACK, port=port, timeout=2)).send(a_failure())


@pytest.mark.network
def test_a_silent_server_times_out():
    with socket.create_server((LOOPBACK, 0)) as silent:  # accepts (backlog) but never greets
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(NotifyError, match=f"{LOOPBACK}:{port}"):
            Mailer(SmtpSettings(host=LOOPBACK, port=port, timeout=0.5)).send(a_failure())
        assert time.monotonic() - started < 5
