"""Thin Celery tasks over volunteers.services; every task is safe to run twice."""

from celery import shared_task

from volunteers import services


@shared_task(name="volunteers.booking_event_process", acks_late=True, time_limit=120, soft_time_limit=100)
def booking_event_process(event_id: int) -> bool:
    return services.booking_event_dispatch(event_id=event_id)


@shared_task(name="volunteers.booking_events_process", acks_late=True, time_limit=300, soft_time_limit=280)
def booking_events_process(event_ids: list[int]) -> int:
    """A batch of events recorded together (assignment commits), dispatched one by one."""
    return sum(services.booking_event_dispatch(event_id=event_id) for event_id in event_ids)


@shared_task(name="volunteers.booking_event_sweep", time_limit=300, soft_time_limit=280)
def booking_event_sweep() -> int:
    return services.booking_events_requeue_stale()


@shared_task(name="volunteers.waitlist_promote", acks_late=True, time_limit=120, soft_time_limit=100)
def waitlist_promote(slot_id: int) -> int:
    return len(services.booking_waitlist_promote(slot_id=slot_id))


@shared_task(name="volunteers.personal_data_purge", time_limit=3600, soft_time_limit=3500)
def personal_data_purge() -> int:
    """Anonymise volunteers past PERSONAL_DATA_RETENTION_DAYS (volunteers.privacy); a second run finds nobody."""
    from volunteers.privacy import personal_data_purge as purge

    return purge()


@shared_task(name="volunteers.bookings_release_unproven", time_limit=280, soft_time_limit=250)
def bookings_release_unproven() -> int:
    """Beat: release bookings whose phone was never proven (one effect however often it runs)."""
    return services.bookings_release_unproven()


@shared_task(name="volunteers.offers_lapse", time_limit=280, soft_time_limit=250)
def offers_lapse() -> int:
    """Beat: end the waitlist offers not taken in time and offer each place to the next waiter (one effect however
    often it runs: volunteers.confirmations)."""
    from volunteers.confirmations import bookings_offers_lapse

    return bookings_offers_lapse()


@shared_task(name="volunteers.slots_overbook_refresh", time_limit=600, soft_time_limit=570)
def slots_overbook_refresh() -> int:
    """Hourly: upcoming slots' over-booking follows their seats' setting and the latest turnout (volunteers.turnout)."""
    from volunteers.turnout import slots_overbook_refresh as refresh

    return refresh()
