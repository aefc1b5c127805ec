"""Hosts' forms: field checks a person can fix on the page. Rules live in the services; their domain errors are
mapped back onto these fields by ``form_errors_from``."""

from datetime import datetime, time, timedelta

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm, SetPasswordForm
from django.forms.utils import ErrorDict
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from sessions.hosts import email_taken_message, host_email_taken, host_email_verified, host_password_problems
from sessions.services import COPIES_MAX
from web.dates import DateField

User = get_user_model()

MAX_SLOTS = 20


def _time_input():
    return forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class HostPasswordMixin:
    """Password errors in plain words (sessions.hosts.host_password_problems), each on its own field."""

    def _password_check(self, name: str, user) -> None:
        password = self.cleaned_data.get(name)
        if password:
            for problem in host_password_problems(password, user):
                self.add_error(name, problem)


class HostSignupForm(HostPasswordMixin, forms.Form):
    """A host account, signed in with its email address. An address another account has is said on its field: the
    sign-up signs the new host in at once, so it cannot pretend; it is rate-limited per IP instead (docs/pages-hosts.md,
    "Enumeration"). Saved by sessions.hosts.host_signup, which emails the link to prove the address."""

    first_name = forms.CharField(
        label=_("Your first name"), max_length=60, help_text=_("Volunteers see it once their place is confirmed."),
        error_messages={"required": _("Type your first name.")},
        widget=forms.TextInput(attrs={"autocomplete": "given-name"}))
    email = forms.EmailField(
        label=_("Email address"), max_length=254,
        help_text=_("You sign in with it. Once you confirm it, we email you each booking and cancellation on your "
                    "sessions, and password resets if you ask. You can switch to one email a day, or to none, on "
                    "“How you hear of bookings”."),
        error_messages={"required": _("Type your email address."),
                        "invalid": _("Enter an address like name@example.org.")},
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autocapitalize": "none", "spellcheck": "false"}))
    password1 = forms.CharField(
        label=_("Choose a password"), strip=False, help_text=_("At least 8 characters; a few words together are "
                                                                "long and easy to remember."),
        error_messages={"required": _("Choose a password.")},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(
        label=_("The same password again"), strip=False,
        error_messages={"required": _("Type the password again, to be sure of it.")},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean_email(self):
        email = self.cleaned_data["email"].strip()
        if host_email_taken(email):
            raise forms.ValidationError(email_taken_message(), code="email_taken")
        return email

    def clean(self):
        data = super().clean()
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("Not the same as the password above: type it again."))
        elif first:
            self._password_check("password1", User(email=data.get("email", ""),
                                                   first_name=data.get("first_name", "")))
        return data


class HostLoginForm(AuthenticationForm):
    """Sign in with the email address (core.auth.EmailBackend; a username still works for staff). A wrong pair
    gets one message, on the password, whether or not the address has an account."""

    error_messages = {
        "invalid_login": _("That email address and password do not match an account. Check both: the password is "
                           "case-sensitive."),
        "inactive": _("This account is switched off."),
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        username.label = _("Email address")
        username.max_length = 254
        username.error_messages["required"] = _("Type the email address you signed up with.")
        username.widget = forms.EmailInput(attrs={"autocomplete": "username", "autocapitalize": "none",
                                                  "spellcheck": "false", "autofocus": True})
        self.fields["password"].error_messages["required"] = _("Type your password.")

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError as error:
            if error.code != "invalid_login":
                raise
            self.add_error("password", error)
            return self.cleaned_data


class HostPasswordResetForm(PasswordResetForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = _("The email address you sign in with")
        self.fields["email"].error_messages.update(required=_("Type your email address."),
                                                   invalid=_("Enter an address like name@example.org."))

    def get_users(self, email):
        # Only to an address its account proved (sessions.hosts): an unproven one may be a stranger's.
        return (user for user in super().get_users(email) if host_email_verified(host=user))


class HostSetPasswordForm(HostPasswordMixin, SetPasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].error_messages["required"] = _("Choose a new password.")
        self.fields["new_password1"].help_text = _("At least 8 characters; a few words together are long and easy "
                                                   "to remember.")
        self.fields["new_password2"].label = _("The same password again")
        self.fields["new_password2"].help_text = ""
        self.fields["new_password2"].error_messages["required"] = _("Type the new password again, to be sure of it.")

    def clean(self):
        # Django's checks (the two alike, its validators) said in plain words, on the fields they are about.
        first, second = self.cleaned_data.get("new_password1"), self.cleaned_data.get("new_password2")
        if first and second and first != second:
            self.add_error("new_password2", _("Not the same as the password above: type it again."))
        elif first:
            self._password_check("new_password1", self.user)
        return self.cleaned_data


class MeetingPointForm(forms.Form):
    name = forms.CharField(label=_("Name of the room"), max_length=120,
                           help_text=_("For you and the volunteers, e.g. “Priya's front room”."))
    address = forms.CharField(label=_("Street address"), widget=forms.Textarea(attrs={"rows": 3}), max_length=500,
                              help_text=_("Private: only volunteers with a confirmed place see it."))
    postcode = forms.CharField(label=_("Postcode"), max_length=10,
                               widget=forms.TextInput(attrs={"autocomplete": "postal-code", "autocapitalize": "characters"}))
    capacity = forms.IntegerField(label=_("How many people the room holds"), min_value=1, max_value=200)
    accessibility_notes = forms.CharField(
        label=_("Accessibility notes"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Steps, toilets, parking, pets: anything a volunteer may need to know."))
    host_first_name = forms.CharField(label=_("Your first name, as volunteers will see it"), max_length=60,
                                      required=False, widget=forms.TextInput(attrs={"autocomplete": "given-name"}))
    host_phone = forms.CharField(label=_("Your phone number"), max_length=20, required=False,
                                 help_text=_("For coordinators only; volunteers never see it."),
                                 widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}))


class MeetingPointEditForm(MeetingPointForm):
    is_active = forms.BooleanField(label=_("Taking new sessions"), required=False)


class SessionForm(forms.Form):
    """The session's details and its one date; its slots are the rows of a SlotFormSet, times on that date."""

    meeting_point = forms.TypedChoiceField(label=_("Front room"), coerce=int)
    title = forms.CharField(label=_("Title"), max_length=140, error_messages={"required": _("Give the session a title.")},
                            widget=forms.TextInput(attrs={"placeholder": _("Saturday door-knocking in Crookes")}))
    date = DateField(label=_("Date"), error_messages={"required": _("Choose the day of the session.")})
    description = forms.CharField(
        label=_("Description"), required=False, max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("A briefing over tea, then out on the doors. New "
                                                                  "canvassers welcome.")}))
    what_to_bring = forms.CharField(
        label=_("What to bring"), required=False, max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("Comfortable shoes and a charged phone")}))

    def __init__(self, *args, meeting_points=(), with_approval=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["meeting_point"].choices = [(point.pk, f"{point.name} ({point.postcode})") for point in meeting_points]
        if with_approval:
            self.fields["requires_approval"] = forms.BooleanField(
                label=_("I approve each volunteer before they see my address"), required=False)
        self.fields["confirm_required"] = forms.BooleanField(  # volunteers.confirmations
            label=_("Give places nobody confirmed to the waitlist"), required=False,
            help_text=_("The day before, we ask each volunteer to confirm. Places not confirmed %(hours)s hours "
                        "before the start go to the people waiting.") % {"hours": settings.CONFIRM_DEADLINE_HOURS})

    def clean_date(self):
        day = self.cleaned_data["date"]
        if day < timezone.localdate() and not self.fields["date"].disabled:
            raise forms.ValidationError(_("That day has passed: choose today or a later day."), code="in_the_past")
        return day


class SessionEditForm(SessionForm):
    def __init__(self, *args, in_series=False, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["meeting_point"]
        if in_series:  # a repeated session (sessions.recurrence): its details can go to the later ones too
            self.fields["apply_to"] = forms.ChoiceField(
                label=_("Change"), widget=forms.RadioSelect, initial="this", choices=[
                    ("this", _("This session only")),
                    ("later", _("This and later ones (their details; each keeps its own slots and bookings)"))])


class SlotForm(forms.Form):
    """One door-knocking window on the session's date. An untouched extra row is skipped."""

    starts = forms.TimeField(label=_("Starts"), widget=_time_input(),
                             error_messages={"required": _("Give a start time."), "invalid": _("Enter a time like 10:00.")})
    ends = forms.TimeField(label=_("Ends"), widget=_time_input(),
                           error_messages={"required": _("Give an end time."), "invalid": _("Enter a time like 12:00.")})
    capacity = forms.IntegerField(label=_("Places"), min_value=1, max_value=200,
                                  error_messages={"required": _("How many volunteers can come?"),
                                                  "min_value": _("At least 1."), "max_value": _("At most 200."),
                                                  "invalid": _("A number, like 8.")})
    turf = forms.CharField(label=_("Doors or streets"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("Crookes Road, odd numbers")}))
    def clean(self):
        data = super().clean()
        if data.get("starts") and data.get("ends") and data["ends"] <= data["starts"]:
            self.add_error("ends", _("Must be later than the start."))
        return data

    def slot(self, day) -> dict:
        """The cleaned row on `day`, as a service takes a slot."""
        data = self.cleaned_data
        day = day + timedelta(days=data.get("day_offset") or 0)
        return {"starts_at": local_datetime(day, data["starts"]), "ends_at": local_datetime(day, data["ends"]),
                "capacity": data["capacity"], "turf": data.get("turf", "")}


class SlotEditForm(SlotForm):
    """A row of the edit form: an existing slot (slot_id), or a new one (no slot_id). A row marked for removal
    (DELETE, set by its "Remove" button) with volunteers booked asks for a tick first."""

    slot_id = forms.IntegerField(widget=forms.HiddenInput, required=False)
    # Days after the session's date: 0, but for a slot of an older session that ran past midnight or over days.
    day_offset = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0, max_value=31)
    confirm_remove = forms.BooleanField(required=False, label=_("Yes, remove it"))


