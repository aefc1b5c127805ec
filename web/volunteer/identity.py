"""The one place the volunteers' pages reach the proof-of-phone services (issue 11's contract, HELPERS.md):
volunteers.identity, under the names the pages use."""

from volunteers.identity import (  # noqa: F401 - the pages' names for the services
    PhoneProven,
    booking_by_link,
    booking_details_update,
    booking_prove_by_link,
    booking_request,
    booking_shows_address,
    challenge_resend,
    challenge_verify,
    my_bookings_request,
    volunteer_signup_request,
)

can_delete_data = True  # volunteers.privacy


def data_export_url(token: str) -> str | None:
    from django.urls import reverse

    return reverse("booking-my-data", args=[token])


def volunteer_data_delete(*, manage_token: str) -> None:
    """The page's confirmation form is the explicit confirmation the service asks for."""
    from volunteers import privacy

    privacy.volunteer_data_delete_for_booking(manage_token=manage_token, confirm=privacy.DELETE_CONFIRMATION)
