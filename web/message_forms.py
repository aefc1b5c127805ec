"""The form a host or coordinator writes a message to everyone booked with (notify.messaging): the kind of message,
explained, and the words. Its errors come from the same domain errors the API maps."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from notify.consent import CAMPAIGN, SERVICE

PURPOSE_CHOICES = [
    (SERVICE, _("About this session (service): times, meeting place, what to bring, a change of plan. Reaches "
                "everyone who agreed to texts or emails about their booking.")),
    (CAMPAIGN, _("Call to action (campaign): come to another session, bring a friend, campaign news. Reaches only "
                 "those who agreed to calls to action; we add who it is from and a link to stop them.")),
]


class MessageForm(forms.Form):
    purpose = forms.ChoiceField(label=_("What kind of message is it?"), choices=PURPOSE_CHOICES,
                                widget=forms.RadioSelect, initial=SERVICE,
                                error_messages={"required": _("Choose what kind of message this is.")})
    body = forms.CharField(
        label=_("Your message"), widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Plain words. No phone numbers or addresses of others: they reach everyone. We add who it is "
                    "from."),
        error_messages={"required": _("Write a message.")})

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["body"].max_length = settings.MESSAGE_BODY_MAX
        self.fields["body"].widget.attrs["maxlength"] = settings.MESSAGE_BODY_MAX
        self.fields["body"].validators.append(forms.CharField(max_length=settings.MESSAGE_BODY_MAX).validators[-1])


def sent_summary(broadcast) -> str:
    """What the sender is told once it is in the outbox."""
    texts = ngettext("%(count)s text", "%(count)s texts", broadcast.texts) % {"count": broadcast.texts}
    emails = ngettext("%(count)s email", "%(count)s emails", broadcast.emails) % {"count": broadcast.emails}
    return str(_("Sent: %(texts)s and %(emails)s on their way.")) % {"texts": texts, "emails": emails}
