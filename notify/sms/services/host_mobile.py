"""Proof of a host's own mobile: no host text about bookings goes to a number until its holder has typed the code
texted to it, so a host cannot make Frontroom text a stranger by naming their number on /host/notifications/.

- Saving a new mobile (or turning texts on for a mobile never sent a code) texts it a 6-digit code through the
  outbox (kind host_code, once per (proof, send)); the text says nothing the host typed. Only the code's hash is
  kept (volunteers.identity.code_hash), bound to the host's HostMobileProof.
- The code works once, for PHONE_CODE_TTL_MINUTES and PHONE_CODE_MAX_ATTEMPTS tries; each try is counted before the
  code is compared (in constant time) and kept when it fails. A new code (a resend, a new mobile) stops the old one.
- The limits are the volunteers' (core.ratelimit): code_send_phone and sms_phone_day per number, code_send_ip per
  client, and host_code_send per host (one host naming number after number); tries code_check_ip and
  code_check_phone.
- Until the mobile is proven, a host text about a booking is written skipped (mobile_unproven) and never sent.
"""

import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from core.errors import InvalidInput, InvalidState
from core.ratelimit import rate_limit
from notify.sms.models import HostMobileProof, HostSmsPreference, SmsMessage
from notify.sms.segments import segments_count
from notify.sms.texts import text_render
from volunteers.identity import CODE_DIGITS, code_hash, code_new

Status = SmsMessage.Status


def host_mobile_code_send(*, host, number: str, opted_out: bool = False, phone_invalid: bool = False,
                          client_ip: str | None = None) -> HostMobileProof:
    """Text a new code to `number` for the host, in the caller's transaction (which holds the host's preference
    locked); the code before it stops working. Counts host_code_send (per host), code_send_ip (per client, when
    given), code_send_phone and sms_phone_day (per number) first: RateLimited past any of them, with nothing sent.
    The text is written skipped if the number opted out or is invalid. Returns the proof (its `sends` keys the text)."""
    rate_limit(scope="host_code_send", key=str(host.pk),
               message=gettext("Too many codes asked for. Please wait a little and try again."), fields={"code": []})
    if client_ip:
        rate_limit(scope="code_send_ip", key=client_ip)
    rate_limit(scope="code_send_phone", key=number,
               message=gettext("Too many codes sent to this mobile. Please wait a little."))
    rate_limit(scope="sms_phone_day", key=number, message=gettext("Too many texts to this mobile today. Please try tomorrow."))
    proof = HostMobileProof.objects.select_for_update().filter(host=host).first() or HostMobileProof(
        host=host, token=secrets.token_urlsafe(16))
    code = code_new()
    proof.phone = number
    proof.code_hash = code_hash(challenge_token=proof.token, code=code)
    proof.sends += 1
    proof.attempts = 0
    proof.max_attempts = settings.PHONE_CODE_MAX_ATTEMPTS
    proof.expires_at = timezone.now() + timedelta(minutes=settings.PHONE_CODE_TTL_MINUTES)
    proof.verified_at = None
    proof.save()
    body = text_render("host_code", {"code": code})
    count = segments_count(body)
    reason = "opted_out" if opted_out else "phone_invalid" if phone_invalid else ""
    status = Status.SKIPPED if reason else Status.PENDING
    message = SmsMessage(host=host, host_proof=proof, kind=SmsMessage.Kind.HOST_CODE, version=proof.sends, to=number,
                         body=body, encoding=count.encoding, segments=count.segments, status=status,
                         status_rank=SmsMessage.RANK[status], skip_reason=reason, send_by=proof.expires_at)
    message.save(force_insert=True)
    if status == Status.PENDING:
        from notify.sms.services.outbox import message_enqueue

        transaction.on_commit(lambda: message_enqueue(message.pk))
    return proof


def host_mobile_code_needed(*, host, number: str) -> bool:
    """Whether saving `number` (unproven, texts wanted) should text it a code: no code was ever sent to it for
    this host (saving the form again does not text it again; the page offers a new code)."""
    return not HostMobileProof.objects.filter(host=host, phone=number).exists()


