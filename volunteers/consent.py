"""The wording a volunteer agrees to when they tick "text me about this", and its version.

Pages and the API documentation show CONSENT_SMS_TEXT next to the box; every consent stored on a
Volunteer records when it was given and CONSENT_SMS_VERSION. Change the wording, change the version.
"""

from django.utils.translation import gettext_lazy as _

CONSENT_SMS_VERSION = "2026-12-sms-2"  # -1 said the same at greater length
CONSENT_SMS_TEXT = _(
    "Text me about my bookings: confirmations, reminders, changes, places that open up. Reply STOP to stop "
    "(a code or link you ask for still comes)."
)

# Email, a second channel with its own consent (notify.email); every email carries a one-click unsubscribe link.
CONSENT_EMAIL_VERSION = "2026-12-email-1"
CONSENT_EMAIL_TEXT = _(
    "Email me about my bookings too: confirmations, changes, cancellations and reminders, with a calendar file. "
    "Every email has a link to stop them."
)

# Campaign messages (notify.consent: calls to action, "come again", coordinators' broadcasts marked so): a consent of
# their own, by text and email alike, never ticked by default. The link in every campaign message withdraws it.
CONSENT_CAMPAIGN_VERSION = "2026-12-campaign-2"  # -1 said the same at greater length
CONSENT_CAMPAIGN_TEXT = _(
    "Also send me calls to action and campaign news by text and email. Each says who sent it; its link or STOP "
    "stops them."
)
