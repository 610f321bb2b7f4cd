"""Identifiers: CHI-style patient numbers, DICOM UIDs, MongoDB ObjectIds and seeded RNG streams.

Why here: every identifier must be reproducible from the seed alone (no wall clock, no uuid4), and the
same person must carry the same CHI number in the PACS, EHR and HIS extracts of a site.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

UID_ROOT = "2.25."
# Fixed so files are byte-identical across pydicom versions (pydicom would otherwise stamp its own).
IMPLEMENTATION_CLASS_UID = "2.25.177343206713541640355283461907395561583"
IMPLEMENTATION_VERSION_NAME = "MEDVAULT_SYNTH"


def stream(seed: int, *parts: object) -> random.Random:
    """An independent RNG for one purpose (site, day, system...). String seeds hash with SHA-512, so the
    stream is the same in every process regardless of PYTHONHASHSEED."""
    return random.Random(":".join([str(seed), *(str(p) for p in parts)]))


def chi_check_digit(first9: str) -> int | None:
    """Modulus-11 check digit of a CHI number, or None when the 9 digits have no valid check digit."""
    total = sum(int(d) * w for d, w in zip(first9, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def is_valid_chi(chi: str) -> bool:
    if len(chi) != 10 or not chi.isdigit():
        return False
    try:
        datetime.strptime(chi[:6], "%d%m%y")
    except ValueError:
        return False
    return chi_check_digit(chi[:9]) == int(chi[9])


def make_chi(rng: random.Random, birth_date: date, sex: str) -> str:
    """DDMMYY + 2 serial digits + a sex digit (odd male, even female) + the modulus-11 check digit."""
    while True:
        serial = rng.randint(0, 99)
        if sex == "M":
            sex_digit = rng.choice((1, 3, 5, 7, 9))
        elif sex == "F":
            sex_digit = rng.choice((0, 2, 4, 6, 8))
        else:
            sex_digit = rng.randint(0, 9)
        first9 = f"{birth_date:%d%m%y}{serial:02d}{sex_digit}"
        check = chi_check_digit(first9)
        if check is not None:
            return first9 + str(check)


def make_uid(rng: random.Random) -> str:
    """A DICOM UID under the UUID-derived root 2.25 (at most 44 characters)."""
    return f"{UID_ROOT}{rng.getrandbits(128)}"


def make_oid(rng: random.Random, created: datetime) -> str:
    """A MongoDB ObjectId: 4-byte creation time, 5 random bytes, 3-byte counter, as 24 hex digits."""
    seconds = int(created.replace(tzinfo=UTC).timestamp())
    return f"{seconds:08x}{rng.getrandbits(40):010x}{rng.getrandbits(24):06x}"
