"""Share, calendar and map links on the pages (web.sharing builds them; these tags only pick the inputs).

Tags rather than view context, so each page takes them with one line whatever its view does, and so a page can
only hand them what it already shows: the address goes in only as the `point` the page displays."""

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from sessions.models import CanvassSession
from web import sharing
from web.preview import preview_version

register = template.Library()


def _public_url(request, session) -> str:
    return request.build_absolute_uri(reverse("volunteer:session", args=[session.pk]))


def _is_public(session) -> bool:
    # The same rule as sessions.selectors.session_public: only a published session has a public page.
    return session.status == CanvassSession.Status.PUBLISHED


@register.filter
def session_when(session) -> str:
    """"Thursday 10 December, 10:00-14:00"."""
    return sharing.session_day(session)


@register.simple_tag
def share_title(session) -> str:
    """The session's name for <title> and og:title: the seat once, never the site's name (og:site_name says it)."""
    return sharing.session_title(session)


@register.simple_tag(takes_context=True)
def preview_image_url(context, session) -> str:
    """The og:image URL, versioned by the session's updated_at: an edit makes apps fetch the new picture."""
    path = reverse("volunteer:session_preview", args=[session.pk])
    return context["request"].build_absolute_uri(f"{path}?v={preview_version(session)}")


@register.inclusion_tag("web/_share.html", takes_context=True)
def share_panel(context, session, invite: bool = False, headed: bool = True) -> dict:
    """The public page's link with a copy button and WhatsApp, SMS and email links; nothing for a session that
    has no public page. ``invite``: the volunteer's "bring a friend" wording."""
    if not _is_public(session) or session.ends_at <= timezone.now():  # nothing left to come to
        return {"links": None}
    return {"links": sharing.share_links(session=session, url=_public_url(context["request"], session)),
            "invite": invite, "headed": headed}


@register.inclusion_tag("web/volunteer/_calendar_links.html", takes_context=True)
def calendar_links(context, session, slot, point=None) -> dict:
    """Google and Outlook links for the slot. The location is the address only when the page shows it (``point``,
    exactly what the page displays); else the district, as the .ics file says. The details link the public
    session page, never the private one: these URLs go to Google and Microsoft."""
    if point:
        location = ", ".join([line.strip() for line in point.address.splitlines() if line.strip()]
                             + [point.postcode])
    else:
        location = _("%(district)s area, in %(seat)s") % {"district": session.postcode_district,
                                                          "seat": session.seat.name}
    lines = [_("Seat: %(seat)s") % {"seat": session.seat.name}]
    if session.what_to_bring:
        lines.append(_("Bring: %(what)s") % {"what": session.what_to_bring})
    lines.append(_("Session page: %(url)s") % {"url": _public_url(context["request"], session)})
    lines.append(_("Your booking's own page is the link we texted you."))
    links = sharing.calendar_links(title=_("Canvassing: %(title)s") % {"title": session.title},
                                   starts_at=slot.starts_at, ends_at=slot.ends_at, details="\n".join(lines),
                                   location=location)
    return {"links": links}


@register.simple_tag
def feed_subscribe_links(feed_url: str) -> sharing.FeedLinks:
    return sharing.feed_links(feed_url)


@register.simple_tag
def maps_url(point) -> str:
    """Google Maps for an address the page already shows (only ever called inside the page's `point` branch)."""
    return sharing.maps_link(address=point.address, postcode=point.postcode)
