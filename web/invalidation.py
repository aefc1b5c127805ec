"""What drops cached pages (web.cache): the lower apps' events, turned into tag bumps once their change commits.

Places: sessions.signals.slot_places_changed (every booking, cancellation, promotion, approval, move and
assignment takes or gives back places through it), and any booking event (volunteers.events) for its slot. Edits: a saved or deleted session, slot or meeting point (a
host's edit, a cancellation, a new session) drops that session's pages and the lists (`catalogue`), where a new or
moved session may now appear. Bumps run after commit: a rolled-back booking drops nothing, and a page rendered
meanwhile is dropped too (web.cache compares the bump's time with the time its view started).
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from sessions.models import CanvassSession, MeetingPoint, Slot
from sessions.signals import slot_places_changed
from volunteers.events import booking_event_recorded
from web import cache


class _Bumps:
    """The tags a change drops, bumped once its transaction commits; `bumped` is shared by the callbacks of one
    transaction, so a tag another of them bumped in this commit's run is not sent again (a booking tells of its
    slot twice, its places and its event: two round trips to Redis, where one drops the same pages)."""

    def __init__(self, tags: set[str], bumped: set[str]):
        self.tags, self.bumped = tags, bumped

    def __call__(self) -> None:
        # Only in a commit's own run of its callbacks (outside any transaction): a test's captured callbacks run
        # inside the test's transaction, one change after another, and each must bump.
        deduplicate = not transaction.get_connection().in_atomic_block
        tags = self.tags - self.bumped if deduplicate else self.tags
        if tags and cache.bump(tags) and deduplicate:
            self.bumped |= tags


def _bump_on_commit(tags: set[str]) -> None:
    if not tags or not cache.enabled():
        return
    # Django keeps (savepoint ids, callback, robust) for each callback of the open transaction. A callback dropped
    # by a savepoint's rollback never runs, so it never marks a tag bumped.
    sibling = next((func for _, func, _ in transaction.get_connection().run_on_commit if isinstance(func, _Bumps)),
                   None)
    transaction.on_commit(_Bumps(tags, sibling.bumped if sibling is not None else set()))


def _places_changed(sender, slot_ids, **kwargs) -> None:
    _bump_on_commit({f"slot:{slot_id}" for slot_id in slot_ids})


def _booking_event(sender, event, **kwargs) -> None:
    """Any event of a booking (an approval, a refusal, a release): its slot's pages, whether or not places moved."""
    _bump_on_commit({f"slot:{event.booking.slot_id}"})


def _slot_saved(sender, instance, **kwargs) -> None:
    _bump_on_commit({f"slot:{instance.pk}", f"session:{instance.session_id}", cache.CATALOGUE})


def _session_saved(sender, instance, **kwargs) -> None:
    _bump_on_commit({f"session:{instance.pk}", cache.CATALOGUE})


def _meeting_point_saved(sender, instance, **kwargs) -> None:
    _bump_on_commit({cache.CATALOGUE})


def connect() -> None:
    slot_places_changed.connect(_places_changed, dispatch_uid="web.invalidation.places")
    booking_event_recorded.connect(_booking_event, dispatch_uid="web.invalidation.booking_event")
    for signal in (post_save, post_delete):
        signal.connect(_slot_saved, sender=Slot, dispatch_uid=f"web.invalidation.slot.{signal is post_save}")
        signal.connect(_session_saved, sender=CanvassSession,
                       dispatch_uid=f"web.invalidation.session.{signal is post_save}")
        signal.connect(_meeting_point_saved, sender=MeetingPoint,
                       dispatch_uid=f"web.invalidation.point.{signal is post_save}")
