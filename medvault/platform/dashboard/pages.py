"""What the dashboard shows: its subject areas (seed 003) and, on each, the charts over which mart.

A chart reads one dataset (a mart, or the pipeline's own counts), sums `y` over the selected sites per
`x`, and draws bars or a line; `when` names the date column the date-range filter applies to.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    dataset: str
    kind: str  # bar | line | table
    x: str = ""
    y: tuple[str, ...] = ()
    when: str = ""  # the date column the date range filters on ("" : not filtered by date)
    label: str = ""  # the x column shown (e.g. Mon-YYYY for a month_start x)
    ordered: bool = False  # x in its own order (hours), not the largest first


@dataclass(frozen=True)
class Page:
    id: str
    title: str
    charts: tuple[Chart, ...]


PAGES = (
    Page(
        "imaging",
        "Imaging",
        (
            Chart(
                "exams",
                "Examinations per month (STUDY orders)",
                "examinations_per_month",
                "line",
                "month_start",
                ("TotalExams",),
                "month_start",
                "Month",
            ),
            Chart(
                "devices_series",
                "Series per device (display names)",
                "series_per_device",
                "bar",
                "device",
                ("series",),
            ),
            Chart(
                "descriptions",
                "Studies per description",
                "study_descriptions",
                "bar",
                "STUDY_DESC",
                ("COUNT",),
            ),
            Chart(
                "disk", "Disk space per department (MB)", "diskspace", "bar", "store_no", ("diskspace_MB",)
            ),
            Chart(
                "devices",
                "Device usage",
                "device_usage",
                "table",
                "station_name",
                ("manufacturer", "model", "modality", "series", "images"),
            ),
        ),
    ),
    Page(
        "clinical",
        "Clinical",
        (
            Chart(
                "admissions",
                "Admissions per month",
                "admissions_per_month",
                "line",
                "month_start",
                ("admissions",),
                "month_start",
                "Month",
            ),
            Chart(
                "conditions",
                "Admissions by ICD-10 chapter of the main condition",
                "top_conditions",
                "bar",
                "title",
                ("admissions",),
            ),
        ),
    ),
    Page(
        "operations",
        "Hospital operations",
        (
            Chart(
                "appointments",
                "Appointments per month: booked, attended, no-show",
                "appointments_per_month",
                "bar",
                "month_start",
                ("booked", "attended", "no_show"),
                "month_start",
                "Month",
            ),
            Chart(
                "billing",
                "Billed amount per month",
                "billing_per_month",
                "line",
                "month_start",
                ("total_amount",),
                "month_start",
                "Month",
            ),
            Chart(
                "beds",
                "Beds occupied per day",
                "bed_occupancy",
                "line",
                "day",
                ("occupied",),
                "day",
            ),
            Chart(
                "lab",
                "Lab orders and results per month",
                "lab_turnaround",
                "bar",
                "month_start",
                ("orders", "resulted"),
                "month_start",
                "Month",
            ),
            Chart(
                "hours",
                "Appointments by hour of the day (each site's local time)",
                "appointments_by_hour",
                "bar",
                "hour",
                ("booked", "attended", "no_show"),
                ordered=True,
            ),
        ),
    ),
    Page(
        "pipeline",
        "Pipeline health",
        (
            Chart(
                "files",
                "Files per drop day: loaded, quarantined",
                "files_by_day",
                "bar",
                "date",
                ("loaded", "quarantined", "received"),
                "date",
            ),
            Chart(
                "no_data",
                "Days without a drop (seed 000's no-data report)",
                "no_data_days",
                "table",
                "date",
                ("weekday", "reason"),
            ),
            Chart(
                "freshness",
                "Freshness per site",
                "freshness",
                "table",
                "site",
                ("newest_drop", "last_file_received"),
            ),
        ),
    ),
)