def local_datetime(day, at: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, at))


class BaseSlotFormSet(forms.BaseFormSet):
    def clean(self):
        if any(self.errors):
            return
        if not self.kept_forms():
            raise forms.ValidationError(_("Add at least one slot."), code="no_slots")

    def filled_forms(self) -> list[forms.Form]:
        return [form for form in self.forms if form.has_changed() and getattr(form, "cleaned_data", None)
                and not self._should_delete_form(form)]

    def kept_forms(self) -> list[forms.Form]:
        return [form for form in self.filled_forms() if not form.cleaned_data.get("slot_id")] + [
            form for form in self.forms if getattr(form, "cleaned_data", None) and form.cleaned_data.get("slot_id")
            and not self._should_delete_form(form)]


SlotFormSet = forms.formset_factory(SlotForm, formset=BaseSlotFormSet, extra=3, max_num=MAX_SLOTS, absolute_max=MAX_SLOTS,
                                    validate_max=True)


class BaseSlotEditFormSet(BaseSlotFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].widget = forms.HiddenInput()

    def total_error_count(self) -> int:
        # Django leaves out the rows marked for removal; a removal waiting for its tick is an error all the same.
        return len(self.non_form_errors()) + sum(len(form.errors) for form in self.forms if form.is_bound)

    def removed_forms(self) -> list[forms.Form]:
        return [form for form in self.forms if form.cleaned_data.get("slot_id") and self._should_delete_form(form)]


