"""Proof of phone: who holds a number is whoever reads the texts sent to it.

Every booking request and dispatch sign-up writes a PhoneChallenge and texts the phone a 6-digit code
and (for a booking) the booking's private link. The caller gets only the challenge's public token, and the
same answer whatever the phone: known or not, booked elsewhere or not. Typing the code
(challenge_verify) or pressing "this is my phone" on the link's page (booking_prove_by_link, a POST) proves
the phone; only then does the booking show the address, and only typing the code applies what a caller
said to a volunteer that already existed (or a new phone's email). Reading the link (booking_by_link, a
GET) proves nothing: link scanners and previews open links, some with a browser's User-Agent. Nothing here
ever returns an existing booking or volunteer to a caller who has not proven the phone.

One module per step, every public name offered here too: common (codes, challenges, what a request said),
requests (asking for a code), verification (typing it), links (a booking's private link).
"""

from volunteers.code_check import LINK_RELATED  # as the module offered it before the split
from volunteers.identity.common import (
    ALSO,
    CODE_DIGITS,
    PLACELESS,
    PhoneProven,
    challenge_by_token,
    challenge_new,
    code_hash,
    code_new,
    details_apply,
    details_said,
    email_said,
    limit_texts_to,
    phone_mask,
    windows_replace,
)
from volunteers.identity.links import (
    ADDRESS_STATUSES,
    booking_by_link,
    booking_details_update,
    booking_prove_by_link,
    booking_shows_address,
)
from volunteers.identity.requests import (
    booking_request,
    challenge_resend,
    contact_validate,
    my_bookings_request,
    texts_stopped_check,
    volunteer_signup_request,
)
from volunteers.identity.verification import challenge_verify

__all__ = [
    "ADDRESS_STATUSES",
    "ALSO",
    "CODE_DIGITS",
    "LINK_RELATED",
    "PLACELESS",
    "PhoneProven",
    "booking_by_link",
    "booking_details_update",
    "booking_prove_by_link",
    "booking_request",
    "booking_shows_address",
    "challenge_by_token",
    "challenge_new",
    "challenge_resend",
    "challenge_verify",
    "code_hash",
    "code_new",
    "contact_validate",
    "details_apply",
    "details_said",
    "email_said",
    "limit_texts_to",
    "my_bookings_request",
    "phone_mask",
    "texts_stopped_check",
    "volunteer_signup_request",
    "windows_replace",
]
