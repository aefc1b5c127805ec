"""The lift forms of a booking's page (web.volunteer.lifts)."""

from datetime import datetime, time

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from travel.models import LiftOffer
from travel.services import MAX_SEATS


class LiftOfferForm(forms.Form):
    seats = forms.TypedChoiceField(label=_("Seats for riders"), coerce=int,
                                   choices=[(n, str(n)) for n in range(1, MAX_SEATS + 1)], initial=2)
    pickup_kind = forms.ChoiceField(label=_("Kind of place"), choices=LiftOffer.PickupKind.choices)
    pickup_label = forms.CharField(
        label=_("Where to meet"), max_length=60,
        help_text=_("A public place riders can find, like \"Hendon Central station, main exit\". Never a home "
                    "address. Riders see it only once you accept them."),
        widget=forms.TextInput(attrs={"placeholder": _("e.g. Leeds station, main entrance")}))
    pickup_postcode = forms.CharField(label=_("Its postcode or area"), max_length=10,
                                      help_text=_("A postcode or a district such as LS1. Before you accept them, "
                                                  "riders see only the district."))
    departs = forms.TimeField(label=_("Leaving at"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                              help_text=_("On the day of the session, before it starts."))
    invite_only = forms.BooleanField(label=_("Only riders I invite (I'll share a code)"), required=False)
    woman_driver = forms.BooleanField(
        label=_("I'm a woman: riders who ask for a woman driver may see this lift"), required=False)

    def departs_at(self, day) -> datetime:
        return timezone.make_aware(datetime.combine(day, self.cleaned_data["departs"] or time()))
