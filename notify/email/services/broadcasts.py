"""The email of a message to everyone booked (notify.messaging), rendered when it is sent, in the language of the
booking that put the volunteer in its audience; a campaign one carries the sender's identification and the link
that withdraws campaign consent, every one the unsubscribe link."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext

from core.languages import language_override
from notify.consent import CAMPAIGN, campaign_sender, may_send, purpose_of, withdraw_url
from notify.email.models import EmailMessage
from notify.email.services import content
from notify.email.services.unsubscribe import volunteer_token
from volunteers.models import Booking, Volunteer

BROADCAST_KINDS = frozenset({EmailMessage.Kind.BROADCAST_SERVICE, EmailMessage.Kind.BROADCAST_CAMPAIGN})


def broadcast_compose(*, message_id: int, kind: str, volunteer_id: int | None) -> tuple | str:
    """(to, content.Rendered, unsubscribe url), or the reason not to send it."""
    volunteer = Volunteer.objects.filter(pk=volunteer_id).first()
    if volunteer is None:
        return "personal_data_erased"
    purpose = purpose_of("email", kind)
    reason = may_send(volunteer, purpose, "email")
    if reason:
        return reason
    broadcast = (EmailMessage.objects.select_related("broadcast__session").get(pk=message_id).broadcast)
    if broadcast is None:
        return "broadcast_deleted"
    language = (Booking.objects.filter(volunteer_id=volunteer.pk).order_by("-created_at")
                .values_list("language", flat=True).first())
    unsubscribe = content.unsubscribe_url(volunteer_token(volunteer.pk))
    with language_override(language):
        session = broadcast.session
        if session is not None:
            subject = gettext("A message from your host: %(title)s") % {"title": session.title}
        else:
            subject = gettext("A message from the %(site)s organisers") % {"site": settings.SITE_NAME}
        context = {"first_name": (volunteer.name.split() or [gettext("there")])[0], "body": broadcast.body,
                   "campaign": purpose == CAMPAIGN, "sender": campaign_sender(),
                   "withdraw": withdraw_url(volunteer.pk) if purpose == CAMPAIGN else "",
                   "unsubscribe": unsubscribe, "site": settings.SITE_NAME}
        text, html = content.render("broadcast", context)
    return volunteer.email, content.Rendered(subject=subject[:200], text=text, html=html), unsubscribe
