"""DICOM Part 10 files for the instances of the PACS extract.

Why synthesized: there are no public eye-care (OP/OPT) samples, and the files must agree exactly with
the PACS rows (UIDs, patient, station, laterality) and carry real SOP classes, a preamble + `DICM`,
Explicit VR Little Endian file meta, and pixel data whose length matches the image attributes.
"""

from __future__ import annotations

from io import BytesIO

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from medvault.synth.ids import IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME
from medvault.synth.pacs import DicomSpec

SMALL = 16
REALISTIC = 512


def _pixels(spec: DicomSpec, size: int) -> tuple[np.ndarray, dict]:
    """A plausible image: a bright disc (fundus), layered bands (OCT) or a noisy slice (CT/MR)."""
    gen = np.random.default_rng(spec.seed)
    yy, xx = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    noise = gen.normal(0.0, 0.05, (size, size))
    if spec.modality == "OP":
        disc = np.clip(1.0 - np.hypot(xx - 0.5, yy - 0.5) * 2.2, 0, 1) + noise
        rgb = np.stack([disc * 230, disc * 110, disc * 40], axis=-1)
        arr = np.clip(rgb, 0, 255).astype(np.uint8)
        attrs = {
            "SamplesPerPixel": 3,
            "PhotometricInterpretation": "RGB",
            "PlanarConfiguration": 0,
            "BitsAllocated": 8,
        }
    elif spec.modality == "OPT":
        bands = 0.5 + 0.4 * np.sin(yy * 18 + np.sin(xx * 6) * 0.8) + noise
        arr = np.clip(bands * 255, 0, 255).astype(np.uint8)
        attrs = {"SamplesPerPixel": 1, "PhotometricInterpretation": "MONOCHROME2", "BitsAllocated": 8}
    else:
        body = np.clip(1.0 - np.hypot(xx - 0.5, yy - 0.5) * 2.0, 0, 1)
        arr = (body * 1400 + noise * 400).astype("<u2")
        attrs = {"SamplesPerPixel": 1, "PhotometricInterpretation": "MONOCHROME2", "BitsAllocated": 16}
    return arr, attrs


def header_dataset(
    spec: DicomSpec,
    *,
    sop_class_uid: str | None = None,
    modality: str | None = None,
    laterality: str | None = None,
) -> Dataset:
    """The instance's File Meta and every header element but the image's (the benchmark builds its own
    image sizes on it); `sop_class_uid`, `modality` and `laterality` default to the spec's."""
    sop_class_uid = sop_class_uid or spec.sop_class_uid
    laterality = spec.laterality if laterality is None else laterality
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class_uid
    meta.MediaStorageSOPInstanceUID = spec.sop_instance_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME

    ds = Dataset()
    ds.file_meta = meta
    ds.preamble = b"\x00" * 128
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop_class_uid
    ds.SOPInstanceUID = spec.sop_instance_uid
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = spec.study_datetime.strftime("%Y%m%d")
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = spec.study_datetime.strftime("%H%M%S")
    ds.AccessionNumber = spec.accession_number
    ds.Modality = modality or spec.modality
    ds.Manufacturer = spec.station.manufacturer
    ds.InstitutionName = spec.institution
    ds.ReferringPhysicianName = spec.referring_physician
    ds.StationName = spec.station.name
    ds.StudyDescription = spec.study_description
    ds.InstitutionalDepartmentName = spec.station.department
    ds.ManufacturerModelName = spec.station.model
    ds.PatientName = spec.patient.pn
    ds.PatientID = spec.patient.chi
    ds.PatientBirthDate = spec.patient.birth_date.strftime("%Y%m%d")
    ds.PatientSex = spec.patient.sex
    ds.BodyPartExamined = spec.body_part
    ds.DeviceSerialNumber = spec.station.serial
    ds.StudyInstanceUID = spec.study_uid
    ds.SeriesInstanceUID = spec.series_uid
    ds.StudyID = spec.accession_number[-8:]
    ds.SeriesNumber = spec.series_number
    ds.InstanceNumber = spec.instance_number
    if laterality:
        ds.Laterality = laterality
        ds.ImageLaterality = laterality
    return ds


def dicom_bytes(spec: DicomSpec, realistic_pixels: bool = False) -> bytes:
    """The complete .dcm file for one instance (deterministic: no timestamps, fixed implementation UID)."""
    ds = header_dataset(spec)
    arr, attrs = _pixels(spec, REALISTIC if realistic_pixels else SMALL)
    ds.SamplesPerPixel = attrs["SamplesPerPixel"]
    ds.PhotometricInterpretation = attrs["PhotometricInterpretation"]
    if "PlanarConfiguration" in attrs:
        ds.PlanarConfiguration = attrs["PlanarConfiguration"]
    ds.Rows, ds.Columns = arr.shape[0], arr.shape[1]
    ds.BitsAllocated = ds.BitsStored = attrs["BitsAllocated"]
    ds.HighBit = attrs["BitsAllocated"] - 1
    ds.PixelRepresentation = 0
    if spec.modality == "CT":
        ds.RescaleIntercept = -1024
        ds.RescaleSlope = 1
    ds.PixelData = arr.tobytes()

    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
