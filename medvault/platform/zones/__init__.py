"""Lake zones behind the ObjectStore interface: landing (fetched, not yet recorded), raw (immutable
accepted copies) and quarantine (rejected files with their reason). Any of them may live on S3 or SFTP."""

from medvault.platform.zones.files import local_file, safe_name, sha256_file
from medvault.platform.zones.landing import LandedFile, Landing, LandingArea
from medvault.platform.zones.quarantine import QuarantineZone
from medvault.platform.zones.raw import RawZone
from medvault.platform.zones.reason import Reason

__all__ = [
    "LandedFile",
    "Landing",
    "LandingArea",
    "QuarantineZone",
    "RawZone",
    "Reason",
    "local_file",
    "safe_name",
    "sha256_file",
]