SlotEditFormSet = forms.formset_factory(SlotEditForm, formset=BaseSlotEditFormSet, extra=0, max_num=MAX_SLOTS,
                                        absolute_max=MAX_SLOTS, can_delete=True)


def slot_initial(slot, day) -> dict:
    start, end = timezone.localtime(slot.starts_at), timezone.localtime(slot.ends_at)
    return {"slot_id": slot.pk, "day_offset": max(0, (start.date() - day).days),
            "starts": start.time().replace(second=0, microsecond=0),
            "ends": end.time().replace(second=0, microsecond=0), "capacity": slot.capacity, "turf": slot.turf}


COPY_DATE_FIELDS = 4


class CopySessionForm(forms.Form):
    """Copies on several dates at once: every week on the session's weekday until a day, and/or chosen dates."""

    weekly_until = DateField(label=_("Every week on the same day, until"), required=False)

    def __init__(self, *args, first_day=None, limit: int = COPIES_MAX, **kwargs):
        super().__init__(*args, **kwargs)
        self.first_day, self.limit = first_day or timezone.localdate(), limit
        self.fields["weekly_until"].help_text = _("Every %(weekday)s, from a week after this session.") % {
            "weekday": formats.date_format(self.first_day, "l")}
        for n in range(1, COPY_DATE_FIELDS + 1):
            self.fields[f"date_{n}"] = DateField(label=_("Another date (%(n)s)") % {"n": n}, required=False)

    def date_fields(self) -> list:
        return [self[f"date_{n}"] for n in range(1, COPY_DATE_FIELDS + 1)]

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        chosen: dict = {}  # date -> the field it came from, in order
        until = data.get("weekly_until")
        if until is not None:
            if until <= self.first_day:
                self.add_error("weekly_until", _("Choose a day after the session's own date."))
            else:
                day = self.first_day + timedelta(days=7)
                while day <= until and len(chosen) <= self.limit:
                    if day >= today:
                        chosen.setdefault(day, "weekly_until")
                    day += timedelta(days=7)
        for n in range(1, COPY_DATE_FIELDS + 1):
            day = data.get(f"date_{n}")
            if day is None:
                continue
            if day < today:
                self.add_error(f"date_{n}", _("That day has passed: choose today or a later day."))
            else:
                chosen.setdefault(day, f"date_{n}")
        if not chosen and not self.errors:
            self.add_error("weekly_until", _("Choose an end date for weekly copies, or at least one date below."))
        elif len(chosen) > self.limit:
            self.add_error("weekly_until", _("That makes more than %(limit)s copies: at most %(limit)s at once. "
                                             "Choose an earlier end date or fewer dates.") % {"limit": self.limit})
        self.chosen = chosen
        return data


