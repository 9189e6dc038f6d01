"""Run tables: HDF5 files of configs x seeds x epochs (see docs/run-table-format.md)."""

from .runtable import (
    DEFAULT_METRICS,
    SCHEMA,
    SCHEMA_VERSION,
    STATUSES,
    Run,
    RunTable,
    RunTableWriter,
    config_id,
    default_provenance,
    write_table,
)

__all__ = ["DEFAULT_METRICS", "SCHEMA", "SCHEMA_VERSION", "STATUSES", "Run", "RunTable",
           "RunTableWriter", "config_id", "default_provenance", "write_table"]
