"""A booker making their party smaller from the booking's page (POST, then back to the page)."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from core.errors import DomainError
from volunteers.services import booking_party_shrink
from web.volunteer.views.common import booking_or_404


@require_POST
def party(request, token: str):
    """Shrink the party to the size chosen (booking_party_shrink: places given back, the waitlist offered them);
    a bad or bigger size is a message on the page, never an error page. Idempotent."""
    booking = booking_or_404(token)
    before = booking.party_size
    try:
        shrunk = booking_party_shrink(manage_token=token, party_size=request.POST.get("party_size", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        freed = before - shrunk.party_size
        if freed:
            messages.success(request, ngettext("Done: %(count)s place given back.", "Done: %(count)s places given back.",
                                               freed) % {"count": freed})
        else:
            messages.success(request, _("Nothing changed: that is your party's size already."))
    return redirect("volunteer:manage", token=token)