class CancelSessionForm(forms.Form):
    confirm = forms.BooleanField(label=_("Yes, cancel this session and text every booked volunteer"))


class RefuseBookingForm(forms.Form):
    confirm = forms.BooleanField(label=_("Yes, refuse this volunteer and text them"))


class AttendanceForm(forms.Form):
    booking = forms.IntegerField(widget=forms.HiddenInput)
    attended = forms.TypedChoiceField(choices=[("yes", _("Came")), ("no", _("Didn't come"))],
                                      coerce=lambda value: value == "yes")


def add_row(formset_class, data, *, prefix: str, **kwargs):
    """The formset as posted, with one more empty row and its errors left unsaid (the host is still typing)."""
    data = data.copy()
    key = f"{prefix}-TOTAL_FORMS"
    data[key] = str(min(_int(data.get(key)) + 1, MAX_SLOTS))
    return quiet(formset_class(data, prefix=prefix, **kwargs))


def remove_row(formset_class, data, *, prefix: str, index: int, **kwargs):
    """The formset as posted without row `index`: a row not saved yet is dropped (the rows after it move up); an
    existing slot (below INITIAL_FORMS) is only marked for removal (DELETE), or unmarked with keep=True."""
    data = data.copy()
    total, initial = _int(data.get(f"{prefix}-TOTAL_FORMS")), _int(data.get(f"{prefix}-INITIAL_FORMS"))
    if 0 <= index < initial:
        data[f"{prefix}-{index}-DELETE"] = "on"
    elif initial <= index < total:
        rows = []
        for n in range(total):
            row_prefix = f"{prefix}-{n}-"
            rows.append({key[len(row_prefix):]: data.getlist(key) for key in list(data) if key.startswith(row_prefix)})
            for key in [key for key in list(data) if key.startswith(row_prefix)]:
                del data[key]
        del rows[index]
        for n, row in enumerate(rows):
            for name, values in row.items():
                data.setlist(f"{prefix}-{n}-{name}", values)
        data[f"{prefix}-TOTAL_FORMS"] = str(total - 1)
    return quiet(formset_class(data, prefix=prefix, **kwargs))


