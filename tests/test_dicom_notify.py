"""Seed 004's notifications end to end over a real SMTP server (aiosmtpd on loopback): the admins' e-mail
from the run-failure sensor, their summary of failed images, and the users' digest, with the recipients of
rules/recipients.yaml and no patient identifier in any of them."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import dagster as dg
import pydicom
import pytest

from medvault.definitions import build_definitions
from medvault.jobs import REPROCESS_JOB
from medvault.platform.config import Settings
from medvault.platform.notify import assert_no_values
from medvault.resources import build_engine
from medvault.resources.mail import build_smtp
from medvault.schedules.notify import DIGEST_JOB
from medvault.sensors.notify import admin_run_failure_email
from tests.smtp_server import smtp_server  # noqa: F401  (the fixture)
from tests.test_dicom_delivery import DAY, SITE, ct_bytes

ROOT = Path(__file__).resolve().parents[1]
ADMINS = ["data-platform-admins@example.org"]
USERS = ["imaging-lab@example.org", "aurora-readers@example.org"]


def _settings(home: Path, server) -> Settings:
    return Settings.from_env(
        {
            "MEDVAULT_HOME": str(home),
            "MEDVAULT_RULES": str(ROOT / "rules"),
            "MEDVAULT_SMTP_HOST": server.host,
            "MEDVAULT_SMTP_PORT": str(server.port),
            "MEDVAULT_SMTP_SECURITY": "none",
        }
    )


def _drop(settings: Settings, files: dict[str, bytes]) -> None:
    folder = settings.drops / SITE / DAY
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "_DONE").write_text("")


@pytest.mark.network
def test_delivery_mails_admins_the_failed_images_and_users_a_digest(tmp_path: Path, smtp_server):  # noqa: F811
    from medvault.runner import run_pending

    settings = _settings(tmp_path, smtp_server)
    settings.ensure_folders()
    good = ct_bytes()
    patient = pydicom.dcmread(BytesIO(good))
    _drop(settings, {"good.dcm": good, "cut.dcm": good[:-2000]})
    defs = build_definitions(settings)
    with dg.instance_for_test(temp_dir=str(settings.dagster_home)) as instance:
        report = run_pending(defs, instance, settings, settle_seconds=0, log=lambda *_: None)
        assert report.succeeded >= 1
        (failed,) = smtp_server.wait_for(1, timeout=10)
        assert sorted(failed.rcpt_tos) == ADMINS
        assert "1 image failed" in failed.message["Subject"]
        text = failed.message.get_body(("plain",)).get_content()
        assert "cut.dcm" in text and "truncated_pixels" in text and "error_logs/dicom_images/" in text
        result = defs.resolve_job_def(DIGEST_JOB).execute_in_process(instance=instance)
        assert result.success
    digest = smtp_server.wait_for(2, timeout=10)[1]
    assert sorted(digest.rcpt_tos) == sorted(USERS), "global users and aurora_eye's own list"
    body = digest.message.get_body(("plain",)).get_content()
    assert f"{SITE}: 1 new, 1 failed" in body and "quarantine/imagingCT/" in body
    assert {p.get_content_type() for p in digest.message.walk()} >= {"text/plain", "text/html"}
    for received in (failed, digest):
        assert_no_values(received.message, [patient.PatientID, str(patient.PatientName)])


@pytest.mark.network
def test_a_digest_with_nothing_to_say_is_not_sent(tmp_path: Path, smtp_server):  # noqa: F811
    settings = _settings(tmp_path, smtp_server)
    settings.ensure_folders()
    defs = build_definitions(settings)
    with dg.instance_for_test(temp_dir=str(settings.dagster_home)) as instance:
        assert defs.resolve_job_def(DIGEST_JOB).execute_in_process(instance=instance).success
    with pytest.raises(TimeoutError):
        smtp_server.wait_for(1, timeout=1)


@pytest.mark.network
def test_a_failed_run_mails_the_admins_with_a_link(tmp_path: Path, smtp_server):  # noqa: F811
    settings = _settings(tmp_path, smtp_server)
    settings.ensure_folders()
    defs = build_definitions(settings)
    with dg.instance_for_test(temp_dir=str(settings.dagster_home)) as instance:
        secret = "'0101011234'"  # a value quoted in an error must not reach the e-mail
        result = defs.resolve_job_def(REPROCESS_JOB).execute_in_process(
            instance=instance,
            run_config={"ops": {"reprocess_images": {"config": {"keys": [f"x/{secret}/a.dcm"]}}}},
            raise_on_error=False,
        )
        assert not result.success
        run = instance.get_run_by_id(result.run_id)
        failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        context = dg.build_run_status_sensor_context(
            sensor_name="admin_run_failure_email",
            dagster_instance=instance,
            dagster_run=run,
            dagster_event=failure,
            resources={"medvault": build_engine(settings), "smtp": build_smtp(settings)},
        ).for_run_failure()
        admin_run_failure_email(context)
    (received,) = smtp_server.wait_for(1, timeout=10)
    assert received.rcpt_tos == ADMINS
    assert f"run failed: {REPROCESS_JOB}" in received.message["Subject"]
    text = received.message.get_body(("plain",)).get_content()
    assert f"http://127.0.0.1:3000/runs/{result.run_id}" in text
    assert "not files of the image pipeline" in text
    assert "0101011234" not in received.message.as_string()