@transaction.atomic
def host_mobile_code_resend(*, host, client_ip: str | None = None) -> HostMobileProof:
    """Text the host's saved, unproven mobile a new code (the old one stops working), with fresh tries and expiry.
    Raises InvalidState (no mobile saved, or proven already), RateLimited (host_mobile_code_send's limits)."""
    preference = HostSmsPreference.objects.select_for_update().filter(host=host).first()
    if preference is None or not preference.mobile:
        raise InvalidState(gettext("Save your mobile number first."), code="no_mobile",
                           fields={"mobile": [gettext("Required for texts.")]})
    if preference.mobile_proven_at is not None:
        raise InvalidState(gettext("Your mobile is proven already."), code="mobile_proven", fields={"code": []})
    return host_mobile_code_send(host=host, number=preference.mobile, opted_out=preference.sms_opted_out,
                                 phone_invalid=preference.phone_invalid, client_ip=client_ip)


def _code_clean(code) -> str:
    digits = "".join(str(code or "").split())
    if len(digits) != CODE_DIGITS or not digits.isascii() or not digits.isdigit():
        raise InvalidInput(gettext("The code has %(digits)s digits: type the one from the text.") % {"digits": CODE_DIGITS},
                           code="invalid_code", fields={"code": [gettext("%(digits)s digits.") % {"digits": CODE_DIGITS}]})
    return digits


def _refused_why(proof: HostMobileProof, now: datetime) -> InvalidInput:
    if proof.verified_at is not None:
        return InvalidInput(gettext("That code has been used already: ask for a new one."), code="code_used",
                            fields={"code": [gettext("Used already.")]})
    if proof.expires_at <= now:
        return InvalidInput(gettext("That code has expired: ask for a new one."), code="code_expired",
                            fields={"code": [gettext("Expired.")]})
    return InvalidInput(gettext("Too many wrong codes: ask for a new one."), code="code_attempts",
                        fields={"code": [gettext("Too many wrong tries.")]})


def host_mobile_verify(*, host, code: str, client_ip: str) -> HostSmsPreference:
    """Prove the host's saved mobile with the code texted to it: from then on host texts go to it. Counts
    code_check_ip and code_check_phone, then the try (kept when it fails: call it outside a transaction), then
    compares in constant time. Raises InvalidInput on `code` (invalid_code, code_wrong with the tries left,
    code_expired, code_attempts, code_used), InvalidState no_code (no code sent to the saved mobile), RateLimited.
    Idempotent once proven: a proven mobile is returned as it is, counting nothing."""
    rate_limit(scope="code_check_ip", key=client_ip)
    digits = _code_clean(code)
    preference = HostSmsPreference.objects.filter(host=host).first()
    if preference is not None and preference.mobile and preference.mobile_proven_at is not None:
        return preference
    proof = HostMobileProof.objects.filter(host=host).first()
    if preference is None or not preference.mobile or proof is None or proof.phone != preference.mobile:
        raise InvalidState(gettext("No code has been sent to this mobile: ask for one."), code="no_code",
                           fields={"code": [gettext("Ask for a code first.")]})
    rate_limit(scope="code_check_phone", key=proof.phone)
    now = timezone.now()
    tried = code_hash(challenge_token=proof.token, code=digits)
    right = hmac.compare_digest(tried, proof.code_hash)
    live = HostMobileProof.objects.filter(pk=proof.pk, phone=proof.phone, sends=proof.sends, verified_at__isnull=True,
                                          expires_at__gt=now, attempts__lt=F("max_attempts"))
    if not live.update(attempts=F("attempts") + 1):
        proof.refresh_from_db()
        raise _refused_why(proof, now)
    if not right:
        left = max(0, proof.max_attempts - proof.attempts - 1)
        raise InvalidInput(gettext("That code is not right."), code="code_wrong", fields={"code": [
            gettext("Not the code we sent: %(left)s tries left.") % {"left": left} if left
            else gettext("Not the code we sent: ask for a new one.")]})
    with transaction.atomic():
        # Single use, and only the current code for the number still saved: a resend or a new mobile in between
        # changed the hash or the phone, and this UPDATE finds nothing.
        if not HostMobileProof.objects.filter(pk=proof.pk, phone=proof.phone, code_hash=tried,
                                              verified_at__isnull=True).update(verified_at=now):
            proof.refresh_from_db()
            raise _refused_why(proof, now) if proof.code_hash == tried else InvalidInput(
                gettext("A newer code was sent: type that one."), code="code_wrong",
                fields={"code": [gettext("Not the newest code.")]})
        HostSmsPreference.objects.filter(host=host, mobile=proof.phone, mobile_proven_at__isnull=True).update(
            mobile_proven_at=now, updated_at=now)
    preference.refresh_from_db()
    return preference
