"""Twilio webhooks: inbound replies (answered with TwiML) and message status callbacks.

Both check X-Twilio-Signature with the SDK's RequestValidator over the public URL Twilio called
(SMS_WEBHOOK_BASE_URL + path), so they work behind a proxy; a forged or unsigned request gets 403.
Each is handled once (services.webhooks): a replay of a signed request answers 200 and changes nothing.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from core.api_errors import error_body
from notify.sms import services
from notify.sms.conf import sms_setting
from notify.sms.services.webhooks import MESSAGE_SID_MAX

ERROR_CODE_MAX = 2**31 - 1


def _signed(request: HttpRequest) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not settings.TWILIO_AUTH_TOKEN:
        return False
    url = sms_setting("SMS_WEBHOOK_BASE_URL").rstrip("/") + request.get_full_path()
    return RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, request.POST.dict(), signature)


def _forbidden() -> JsonResponse:
    return JsonResponse(error_body("invalid_signature", "Missing or invalid X-Twilio-Signature."), status=403)



def _require(request: HttpRequest, *names: str) -> JsonResponse | None:
    missing = [name for name in names if not request.POST.get(name, "").strip()]
    if not missing:
        if len(request.POST.get("MessageSid", "").strip()) > MESSAGE_SID_MAX:
            return JsonResponse(error_body("invalid", "MessageSid: Too long.", {"MessageSid": ["Too long."]}),
                                status=400)
        return None
    return JsonResponse(
        error_body("invalid", f"{missing[0]}: This field is required.", {name: ["This field is required."] for name in missing}),
        status=400,
    )


@csrf_exempt
@require_POST
def inbound(request: HttpRequest) -> HttpResponse:
    if not _signed(request):
        return _forbidden()
    error = _require(request, "MessageSid", "From")
    if error:
        return error
    reply = services.inbound_receive(message_sid=request.POST["MessageSid"].strip(),
                                     from_phone=request.POST["From"].strip(), body=request.POST.get("Body", ""))
    twiml = MessagingResponse()
    if reply:
        twiml.message(reply)
    return HttpResponse(str(twiml), content_type="text/xml")


@csrf_exempt
@require_POST
def status(request: HttpRequest) -> HttpResponse:
    if not _signed(request):
        return _forbidden()
    error = _require(request, "MessageSid", "MessageStatus")
    if error:
        return error
    raw_code = request.POST.get("ErrorCode", "").strip()
    # Twilio's codes are five digits; the column is a PostgreSQL integer (a bigger number was a 500).
    if raw_code and not (raw_code.isascii() and raw_code.isdigit() and int(raw_code) <= ERROR_CODE_MAX):
        message = f"A whole number from 0 to {ERROR_CODE_MAX}."
        return JsonResponse(error_body("invalid", f"ErrorCode: {message}", {"ErrorCode": [message]}), status=400)
    services.status_receive(
        message_sid=request.POST["MessageSid"].strip(), status=request.POST["MessageStatus"],
        error_code=int(raw_code) if raw_code else None, error_message=request.POST.get("ErrorMessage", ""),
    )
    return HttpResponse(status=204)
