"""Forms of the volunteers' pages: shape and presence of the input only; every rule is the services' own.

The services raise domain errors naming the field (InvalidInput(fields={"postcode": ...})); `add_domain_error`
puts them next to that field, in words a volunteer understands, so the page and the API say the same thing.
"""

import re
from datetime import datetime, time, timedelta

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from core.errors import DomainError
from volunteers import availability, parties
from volunteers.consent import CONSENT_CAMPAIGN_TEXT, CONSENT_EMAIL_TEXT, CONSENT_SMS_TEXT
from volunteers.identity import contact_validate
from volunteers.models import Volunteer
from web.dates import DateField

# What the services' error codes mean to a volunteer, keyed by code (the service's own message otherwise).
FRIENDLY = {
    "invalid_postcode": _("That doesn't look like a UK postcode. Check it and try again (for example S10 2TN, or "
                          "only S10)."),
    "unknown_postcode": _("We couldn't find that postcode. Check it, or try a neighbour's."),
    "unknown_district": _("We couldn't find that postcode district. Check it, or give your full postcode."),
    # No example number: the ones reserved for examples (Ofcom's 07700 900xxx) are refused as not real mobiles.
    "invalid_phone": _("Enter a UK mobile number: 11 digits starting 07, or +44 7 then 9 digits. We text you your "
                       "place."),
    "invalid_code": _("The code has 6 digits: type the one from the text."),
    "code_expired": _("That code has expired. Ask for a new one below."),
    "code_attempts": _("Too many wrong codes. Ask for a new one below."),
    "code_used": _("That code has been used already. Open the link in the text, or ask for a new code."),
    "session_cancelled": _("This session has been cancelled."),
    "slot_in_past": _("This slot has already started. Choose another one."),
    "not_found": _("We couldn't find that slot. It may have been removed."),
    "overlapping_booking": _("You already have a place at that time."),
    "slot_full": _("That slot has just filled up. Tick “put me on its waitlist” to wait for a place there, "
                   "or choose another slot."),
    "same_slot": _("That's the slot you have already: choose another one."),
    "already_booked": _("You're already booked or waitlisted on that slot."),
    "not_swappable": _("This booking is no longer active, so it can't be moved. Book a new place instead."),
}

RADIUS_CHOICES = [(5, _("5 km")), (10, _("10 km")), (25, _("25 km")), (50, _("50 km")), (100, _("100 km"))]
TRAVEL_CHOICES = [(3, _("3 km")), (5, _("5 km")), (10, _("10 km")), (15, _("15 km")), (25, _("25 km")),
                  (50, _("50 km"))]
MAX_PAGE = 100


def add_domain_error(form: forms.Form, exc: DomainError, *, default_field: str | None = None) -> None:
    """Attach a service's error to the form's fields it names (or to `default_field`, else the whole form); an
    error naming several fields puts each field's own words on it (exc.field_codes)."""
    named_messages = [messages[0] for messages in exc.fields.values() if messages] if exc.fields else []
    # A wrong code's own field message says how many tries are left; other codes have words of our own.
    message = FRIENDLY.get(exc.code) or (named_messages[0] if exc.code == "code_wrong" and named_messages
                                         else exc.message)
    named = [name.split(".")[0] for name in exc.fields] if exc.fields else []
    targets = [name for name in named if name in form.fields] or ([default_field] if default_field else [None])
    for name in dict.fromkeys(targets):
        own = exc.field_codes.get(name)
        form.add_error(name, (FRIENDLY.get(own) or message) if own else message)


class PostcodeField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Postcode"))
        kwargs.setdefault("max_length", 16)
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].setdefault("max_length", FRIENDLY["invalid_postcode"])
        kwargs.setdefault("widget", forms.TextInput(attrs={"autocomplete": "postal-code", "autocapitalize": "characters",
                                                           "spellcheck": "false", "class": "postcode"}))
        super().__init__(**kwargs)


