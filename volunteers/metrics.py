"""What /metrics reads of volunteers at each scrape (core.metrics.state_reader_register)."""

from datetime import datetime


def booking_events_gauges(now: datetime) -> list:
    """The age of the oldest booking event whose handlers have not finished (0 when none)."""
    from django.db.models import Min
    from prometheus_client.core import GaugeMetricFamily

    from volunteers.models import BookingEvent

    oldest = BookingEvent.objects.filter(processed_at__isnull=True).aggregate(t=Min("created_at"))["t"]
    return [GaugeMetricFamily("frontroom_booking_events_oldest_unprocessed_age_seconds",
                              "Age of the oldest booking event whose handlers have not finished (0 when none).",
                              value=(now - oldest).total_seconds() if oldest else 0.0)]