def keep_row(formset_class, data, *, prefix: str, index: int, **kwargs):
    """The formset as posted, with row `index` no longer marked for removal."""
    data = data.copy()
    data.pop(f"{prefix}-{index}-DELETE", None)
    data.pop(f"{prefix}-{index}-confirm_remove", None)
    return quiet(formset_class(data, prefix=prefix, **kwargs))


def _int(value) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def quiet(form_or_formset):
    """A bound form or formset that renders what was typed without validating it."""
    if isinstance(form_or_formset, forms.BaseFormSet):
        form_or_formset._errors = []
        form_or_formset._non_form_errors = form_or_formset.error_class()
        for form in form_or_formset.forms:
            quiet(form)
    else:
        form_or_formset._errors = ErrorDict()
    return form_or_formset


def form_errors_from(error: DomainError, form: forms.Form, *, formset=None, slot_forms=(),
                     field_map: dict | None = None) -> None:
    """Put a service's domain error on the form: each of its `fields` next to the matching field ("slots.2.capacity"
    onto the third filled slot row), anything else at the top. Slot row fields starts_at/ends_at become starts/ends."""
    field_map = {"starts_at": "starts", "ends_at": "ends", **(field_map or {})}
    placed = False
    for key in error.fields or {}:
        parts = key.split(".")
        if parts[0] == "slots" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(slot_forms):
            row = slot_forms[int(parts[1])]
            name = field_map.get(parts[2], parts[2])
            if name in row.fields:
                row.add_error(name, error.message)
                placed = True
                continue
        name = field_map.get(key, field_map.get(parts[0], key))
        if name in form.fields:
            form.add_error(name, error.message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


def has_errors(form, formset=None) -> bool:
    return bool(form.errors or (formset is not None and (formset.total_error_count())))



class NotificationsForm(forms.Form):
    """How the host hears of bookings and cancellations on their sessions (notify.host_notifications)."""

    each = forms.ChoiceField(label=_("Each time someone books or cancels, tell me"), widget=forms.RadioSelect,
                             choices=[("email", _("By email")), ("text", _("By text")),
                                      ("both", _("By email and by text")), ("none", _("Not each time"))])
    digest = forms.BooleanField(
        label=_("One email a day instead, the morning after, with the day's bookings and cancellations"),
        required=False, help_text=_("Not with emails each time: it would repeat them."))
    digest_text = forms.BooleanField(
        label=_("One text a day instead, the morning after, with how many places were taken and given back"),
        required=False, help_text=_("Not with texts each time: it would repeat them."))
    email = forms.EmailField(label=_("Email address"), required=False, max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}),
                             error_messages={"invalid": _("Enter an email address like name@example.org.")})
    mobile = forms.CharField(label=_("Your mobile number"), required=False, max_length=20,
                             help_text=_("A UK mobile, for texts to you. Volunteers never see it."),
                             widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}))


class MobileCodeForm(forms.Form):
    """The code texted to the host's mobile (notify.sms.services.host_mobile), which proves they hold it."""

    code = forms.CharField(
        label=_("The 6-digit code we texted to your mobile"), max_length=12,
        error_messages={"required": _("Type the 6-digit code from the text.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9 ]*",
                                      "spellcheck": "false"}))
