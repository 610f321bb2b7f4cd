"""The PACS extract (system `harmony_pacs`): stations, patients, orders, studies, series, instances.

Why two header versions: sites run different releases of the PACS database export. v1 keeps the
dcm4chee column names (pat_id, study_iuid, updated_time...), v2 renames them and adds
referring_physician, transfer_syntax and ae_title. Both map onto the same canonical columns in
`rules/sources/harmony_pacs/v*.yaml`; `HEADERS` below is the generator's side of that contract.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from faker import Faker

from medvault.synth.ids import make_uid, stream
from medvault.synth.people import Patient, PatientPool
from medvault.synth.sites import SiteSpec

SYSTEM = "harmony_pacs"
TABLES = ("stations", "patients", "orders", "studies", "series", "instances")
EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"

SOP_CLASSES = {
    "OP": "1.2.840.10008.5.1.4.1.1.77.1.5.1",  # Ophthalmic Photography 8 Bit Image Storage
    "OPT": "1.2.840.10008.5.1.4.1.1.77.1.5.4",  # Ophthalmic Tomography Image Storage
    "CT": "1.2.840.10008.5.1.4.1.1.2",  # CT Image Storage
    "MR": "1.2.840.10008.5.1.4.1.1.4",  # MR Image Storage
}

# (canonical column, v1 header, v2 header); None = the version does not have the column.
HEADERS: dict[str, tuple[tuple[str, str | None, str | None], ...]] = {
    "patients": (
        ("patient_id", "pat_id", "patient_id"),
        ("patient_name", "pat_name", "patient_name"),
        ("birth_date", "pat_birthdate", "birth_date"),
        ("sex", "pat_sex", "sex"),
        ("modified_at", "updated_time", "modified_at"),
    ),
    "studies": (
        ("study_uid", "study_iuid", "study_instance_uid"),
        ("patient_id", "pat_id", "patient_id"),
        ("study_date", "study_date", "study_date"),
        ("accession_number", "accession_no", "accession_number"),
        ("study_description", "study_desc", "study_description"),
        ("modality", "mods_in_study", "modality"),
        ("referring_physician", None, "referring_physician"),
        ("modified_at", "updated_time", "modified_at"),
    ),
    "series": (
        ("series_uid", "series_iuid", "series_instance_uid"),
        ("study_uid", "study_iuid", "study_instance_uid"),
        ("series_number", "series_no", "series_number"),
        ("modality", "modality", "modality"),
        ("body_part", "body_part", "body_part_examined"),
        ("laterality", "laterality", "laterality"),
        ("station_name", "station_name", "station_name"),
        ("department", "department", "department"),
        ("institution", "institution", "institution_name"),
        ("modified_at", "updated_time", "modified_at"),
    ),
    "instances": (
        ("sop_instance_uid", "sop_iuid", "sop_instance_uid"),
        ("series_uid", "series_iuid", "series_instance_uid"),
        ("sop_class_uid", "sop_cuid", "sop_class_uid"),
        ("instance_number", "inst_no", "instance_number"),
        ("file_size", "file_size", "file_size"),
        ("transfer_syntax", None, "transfer_syntax"),
        ("modified_at", "updated_time", "modified_at"),
    ),
    "orders": (
        ("order_id", "order_no", "order_id"),
        ("patient_id", "pat_id", "patient_id"),
        ("study_uid", "study_iuid", "study_instance_uid"),
        ("order_type", "order_type", "order_type"),
        ("status", "order_status", "status"),
        ("created_at", "created_time", "created_at"),
        ("modified_at", "updated_time", "modified_at"),
    ),
    "stations": (
        ("station_name", "station_name", "station_name"),
        ("ae_title", None, "ae_title"),
        ("manufacturer", "manufacturer", "manufacturer"),
        ("model", "model_name", "model"),
        ("device_serial", "device_serial_no", "device_serial"),
        ("department", "department", "department"),
        ("modality", "modality", "modality"),
        ("modified_at", "updated_time", "modified_at"),
    ),
}

EYE_DEVICES = (
    ("OP", "FUNDUS", "Topcon", "TRC-NW8"),
    ("OP", "FUNDUS", "Carl Zeiss Meditec", "VISUCAM 500"),
    ("OP", "FUNDUS", "Topcon", "Maestro2"),
    ("OPT", "OCT", "Carl Zeiss Meditec", "CIRRUS HD-OCT 5000"),
    ("OPT", "OCT", "Heidelberg Engineering", "SPECTRALIS"),
    ("OPT", "OCT", "Topcon", "DRI OCT Triton"),
)
RADIOLOGY_DEVICES = (
    ("CT", "CT", "Siemens Healthineers", "SOMATOM go.Up"),
    ("CT", "CT", "Canon Medical Systems", "Aquilion Prime SP"),
    ("MR", "MR", "GE Healthcare", "SIGNA Explorer"),
    ("MR", "MR", "Philips", "Ingenia 1.5T"),
)
EYE_DEPARTMENTS = ("Ophthalmology", "Retina Clinic", "Glaucoma Clinic", "Diabetic Eye Screening")
STUDY_KINDS = {
    "OP": (
        ("Colour fundus photography", "EYE"),
        ("Diabetic retinopathy screening", "EYE"),
        ("Fundus autofluorescence", "EYE"),
    ),
    "OPT": (("OCT macula", "EYE"), ("OCT optic disc", "EYE"), ("OCT angiography", "EYE")),
    "CT": (("CT head", "HEAD"), ("CT orbits", "HEAD"), ("CT chest", "CHEST")),
    "MR": (("MRI brain", "BRAIN"), ("MRI orbits", "HEAD"), ("MRI lumbar spine", "LSPINE")),
}
ORDER_STATUSES = ("SCHEDULED", "IN_PROGRESS", "COMPLETED", "CANCELLED")


def fmt_ts(value: datetime, version: str) -> str:
    """v1 writes `2026-03-02 08:15:00` (MariaDB DATETIME), v2 ISO `2026-03-02T08:15:00`."""
    return value.strftime("%Y-%m-%d %H:%M:%S" if version == "v1" else "%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class Station:
    name: str
    ae_title: str
    manufacturer: str
    model: str
    serial: str
    department: str
    modality: str


@dataclass
class DicomSpec:
    """Everything one .dcm file needs; the generator turns it into bytes and fills `file_size`."""

    patient: Patient
    study_uid: str
    series_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    modality: str
    study_datetime: datetime
    accession_number: str
    study_description: str
    referring_physician: str
    series_number: int
    instance_number: int
    laterality: str
    body_part: str
    station: Station
    institution: str
    seed: int  # pixel noise seed


@dataclass
class PacsDay:
    """One day's canonical PACS rows (values already formatted as text) and its DICOM files."""

    rows: dict[str, list[dict[str, str]]] = field(default_factory=lambda: {t: [] for t in TABLES})
    dicoms: list[DicomSpec] = field(default_factory=list)


