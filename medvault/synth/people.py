"""The patients of one site: demographics drawn once and shared by the site's PACS, EHR and HIS.

Why a pool: the vault links a person across systems by CHI number, so every system of a site must draw
its patients from the same list. Names come from Faker in the site's locale, with a minority from a
second locale whose accented names are latin-1 encodable (they exercise UTF-8 and latin-1 handling).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from faker import Faker

from medvault.synth.ids import make_chi, stream
from medvault.synth.sites import SiteSpec

ETHNIC_GROUPS = ("1A", "1A", "1A", "1B", "1C", "1K", "1L", "2A", "3F", "3G", "4D", "6A", "98", "99")
MARITAL_STATUSES = ("A", "B", "B", "C", "D", "E", "X")
FALLBACK_ACCENTED = ("Núñez", "José")


def is_accented_latin1(text: str) -> bool:
    """True when the text has non-ASCII characters that all exist in latin-1."""
    if text.isascii():
        return False
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class Patient:
    chi: str
    family_name: str
    given_name: str
    sex: str  # M, F, O, U
    birth_date: date
    postcode: str
    ethnic_group: str
    marital_status: str

    @property
    def pn(self) -> str:
        """DICOM person name form, as PACS databases store it: Family^Given."""
        return f"{self.family_name}^{self.given_name}"

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


class PatientPool:
    """Creates a site's patients in a fixed order; `new()` always returns the next one."""

    def __init__(self, seed: int, site: SiteSpec, reference: date):
        self.site = site
        self.reference = reference
        self.rng = stream(seed, site.code, "patients")
        self.fake = Faker(site.locale)
        self.fake.seed_instance(self.rng.getrandbits(32))
        self.fake2 = Faker(site.second_locale)
        self.fake2.seed_instance(self.rng.getrandbits(32))
        self.patients: list[Patient] = []
        self._chis: set[str] = set()

    def _name(self, fake: Faker, sex: str, accented: bool) -> tuple[str, str]:
        for _ in range(200):
            given = fake.first_name_male() if sex == "M" else fake.first_name_female()
            family = fake.last_name()
            text = given + family
            if is_accented_latin1(text) or (not accented and text.isascii()):
                return family, given
        return FALLBACK_ACCENTED

    def new(self) -> Patient:
        rng = self.rng
        sex = rng.choices(("M", "F", "O", "U"), weights=(48, 50, 1, 1))[0]
        age = rng.choices(
            (rng.randint(0, 17), rng.randint(18, 49), rng.randint(50, 69), rng.randint(70, 96)),
            weights=(8, 22, 35, 35),
        )[0]
        birth = self.reference - timedelta(days=age * 365 + rng.randint(0, 364))
        # The first patient of every site has an accented name, so every run has non-ASCII names.
        first = not self.patients
        use_second = first or rng.random() < 0.12
        family, given = self._name(self.fake2 if use_second else self.fake, sex, accented=first)
        while True:
            chi = make_chi(rng, birth, sex)
            if chi not in self._chis:
                break
        self._chis.add(chi)
        patient = Patient(
            chi=chi,
            family_name=family,
            given_name=given,
            sex=sex,
            birth_date=birth,
            postcode=self.fake.postcode(),
            ethnic_group=rng.choice(ETHNIC_GROUPS),
            marital_status=rng.choice(MARITAL_STATUSES) if age >= 16 else "A",
        )
        self.patients.append(patient)
        return patient

    def pick(self, rng: random.Random, new_share: float) -> Patient:
        """A returning patient, or (with probability `new_share`, or when the pool is empty) a new one."""
        if not self.patients or rng.random() < new_share:
            return self.new()
        return rng.choice(self.patients)
