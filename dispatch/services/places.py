"""A run's commit claims its places: slot id -> places (a party's people), in one conditional UPDATE."""

from django.db import connection

from sessions.models import Slot
from sessions.signals import slot_places_changed


def places_claim_bulk(wanted: dict[int, int]) -> None:
    """Conditional UPDATE of every slot in one statement; all-or-nothing (the rows are locked by the caller)."""
    # bench/assign.py: the whole run with its commit in 22-23 s for 100,000 volunteers (BENCHMARKS.md "Assignment"):
    # one conditional UPDATE for every slot, where the ORM needs one per slot.
    table = Slot._meta.db_table
    if connection.vendor != "postgresql":  # SQLite has no column aliases on VALUES: a statement per slot
        changed = 0
        with connection.cursor() as cursor:
            for slot_id, n in wanted.items():
                cursor.execute(f"UPDATE {table} SET confirmed_count = confirmed_count + %s "  # noqa: S608
                               "WHERE id = %s AND confirmed_count + %s <= capacity", [n, slot_id, n])
                changed += cursor.rowcount
        if changed != len(wanted):
            raise RuntimeError("a slot changed under its lock; the chunk is rolled back and will be retried")
        slot_places_changed.send(sender=Slot, slot_ids=list(wanted))
        return
    values = ", ".join(["(%s, %s)"] * len(wanted))
    params = [x for pair in wanted.items() for x in pair]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS s SET confirmed_count = s.confirmed_count + w.n "  # noqa: S608 - no user input
            f"FROM (VALUES {values}) AS w(id, n) WHERE s.id = w.id AND s.confirmed_count + w.n <= s.capacity",
            params,
        )
        if cursor.rowcount != len(wanted):
            raise RuntimeError("a slot changed under its lock; the chunk is rolled back and will be retried")
    slot_places_changed.send(sender=Slot, slot_ids=list(wanted))
