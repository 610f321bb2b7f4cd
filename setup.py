"""The optional C extension of the DICOM header walker (medvault/platform/dicom/_walk.c, docs/dicom.md).

Everything else is in pyproject.toml; an extension declared there is still experimental in setuptools.
Optional: an install without a C compiler succeeds, and medvault reads headers with the pure-Python walker.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("medvault.platform.dicom._walk", ["medvault/platform/dicom/_walk.c"], optional=True),
    ]
)
