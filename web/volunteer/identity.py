"""The one place the volunteers' pages reach the proof-of-phone services (issue 11's contract, HELPERS.md).

Until volunteers.identity lands on main, the reads fall back to the current services: opening the private
link is the proof, and the address shows for a confirmed booking only.
"""

from volunteers.models import Booking

BOOKING_RELATED = ("volunteer", "slot__session__meeting_point", "slot__session__seat", "redirected_to__slot__session")


def booking_by_link(*, manage_token: str) -> Booking:
    """The booking behind a private link, everything the manage page shows loaded; opening it proves the phone."""
    from core.errors import NotFound

    booking = Booking.objects.select_related(*BOOKING_RELATED).filter(manage_token=manage_token).first()
    if booking is None:
        raise NotFound("No booking with this link.")
    return booking


def booking_shows_address(booking: Booking) -> bool:
    return booking.status == Booking.Status.CONFIRMED


class _Unproven:
    """What a request answers before the proof step exists: no challenge, the booking's own link."""

    token = None

    def __init__(self, manage_token: str | None = None):
        self.manage_token = manage_token


def booking_request(*, slot_id: int, name: str, phone: str, postcode: str, email: str = "", consent_sms: bool,
                    client_ip: str):
    from volunteers.services import booking_create

    result = booking_create(slot_id=slot_id, name=name, phone=phone, postcode=postcode, email=email,
                            consent_sms=consent_sms)
    return _Unproven(result.booking.manage_token)


def volunteer_signup_request(*, name: str, phone: str, postcode: str, email: str, max_travel_km: float,
                             availability: list[dict], consent_sms: bool, client_ip: str):
    from volunteers.registration import volunteer_register

    volunteer_register(name=name, phone=phone, postcode=postcode, email=email, max_travel_km=max_travel_km,
                       availability=availability, consent_sms=consent_sms)
    return _Unproven()


def challenge_verify(*, challenge_token: str, code: str, client_ip: str):
    from core.errors import NotFound

    raise NotFound("No such code request.")


def challenge_resend(*, challenge_token: str, client_ip: str) -> None:
    from core.errors import NotFound

    raise NotFound("No such code request.")


can_delete_data = True  # volunteers.privacy


def data_export_url(token: str) -> str | None:
    from django.urls import reverse

    return reverse("booking-my-data", args=[token])


def volunteer_data_delete(*, manage_token: str) -> None:
    """The page's confirmation form is the explicit confirmation the service asks for."""
    from volunteers import privacy

    privacy.volunteer_data_delete_for_booking(manage_token=manage_token, confirm=privacy.DELETE_CONFIRMATION)
