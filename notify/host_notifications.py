"""How a host hears of bookings and cancellations on their sessions, both channels at once (the host's settings
page): each time by email (notify.email), by text (notify.sms, to the host's own mobile once it is proven by
the code texted to it: notify.sms.services.host_mobile), both or neither; and instead of emails each time, one
daily digest by email, and instead of texts each time, one digest text a day (notify.sms.services.host_digests). What they are told of is notify.audience'."""

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext

from core.errors import InvalidInput
from notify.email.models import HostEmailPreference
from notify.email.services import host_email_preference_get, host_email_preference_set
from notify.sms.models import HostMobileProof
from notify.sms.services import host_sms_preference_get, host_sms_preference_set

EACH_CHOICES = ("email", "text", "both", "none")
Notify = HostEmailPreference.Notify


@dataclass(frozen=True)
class HostNotifications:
    each: str  # one of EACH_CHOICES
    digest: bool
    digest_text: bool  # one text a day, instead of texts each time
    email: str
    mobile: str
    texts_stopped: bool  # the mobile replied STOP: Twilio sends nothing to it until it replies START
    mobile_proven: bool  # the code texted to the mobile was typed: only then is it texted about bookings
    code_sent: bool  # a code was texted to the saved mobile (so the page asks for it)


def host_notifications_get(*, host) -> HostNotifications:
    notify = host_email_preference_get(host=host)
    sms = host_sms_preference_get(host=host)
    texts = bool(sms and sms.texts)
    emails = notify == Notify.EACH
    each = "both" if emails and texts else "email" if emails else "text" if texts else "none"
    mobile = sms.mobile if sms else ""
    proven = bool(mobile and sms.mobile_proven_at is not None)
    code_sent = bool(mobile and not proven and HostMobileProof.objects.filter(host=host, phone=mobile).exists())
    return HostNotifications(each=each, digest=notify == Notify.DAILY, digest_text=bool(sms and sms.digest),
                             email=host.email, mobile=mobile,
                             texts_stopped=bool(sms and sms.sms_opted_out), mobile_proven=proven, code_sent=code_sent)


@transaction.atomic
def host_notifications_set(*, host, each: str, digest: bool, email: str | None = None,
                           mobile: str = "", client_ip: str | None = None,
                           digest_text: bool = False) -> HostNotifications:
    """Save the host's choice on both channels, or nothing: raises InvalidInput naming the field (`each`,
    `digest`, `email`, `mobile`) for an unknown choice, a digest asked for with emails each time (it would repeat
    them), emails without an address, or texts without a UK mobile; RateLimited when a new mobile's code may not
    be texted now. A new mobile with texts is texted a code and stays unproven until it is typed
    (host_sms_preference_set). Idempotent."""
    if each not in EACH_CHOICES:
        raise InvalidInput(gettext("Choose how you want to hear of bookings."), fields={"each": [gettext("Not a choice.")]})
    emails_each = each in ("email", "both")
    if emails_each and digest:
        raise InvalidInput(gettext("The daily email replaces the emails each time: choose one of them."),
                           fields={"digest": [gettext("Only without emails each time.")]})
    texts_each = each in ("text", "both")
    if texts_each and digest_text:
        raise InvalidInput(gettext("The daily text replaces the texts each time: choose one of them."),
                           fields={"digest_text": [gettext("Only without texts each time.")]})
    host_sms_preference_set(host=host, texts=texts_each, digest=digest_text, mobile=mobile, client_ip=client_ip)
    host_email_preference_set(host=host, notify=Notify.EACH if emails_each else Notify.DAILY if digest else Notify.OFF,
                              email=email)
    return host_notifications_get(host=host)
