"""A host's home: their sessions with the places taken, and their calendar feed."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from sessions.hosts import host_email_verified
from sessions.models import CanvassSession, MeetingPoint
from sessions.vetting import sessions_in_review
from volunteers import feeds
from volunteers.selectors import BookingCounts, Places, booking_counts_by_slot, places_by_slot, places_total

# ---- my sessions --------------------------------------------------------------------------------------------


@login_required
def home(request):
    now = timezone.now()
    mine = (CanvassSession.objects.filter(meeting_point__host=request.user)
            .select_related("meeting_point", "seat").prefetch_related("slots"))
    upcoming = mine.filter(ends_at__gt=now, status__in=(
        CanvassSession.Status.PUBLISHED, CanvassSession.Status.REVIEW, CanvassSession.Status.REFUSED,
    )).order_by("starts_at")
    recent = mine.filter(ends_at__lte=now, ends_at__gt=now - timedelta(days=30)).order_by("-starts_at")
    rooms = MeetingPoint.objects.filter(host=request.user).order_by("name")
    upcoming = list(upcoming)
    slot_ids = [slot.pk for session in upcoming for slot in session.slots.all()]
    places, counts = places_by_slot(slot_ids=slot_ids), booking_counts_by_slot(slot_ids=slot_ids)
    return render(request, "web/hosts/home.html", {
        "upcoming": [_with_places(session, places, counts) for session in upcoming],
        "recent": list(recent), "rooms": rooms, "feed_url": _feed_url(request.user),
        "email_unverified": not host_email_verified(host=request.user),
        "reviews_waiting": sessions_in_review(user=request.user).count(),
    })


def _feed_url(user) -> str | None:
    feed = feeds.calendar_feed_for(host=user)
    return feeds.feed_url(feed) if feed else None


@login_required
@require_POST
def calendar_feed(request):
    """Make the host's private calendar feed, or with reset=1 give it a new address (the old one stops)."""
    if request.POST.get("reset"):
        feeds.calendar_feed_reset(host=request.user)
        messages.success(request, _("Your calendar feed has a new address; the old one no longer works."))
    else:
        feeds.calendar_feed_ensure(host=request.user)
        messages.success(request, _("Here is your calendar feed: add it to your calendar app as a subscription."))
    return redirect(reverse("hosts:home") + "#calendar-feed")


def slots_when(slots) -> list[dict]:
    """The slots' days and times for a heading, in local time: [{"day": date, "times": ["10:00–11:30", …]}]."""
    days: dict = {}
    for slot in slots:
        start, end = timezone.localtime(slot.starts_at), timezone.localtime(slot.ends_at)
        days.setdefault(start.date(), []).append(f"{start:%H:%M}–{end:%H:%M}")
    return [{"day": day, "times": times} for day, times in days.items()]


def _with_places(session, places: dict | None = None, counts: dict | None = None):
    slots = list(session.slots.all())
    session.when = slots_when(slots)
    session.counts = sum(((counts or {}).get(slot.pk, BookingCounts()) for slot in slots), BookingCounts())
    session.places = places_total((places or {}).get(slot.pk, Places()) for slot in slots)
    session.places_left = sum(slot.places_left for slot in slots)
    session.capacity_total = sum(slot.capacity for slot in slots)
    session.slot_list = slots
    return session
