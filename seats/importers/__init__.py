"""Bulk imports of the reference geography: seats and their neighbours, postcodes, postcode districts.

Plain functions behind the import_seats and import_postcodes commands. Each import runs in one
transaction, is idempotent (a re-import updates rows, never duplicates them) and returns an
ImportReport that counts what happened and says why rows were rejected.
"""

from seats.importers.common import ImportRejected, ImportReport, shared_data_dir
from seats.importers.postcodes import (
    districts_from_postcodes,
    districts_import,
    postcode_fast_normalise,
    postcode_file_kind,
    postcodes_import,
)
from seats.importers.seats import election_year_from_name, seats_import

__all__ = [
    "ImportRejected", "ImportReport", "districts_from_postcodes", "districts_import", "election_year_from_name",
    "postcode_fast_normalise", "postcode_file_kind", "postcodes_import", "seats_import", "shared_data_dir",
]
