"""SQLite storage: connection setup, migrations, and the job repository."""

from drayman.storage.database import open_database
from drayman.storage.migrations import LATEST_VERSION
from drayman.storage.repository import JobStore, Runnable, SegmentRecord

__all__ = ["LATEST_VERSION", "JobStore", "Runnable", "SegmentRecord", "open_database"]