class SearchForm(forms.Form):
    """The results page's query string. Junk in any field is an inline error, never a 500."""

    postcode = PostcodeField(label=_("Your postcode"), error_messages={"required": _("Enter your postcode.")})
    date_from = DateField(label=_("From"), required=False)
    date_to = DateField(label=_("Until"), required=False)
    within = forms.TypedChoiceField(label=_("Within"), choices=RADIUS_CHOICES, coerce=int, required=False,
                                    error_messages={"invalid_choice": _("Choose one of the distances.")})
    # One seat's sessions (the links under "the seats that matter"): an ONS code such as E14001234. Ours too:
    # anything else searches every seat.
    seat = forms.CharField(required=False, widget=forms.HiddenInput)
    # Paging links are ours; a hand-edited page number falls back to the first page rather than an error.
    page = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, data=None, **kwargs):
        if data is not None and not data.get("within"):
            data = data.copy()  # show the distance the search used
            data["within"] = str(int(settings.DEFAULT_SEARCH_RADIUS_KM))
        super().__init__(data, **kwargs)

    def filtered(self) -> bool:
        return bool(self.data.get("date_from") or self.data.get("date_to") or self.errors.keys() - {"postcode"})

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", _("The end date must be on or after the start date."))
        return data

    def radius_km(self) -> float:
        return float(min(self.cleaned_data.get("within") or settings.DEFAULT_SEARCH_RADIUS_KM,
                         settings.MAX_SEARCH_RADIUS_KM))

    def page_number(self) -> int:
        raw = self.cleaned_data.get("page") or ""
        return min(int(raw), MAX_PAGE) if re.fullmatch(r"[0-9]{1,4}", raw) and int(raw) >= 1 else 1

    def seat_code(self) -> str | None:
        raw = self.cleaned_data.get("seat") or ""
        return raw if re.fullmatch(r"[EWSN][0-9]{8}", raw) else None

    def date_range(self) -> tuple[datetime | None, datetime | None]:
        """The chosen dates as local midnights: from the start of the first day to the end of the last."""
        tz = timezone.get_current_timezone()
        start = self.cleaned_data.get("date_from")
        end = self.cleaned_data.get("date_to")
        return (datetime.combine(start, time.min, tz) if start else None,
                datetime.combine(end + timedelta(days=1), time.min, tz) if end else None)


class EmailConsentMixin:
    """Email consent needs an email to write to."""

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("consent_email") and not cleaned.get("email"):
            self.add_error("email", _("Enter your email address, or untick the email box."))
        return cleaned


class ContactForm(EmailConsentMixin, forms.Form):
    """Name, phone, postcode, email and consents. Every field's error shows at once: the phone and the postcode
    are checked by the services' own contact_validate even when another field is missing."""

    name = forms.CharField(label=_("Your name"), max_length=120, widget=forms.TextInput(attrs={"autocomplete": "name"}),
                           error_messages={"required": _("Enter your name.")})
    phone = forms.CharField(label=_("Mobile number"), max_length=20,
                            help_text=_("A UK mobile (11 digits starting 07). We text you a code to prove it's "
                                        "yours, then your place and the address."),
                            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
                            error_messages={"required": _("Enter your mobile number.")})
    postcode = PostcodeField(label=_("Your postcode"), help_text=_("So we can tell you how far you'll travel."),
                             error_messages={"required": _("Enter your postcode.")})
    email = forms.EmailField(label=_("Email (optional)"), required=False, max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}),
                             error_messages={"invalid": _("Enter an email address like name@example.org, or leave it empty.")})
    # The wording the volunteer agrees to, whose version the services record with the consent.
    consent_sms = forms.BooleanField(
        label=CONSENT_SMS_TEXT,
        error_messages={"required": _("We can only book you if we may text you: tick the box.")},
    )
    consent_email = forms.BooleanField(label=CONSENT_EMAIL_TEXT, required=False)
    consent_campaign = forms.BooleanField(label=CONSENT_CAMPAIGN_TEXT, required=False)  # never ticked by default

    def clean(self):
        cleaned = super().clean()
        try:
            contact_validate(phone=cleaned.get("phone", ""), postcode=cleaned.get("postcode", ""))
        except DomainError as exc:
            fresh = [name for name in exc.fields if name in self.fields and name not in self.errors]
            if fresh:
                add_domain_error(self, DomainError(exc.message, code=exc.code, field_codes=exc.field_codes,
                                                   fields={name: exc.fields[name] for name in fresh}))
        return cleaned


