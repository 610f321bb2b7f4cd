"""The HIS extract (system `karexpert_his`): a MongoDB export in extended JSON, one document a line.

Why the drift: the case study this follows found amounts stored as `$numberLong` in some documents and
plain numbers in others, lab tests as strings in some and as objects in others, and slightly different
names for one facility id. The generator reproduces each so the reader's harmonisation is exercised.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from medvault.synth.ids import make_oid, stream
from medvault.synth.people import PatientPool
from medvault.synth.sites import SiteSpec

SYSTEM = "karexpert_his"
VERSION = "v1"
TABLES = ("appointments", "beds", "bills", "lab_orders")
CHILDREN = {"bills": ("bill_items", "items"), "lab_orders": ("lab_order_tests", "tests")}
DEPARTMENTS = ("Ophthalmology", "Ophthalmology", "Radiology", "Outpatients", "Diabetology")
APPOINTMENT_OUTCOMES = ("completed", "no_show", "cancelled")
BILL_ITEMS = (
    ("CONS01", "Consultation", 85.0),
    ("OCT01", "OCT scan", 120.0),
    ("FUN01", "Fundus photography", 60.0),
    ("CT01", "CT scan", 350.0),
    ("MR01", "MRI scan", 520.0),
    ("LAB01", "Blood panel", 45.5),
    ("PHA01", "Eye drops", 12.75),
    ("BED01", "Bed day", 400.0),
)
LAB_TESTS = (
    ("FBC", "Full blood count"),
    ("HBA1C", "Haemoglobin A1c"),
    ("UE", "Urea and electrolytes"),
    ("LFT", "Liver function tests"),
    ("CRP", "C-reactive protein"),
    ("LIPID", "Lipid profile"),
)
CURRENCIES = {"GB": "GBP", "NO": "NOK", "SE": "SEK"}


def mongo_date(value: datetime) -> dict:
    return {"$date": value.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _clock(rng: random.Random, day: date, first: int = 8, last: int = 18) -> datetime:
    return datetime.combine(day, time(rng.randint(first, last - 1), rng.randint(0, 59), rng.randint(0, 59)))


class HisSite:
    def __init__(self, seed: int, site: SiteSpec, pool: PatientPool, start: date):
        self.seed = seed
        self.site = site
        self.pool = pool
        rng = stream(seed, site.code, "his", "setup")
        self.currency = CURRENCIES.get(site.country, "EUR")
        main = site.name
        variant = main.replace("Centre", "Center") if "Centre" in main else main.upper()
        self.facilities = [
            {"id": f"{site.prefix}-F01", "name": main, "variant": variant},
            {"id": f"{site.prefix}-F02", "name": f"{main} Outpatients", "variant": f"{main} Out-Patients"},
        ]
        self.doctors = [f"DR{rng.randint(1000, 9999)}" for _ in range(5)]
        created = datetime.combine(start, time(6, 0))
        self.beds = []
        for ward in ("Ward 1", "Day Surgery"):
            for n in range(1, 5):
                self.beds.append(
                    {
                        "_id": {"$oid": make_oid(rng, created)},
                        "ward": ward,
                        "bedNumber": f"{ward[0]}{ward[-1]}-{n:02d}",
                        "status": "available",
                        "patientId": None,
                    }
                )
        self.pending: list[dict] = []  # appointments scheduled for a later day

    def _facility(self, rng: random.Random, main_only: bool = False) -> dict:
        fac = self.facilities[0] if main_only or rng.random() < 0.7 else self.facilities[1]
        # About one document in twelve spells the facility differently (a known data-quality issue).
        name = fac["variant"] if rng.random() < 0.08 else fac["name"]
        return {"id": fac["id"], "name": name}

    def _amount(self, value: float, as_long: bool):
        return {"$numberLong": str(round(value))} if as_long else value

    def day(self, index: int, day: date) -> dict[str, list[dict]]:
        rng = stream(self.seed, self.site.code, "his", day.isoformat())
        docs: dict[str, list[dict]] = {t: [] for t in TABLES}
        # Appointments scheduled for today come back with their outcome (an update of an older document).
        due = [a for a in self.pending if a["scheduledAt"]["$date"].startswith(day.isoformat())]
        self.pending = [a for a in self.pending if a not in due]
        for appt in due:
            when = datetime.strptime(appt["scheduledAt"]["$date"], "%Y-%m-%dT%H:%M:%SZ") + timedelta(
                minutes=40
            )
            docs["appointments"].append(
                {
                    **appt,
                    "status": rng.choices(APPOINTMENT_OUTCOMES, weights=(85, 10, 5))[0],
                    "updatedAt": mongo_date(when),
                }
            )
        for _ in range(rng.randint(3, 7)):
            created = _clock(rng, day)
            ahead = rng.choice((0, 0, 1, 2, 3, 5))
            scheduled = datetime.combine(
                day + timedelta(days=ahead), time(rng.randint(8, 16), rng.choice((0, 15, 30, 45)))
            )
            if ahead == 0 and scheduled < created:
                scheduled = created + timedelta(minutes=30)
            doc = {
                "_id": {"$oid": make_oid(rng, created)},
                "patientId": self.pool.pick(rng, new_share=0.3).chi,
                "facility": self._facility(rng),
                "department": rng.choice(DEPARTMENTS),
                "doctorId": rng.choice(self.doctors),
                "scheduledAt": mongo_date(scheduled),
                "status": "scheduled",
                "createdAt": mongo_date(created),
                "updatedAt": mongo_date(created),
            }
            if ahead == 0:
                doc["status"] = "completed"
                doc["updatedAt"] = mongo_date(max(scheduled, created) + timedelta(minutes=40))
            else:
                self.pending.append(doc)
            docs["appointments"].append(doc)
        changed = self.beds if index == 0 else rng.sample(self.beds, rng.randint(1, 3))
        for bed in self.beds:
            if bed not in changed:
                continue
            if index > 0 or rng.random() < 0.5:
                occupied = bed["status"] != "occupied" and rng.random() < 0.7
                bed["status"] = "occupied" if occupied else rng.choice(("available", "cleaning"))
                bed["patientId"] = self.pool.pick(rng, new_share=0.3).chi if occupied else None
            docs["beds"].append(
                {
                    "_id": bed["_id"],
                    "facility": self._facility(rng, main_only=True),
                    "ward": bed["ward"],
                    "bedNumber": bed["bedNumber"],
                    "status": bed["status"],
                    "patientId": bed["patientId"],
                    "updatedAt": mongo_date(_clock(rng, day, 6, 22)),
                }
            )
        for _ in range(rng.randint(2, 5)):
            created = _clock(rng, day, 9, 19)
            as_long = rng.random() < 0.4
            items = []
            for code, description, price in rng.sample(BILL_ITEMS, rng.randint(1, 4)):
                quantity = rng.randint(1, 3) if code in ("PHA01", "BED01") else 1
                amount = float(round(price)) if as_long else price
                items.append(
                    {
                        "code": code,
                        "description": description,
                        "amount": self._amount(amount, as_long),
                        "quantity": quantity,
                    }
                )
            total = sum(
                (float(i["amount"]["$numberLong"]) if as_long else i["amount"]) * i["quantity"] for i in items
            )
            docs["bills"].append(
                {
                    "_id": {"$oid": make_oid(rng, created)},
                    "patientId": self.pool.pick(rng, new_share=0.2).chi,
                    "facility": self._facility(rng),
                    "totalAmount": self._amount(total, as_long),
                    "currency": self.currency,
                    "items": items,
                    "createdAt": mongo_date(created),
                    "updatedAt": mongo_date(created + timedelta(minutes=rng.randint(0, 90))),
                }
            )
        for _ in range(rng.randint(1, 4)):
            ordered = _clock(rng, day)
            tests = rng.sample(LAB_TESTS, rng.randint(1, 3))
            as_strings = rng.random() < 0.5
            docs["lab_orders"].append(
                {
                    "_id": {"$oid": make_oid(rng, ordered)},
                    "patientId": self.pool.pick(rng, new_share=0.2).chi,
                    "facility": self._facility(rng),
                    "orderedAt": mongo_date(ordered),
                    "status": rng.choice(("ordered", "collected", "resulted")),
                    "tests": [code for code, _ in tests]
                    if as_strings
                    else [{"code": c, "name": n} for c, n in tests],
                    "updatedAt": mongo_date(ordered + timedelta(minutes=rng.randint(5, 240))),
                }
            )
        return docs