class PacsSite:
    """The PACS of one site: fixed stations and counters, then one `day()` call per drop date."""

    def __init__(self, seed: int, site: SiteSpec, pool: PatientPool):
        self.seed = seed
        self.site = site
        self.pool = pool
        self.version = site.pacs_version
        rng = stream(seed, site.code, "pacs", "setup")
        self.stations: list[Station] = []
        eye = [d for d in EYE_DEVICES if d[0] == "OP"], [d for d in EYE_DEVICES if d[0] == "OPT"]
        devices = [*rng.sample(eye[0], 2), *rng.sample(eye[1], 2)]
        devices += [rng.choice(RADIOLOGY_DEVICES[:2]), rng.choice(RADIOLOGY_DEVICES[2:])]
        counters: dict[str, int] = {}
        for modality, kind, manufacturer, model in devices:
            counters[kind] = counters.get(kind, 0) + 1
            name = f"{site.prefix}_{kind}{counters[kind]:02d}"
            department = "Radiology" if modality in ("CT", "MR") else rng.choice(EYE_DEPARTMENTS)
            self.stations.append(
                Station(
                    name,
                    name.upper()[:16],
                    manufacturer,
                    model,
                    f"{rng.randint(100000, 999999)}",
                    department,
                    modality,
                )
            )
        fake = Faker(site.locale)
        fake.seed_instance(rng.getrandbits(32))
        self.physicians = [f"{fake.last_name()}^{fake.first_name()}" for _ in range(6)]
        self.seen: set[str] = set()
        self.order_no = 0
        self.accession_no = 0

    def day(self, index: int, day: date) -> PacsDay:
        rng = stream(self.seed, self.site.code, "pacs", day.isoformat())
        out = PacsDay()
        v = self.version
        if index == 0:
            opened = datetime.combine(day, time(7, 0))
            for s in self.stations:
                out.rows["stations"].append(
                    {
                        "station_name": s.name,
                        "ae_title": s.ae_title,
                        "manufacturer": s.manufacturer,
                        "model": s.model,
                        "device_serial": s.serial,
                        "department": s.department,
                        "modality": s.modality,
                        "modified_at": fmt_ts(opened, v),
                    }
                )
        eye_stations = [s for s in self.stations if s.modality in ("OP", "OPT")]
        rad_stations = [s for s in self.stations if s.modality in ("CT", "MR")]
        n_studies = rng.randint(3, 6)
        starts = sorted(rng.randint(8 * 60, 17 * 60 + 30) for _ in range(n_studies))
        for i, minute in enumerate(starts):
            # The very first study of a site registers the pool's first (accent-named) patient.
            patient = self.pool.new() if index == 0 and i == 0 else self.pool.pick(rng, new_share=0.6)
            station = rng.choice(eye_stations if rng.random() < self.site.eye_share else rad_stations)
            self._study(rng, out, patient, station, datetime.combine(day, time(minute // 60, minute % 60)))
        if rng.random() < 0.5:
            self._open_order(rng, out, day)
        return out

    def _study(
        self, rng: random.Random, out: PacsDay, patient: Patient, station: Station, start: datetime
    ) -> None:
        v = self.version
        self._register(out, patient, start - timedelta(minutes=rng.randint(5, 40)))
        modality = station.modality
        description, body_part = rng.choice(STUDY_KINDS[modality])
        self.accession_no += 1
        accession = f"{self.site.prefix}{start:%y%m%d}{self.accession_no:05d}"
        study_uid = make_uid(rng)
        physician = rng.choice(self.physicians)
        done = start + timedelta(minutes=rng.randint(10, 45))
        out.rows["studies"].append(
            {
                "study_uid": study_uid,
                "patient_id": patient.chi,
                "study_date": start.date().isoformat(),
                "accession_number": accession,
                "study_description": description,
                "modality": modality,
                "referring_physician": physician,
                "modified_at": fmt_ts(done, v),
            }
        )
        self.order_no += 1
        out.rows["orders"].append(
            {
                "order_id": f"ORD{self.site.prefix}{self.order_no:07d}",
                "patient_id": patient.chi,
                "study_uid": study_uid,
                "order_type": rng.choices(("STUDY", "CONSULT", "REFERRAL"), weights=(70, 15, 15))[0],
                "status": "COMPLETED",
                "created_at": fmt_ts(
                    start - timedelta(days=rng.randint(0, 21), minutes=rng.randint(30, 600)), v
                ),
                "modified_at": fmt_ts(done, v),
            }
        )
        eye = modality in ("OP", "OPT")
        n_series = rng.randint(1, 2)
        sides = ["R", "L"] if n_series == 2 else [rng.choice("RL")]
        for number in range(1, n_series + 1):
            series_uid = make_uid(rng)
            laterality = sides[number - 1] if eye else ""
            out.rows["series"].append(
                {
                    "series_uid": series_uid,
                    "study_uid": study_uid,
                    "series_number": str(number),
                    "modality": modality,
                    "body_part": body_part,
                    "laterality": laterality,
                    "station_name": station.name,
                    "department": station.department,
                    "institution": self.site.name,
                    "modified_at": fmt_ts(done, v),
                }
            )
            for inst in range(1, rng.randint(1, 3) + 1):
                sop_uid = make_uid(rng)
                out.rows["instances"].append(
                    {
                        "sop_instance_uid": sop_uid,
                        "series_uid": series_uid,
                        "sop_class_uid": SOP_CLASSES[modality],
                        "instance_number": str(inst),
                        "file_size": "",  # filled in once the .dcm bytes exist
                        "transfer_syntax": EXPLICIT_VR_LITTLE_ENDIAN,
                        "modified_at": fmt_ts(done, v),
                    }
                )
                out.dicoms.append(
                    DicomSpec(
                        patient=patient,
                        study_uid=study_uid,
                        series_uid=series_uid,
                        sop_instance_uid=sop_uid,
                        sop_class_uid=SOP_CLASSES[modality],
                        modality=modality,
                        study_datetime=start,
                        accession_number=accession,
                        study_description=description,
                        referring_physician=physician,
                        series_number=number,
                        instance_number=inst,
                        laterality=laterality,
                        body_part=body_part,
                        station=station,
                        institution=self.site.name,
                        seed=rng.getrandbits(32),
                    )
                )

    def _register(self, out: PacsDay, patient: Patient, when: datetime) -> None:
        """A patient enters the patients extract on the day the PACS first sees them."""
        if patient.chi in self.seen:
            return
        self.seen.add(patient.chi)
        out.rows["patients"].append(
            {
                "patient_id": patient.chi,
                "patient_name": patient.pn,
                "birth_date": patient.birth_date.isoformat(),
                "sex": patient.sex,
                "modified_at": fmt_ts(when, self.version),
            }
        )

    def _open_order(self, rng: random.Random, out: PacsDay, day: date) -> None:
        """An order placed today for a later appointment: no study yet."""
        patient = self.pool.pick(rng, new_share=0.3)
        created = datetime.combine(day, time(rng.randint(8, 17), rng.randint(0, 59)))
        self._register(out, patient, created)
        self.order_no += 1
        out.rows["orders"].append(
            {
                "order_id": f"ORD{self.site.prefix}{self.order_no:07d}",
                "patient_id": patient.chi,
                "study_uid": "",
                "order_type": rng.choice(("CONSULT", "REFERRAL")),
                "status": "SCHEDULED",
                "created_at": fmt_ts(created, self.version),
                "modified_at": fmt_ts(created, self.version),
            }
        )


def header(table: str, version: str) -> list[tuple[str, str]]:
    """(canonical, source header) pairs of one PACS table in one version, in file order."""
    position = 1 if version == "v1" else 2
    return [(row[0], row[position]) for row in HEADERS[table] if row[position] is not None]