class BookingForm(ContactForm):
    """The contact details, and the party: how many come with the booker (volunteers.parties). Cleaned into the
    services' party_size and party_names; the others' names are optional."""

    others = forms.TypedChoiceField(label=_("How many others are coming with you?"), coerce=int, initial=0,
                                    required=False, empty_value=0,  # a form without it books one place
                                    help_text=_("Each of you takes a place. We book all of you or none."))
    party_names = forms.CharField(
        label=_("Their first names (optional)"), required=False, max_length=640,
        help_text=_("Separate them with commas. Only the host sees them."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["others"].choices = [(n, str(n)) for n in range(parties.party_max())]

    def clean(self):
        cleaned = super().clean()
        if "others" in self.errors:
            return cleaned
        size = cleaned.pop("others", 0) + 1
        try:
            cleaned["party_size"] = parties.party_size_clean(size, field="others")
            cleaned["party_names"] = parties.party_names_clean(cleaned.get("party_names", ""), party_size=size)
        except DomainError as exc:
            add_domain_error(self, exc)
        return cleaned


class WhenField(forms.MultipleChoiceField):
    """Days x morning/afternoon/evening (volunteers.availability): the choices offered now, as keys such as
    "2026-12-08:morning". Rendered as a grid by the template (_when_grid.html), one labelled checkbox per cell."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("When are you free?"))
        kwargs.setdefault("error_messages", {"required": _("Tick at least one time you are free."),
                                             "invalid_choice": _("Choose among the days and times shown.")})
        super().__init__(**kwargs)


class WhenMixin:
    """A form with a `when` grid: its rows for the template, and the windows its ticks make ("availability")."""

    def when_init(self, *, chosen=()):
        now = timezone.now()
        self.when_now = now
        offered = [(day, part) for day in availability.days_offered(now=now) for part in availability.PARTS
                   if availability.choice_offered((day, part), now=now)]
        self.fields["when"].choices = [(availability.choice_key(choice), availability.choice_key(choice))
                                       for choice in offered]
        if chosen and not self.is_bound:
            self.initial["when"] = [availability.choice_key(choice) for choice in chosen if choice in offered]

    def when_rows(self) -> list[dict]:
        """One row per day: its label and a cell per part (None for a part that has ended)."""
        ticked = set(self["when"].value() or [])
        offered = {key for key, _label in self.fields["when"].choices}
        rows = []
        for day in availability.days_offered(now=self.when_now):
            day_label = date_format(day, "l j F")
            cells = []
            for part, part_label in availability.PART_LABELS.items():
                key = availability.choice_key((day, part))
                label = _("%(day)s, %(part)s") % {"day": day_label, "part": part_label}
                cells.append({"key": key, "checked": key in ticked, "label": label} if key in offered else None)
            if any(cells):
                rows.append({"label": date_format(day, "D j M"), "day": day_label, "cells": cells})
        return rows

    def clean_availability(self, data: dict) -> None:
        keys = data.get("when") or []
        if "when" in self.errors or not keys:
            return
        try:
            data["availability"] = availability.windows_from_choices(
                [availability.choice_parse(key) for key in keys], field="when")
        except DomainError as exc:
            add_domain_error(self, exc, default_field="when")


class NeededForm(WhenMixin, forms.Form):
    """Sign up for dispatch: who, where from, how far, and when (a grid of ticks). Only what dispatch needs: an
    email can be given later on a booking's page."""

    name = ContactForm.base_fields["name"]
    phone = forms.CharField(label=_("Mobile number"), max_length=20,
                            help_text=_("We text you a code, then any place we find you."),
                            widget=ContactForm.base_fields["phone"].widget,
                            error_messages={"required": _("Enter your mobile number.")})
    postcode = PostcodeField(label=_("Your postcode"), help_text=_("Or only its first part, like SW11."),
                             error_messages={"required": _("Enter your postcode.")})
    max_travel_km = forms.TypedChoiceField(label=_("How far will you travel?"), choices=TRAVEL_CHOICES, coerce=int,
                                           initial=10)
    # One select, not two fields: how they travel and, for a driver, the seats (the form's height is a figure).
    travel = forms.ChoiceField(
        label=_("How do you get there?"), initial=Volunteer.Travel.OWN, required=False,
        choices=[(Volunteer.Travel.OWN, Volunteer.Travel.OWN.label),
                 (Volunteer.Travel.NEEDS_LIFT, Volunteer.Travel.NEEDS_LIFT.label),
                 *[(f"driver:{seats}", ngettext_lazy("I drive: room for %(seats)d more",
                                                     "I drive: room for %(seats)d more", seats)
                    % {"seats": seats}) for seats in range(1, 7)]])
    # A party (docs/parties.md): a run places them all in one slot or none; a driver's party rides in their car.
    others = forms.TypedChoiceField(label=_("How many people are coming with you?"), coerce=int, initial=0,
                                    required=False, empty_value=0,  # not answered: alone
                                    help_text=_("We send all of you to the same place, or none of you."))
    party_names = BookingForm.base_fields["party_names"]
    when = WhenField()
    consent_sms = forms.BooleanField(
        label=CONSENT_SMS_TEXT,
        error_messages={"required": _("We can only send you somewhere if we may text you: tick the box.")})
    consent_campaign = forms.BooleanField(label=CONSENT_CAMPAIGN_TEXT, required=False)  # never ticked by default

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.when_init()
        self.fields["others"].choices = [(n, str(n)) for n in range(parties.party_max())]

    def clean(self):
        data = super().clean()
        self.clean_availability(data)
        travel_split(data)
        party_split(self, data)
        return data


def party_split(form: forms.Form, data: dict) -> None:
    """The form's `others` and names as the sign-up's party_size and party_names (volunteers.parties' rules)."""
    if "others" in form.errors:
        return
    size = (data.pop("others", 0) or 0) + 1
    try:
        data["party_size"] = parties.party_size_clean(size, field="others")
        data["party_names"] = parties.party_names_clean(data.get("party_names", ""), party_size=size)
    except DomainError as exc:
        add_domain_error(form, exc)


def travel_split(data: dict) -> None:
    """The travel select's value as the volunteer's `travel` and `car_seats` (not answered: on their own)."""
    mode, _, seats = (data.get("travel") or Volunteer.Travel.OWN).partition(":")
    data["travel"], data["car_seats"] = mode, int(seats) if seats.isdigit() else 0


def travel_choice(volunteer) -> str:
    """The travel select's value for a volunteer's stored answer."""
    return f"driver:{volunteer.car_seats}" if volunteer.travel == Volunteer.Travel.DRIVER else volunteer.travel


class NeededChangeForm(WhenMixin, forms.Form):
    """The holder of a sign-up's link changes when they are free, how far they travel, and from where."""

    when = WhenField()
    max_travel_km = NeededForm.base_fields["max_travel_km"]
    travel = NeededForm.base_fields["travel"]
    others = NeededForm.base_fields["others"]
    party_names = NeededForm.base_fields["party_names"]
    postcode = PostcodeField(label=_("Your postcode"), help_text=_("Or only its first part, like SW11."),
                             error_messages={"required": _("Enter your postcode.")})

    def __init__(self, *args, chosen=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.when_init(chosen=chosen)
        self.fields["others"].choices = [(n, str(n)) for n in range(parties.party_max())]

    def clean(self):
        data = super().clean()
        self.clean_availability(data)
        if data.get("travel"):
            travel_split(data)
        party_split(self, data)
        return data


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("The 6-digit code from the text"), min_length=6, max_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9]*",
                                      "class": "code-input"}),
        error_messages={"required": _("Enter the code from the text."),
                        "min_length": _("The code has 6 digits."), "max_length": _("The code has 6 digits.")},
    )

    def clean_code(self):
        code = "".join(self.cleaned_data["code"].split())
        if not code.isdigit():
            raise forms.ValidationError(_("The code has 6 digits."))
        return code


class EmailForm(EmailConsentMixin, forms.Form):
    """The holder of a private link gives, changes or removes the email we write to about their bookings."""

    email = forms.EmailField(label=_("Email"), required=False, max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}),
                             error_messages={"invalid": _("Enter an email address like name@example.org, or leave it "
                                                          "empty.")})
    consent_email = forms.BooleanField(label=CONSENT_EMAIL_TEXT, required=False)


class ConfirmForm(forms.Form):
    """A confirmation step (cancel, delete my data): the button is the whole form."""

    confirm = forms.BooleanField(widget=forms.HiddenInput, initial=True)


class SwapForm(forms.Form):
    """Another slot in one step: the choice among the offered slots, and whether a full one may waitlist."""

    slot = forms.TypedChoiceField(label=_("Your new slot"), coerce=int, widget=forms.RadioSelect,
                                  error_messages={"required": _("Choose a slot."),
                                                  "invalid_choice": _("That slot is no longer offered. Choose another.")})
    waitlist = forms.BooleanField(
        label=_("If it is full, put me on its waitlist (I give up the place I have now)"), required=False)

    def __init__(self, *args, slots=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slot"].choices = [(slot.pk, str(slot.pk)) for slot in slots]


def national_phone(phone: str) -> str:
    """"+447700900123" -> "07700 900123": a stored number as the form shows it (and takes it back)."""
    national = "0" + phone.removeprefix("+44") if phone.startswith("+44") else phone
    return f"{national[:5]} {national[5:]}" if len(national) == 11 else national


class PhoneForm(forms.Form):
    """'My bookings': the number to text a code to."""

    phone = forms.CharField(label=_("Your mobile number"), max_length=20,
                            help_text=_("We text it a code. Type the code and you see every booking of that number."),
                            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
                            error_messages={"required": _("Enter your mobile number.")})
