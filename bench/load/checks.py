"""Verification once the outbox drained: every booking and text exactly once, no slot over capacity."""

from __future__ import annotations

import contextlib
import time
from collections import Counter

from bench.load.client import Client


def outbox_settle(timeout: float) -> tuple[float, int]:
    """Wait until no text is waiting or being sent (beat's sweep re-enqueues what outages lost)."""
    from django.db import connection

    from notify.sms.models import SmsMessage

    started = time.monotonic()
    left = -1
    while time.monotonic() - started < timeout:
        try:
            left = SmsMessage.objects.filter(status__in=["pending", "sending"]).count()
            if left == 0:
                break
        except Exception:  # noqa: BLE001 - a connection broken by a restart: reconnect
            with contextlib.suppress(Exception):
                connection.close()
        time.sleep(2)
    return time.monotonic() - started, left

def verify(client: Client, received: list[dict], violations: list) -> dict:
    """What the database and the loopback Twilio (`received`: its messages' sid, to and body) say about every
    booking the client made."""
    from django.db import connection

    with contextlib.suppress(Exception):
        connection.close()
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT v.phone, b.slot_id, b.id, b.status, b.proven_at IS NOT NULL, b.manage_token
            FROM volunteers_booking b JOIN volunteers_volunteer v ON v.id = b.volunteer_id""")
        rows = cursor.fetchall()
        cursor.execute("SELECT phone, count(*) FROM volunteers_volunteer GROUP BY phone HAVING count(*) > 1")
        doubled_volunteers = cursor.fetchall()
        cursor.execute("""
            SELECT count(*) FILTER (WHERE confirmed > capacity), count(*) FILTER (WHERE confirmed <> confirmed_count),
                   count(*) FILTER (WHERE confirmed = capacity), coalesce(sum(confirmed), 0), coalesce(sum(waitlisted), 0)
            FROM (SELECT s.id, s.capacity, s.confirmed_count,
                         count(b.id) FILTER (WHERE b.status = 'confirmed') AS confirmed,
                         count(b.id) FILTER (WHERE b.status = 'waitlisted') AS waitlisted
                  FROM canvass_slot s LEFT JOIN volunteers_booking b ON b.slot_id = s.id
                  WHERE s.confirmed_count > 0 OR b.id IS NOT NULL GROUP BY s.id) per_slot""")
        over, mismatch, full, confirmed, waitlisted = cursor.fetchone()
        cursor.execute('SELECT id, "to", body, status, twilio_sid, skip_reason, kind, attempts FROM sms_smsmessage')
        messages = cursor.fetchall()
    by_key: dict[tuple[str, int], list] = {}
    by_phone: dict[str, list] = {}
    for phone, slot_id, booking_id, status, proven, manage_token in rows:
        by_key.setdefault((phone, slot_id), []).append((booking_id, status, proven))
        by_phone.setdefault(phone, []).append(manage_token)
    seen_2xx = [b for b in client.bookings if b.tokens]
    lost = [b.phone for b in seen_2xx if not by_key.get((b.phone, b.slot_id))]
    doubled = [b.phone for b in seen_2xx if len(by_key.get((b.phone, b.slot_id), [])) > 1]
    proven_seen = [b for b in seen_2xx if b.manage_token]
    proof_lost = [b.phone for b in proven_seen
                  if not any(p for _, _, p in by_key.get((b.phone, b.slot_id), []))
                  or b.manage_token not in by_phone.get(b.phone, [])]
    no_2xx_phones = {b.phone for b in client.bookings if not b.tokens}
    stored_without_2xx = sum(1 for phone, _ in by_key if phone in no_2xx_phones)

    by_sid = Counter(m["sid"] for m in received)
    by_text = Counter((m["to"], m["body"]) for m in received)
    row_sids = {m[4] for m in messages if m[4]}
    statuses = Counter(m[3] for m in messages)
    skipped = Counter(m[5] for m in messages if m[3] == "skipped")
    sms_unsent = sum(1 for m in messages if m[3] in ("pending", "sending", "failed"))
    sms_accepted = [m for m in messages if m[3] in ("queued", "sent", "delivered", "undelivered")]
    sms_lost = sum(1 for m in sms_accepted if by_sid[m[4]] == 0)
    sms_doubled = sum(1 for m in messages if by_text[(m[1], m[2])] > 1)
    sms_unrecorded = sum(1 for m in received if m["sid"] not in row_sids)
    phones_2xx = {b.phone for b in seen_2xx}
    rows_for_2xx = [m for m in messages if m[1] in phones_2xx]
    return {
        "actions": len(client.bookings), "seen_2xx": len(seen_2xx), "proven_seen": len(proven_seen),
        "code_missing": sum(b.code_missing for b in client.bookings),
        "lost": len(lost), "doubled": len(doubled) + len(doubled_volunteers), "proof_lost": len(proof_lost),
        "stored_without_2xx": stored_without_2xx, "bookings_stored": len(rows),
        "retried": sum(len(b.request_status) > 1 or len(b.proof_status) > 1 for b in client.bookings),
        "over_capacity": over, "count_mismatch": mismatch, "full_slots": full, "confirmed": confirmed,
        "waitlisted": waitlisted,
        "sms_rows": len(messages), "sms_rows_for_2xx": len(rows_for_2xx), "sms_statuses": dict(statuses),
        "sms_skipped": dict(skipped), "sms_unsent": sms_unsent, "sms_lost": sms_lost, "sms_doubled": sms_doubled,
        "sms_unrecorded": sms_unrecorded, "sms_received": len(received), "contract_violations": len(violations),
        "kinds": dict(Counter(m[6] for m in messages)),
        # More than one claim: a send that died (or failed) half-way and was taken over, Twilio asked first.
        "sms_taken_over": sum(1 for m in messages if m[7] > 1),
        "examples": {"lost": lost[:3], "doubled": doubled[:3], "proof_lost": proof_lost[:3]},
    }

def verification_problems(v: dict) -> list[str]:
    problems = []
    for key, what in (("lost", "bookings lost"), ("doubled", "bookings doubled"), ("proof_lost", "proofs lost"),
                      ("over_capacity", "slots over capacity"), ("count_mismatch", "slots whose confirmed_count is wrong"),
                      ("sms_unsent", "texts not sent"), ("sms_lost", "texts recorded as sent that Twilio never got"),
                      ("sms_doubled", "texts sent twice"), ("sms_unrecorded", "texts Twilio got that no row records"),
                      ("contract_violations", "requests breaking Twilio's spec")):
        if v[key]:
            problems.append(f"{v[key]} {what}")
    return problems

def verification_lines(v: dict) -> list[str]:
    problems = verification_problems(v)
    return [
        f"- Bookings: {v['actions']:,} booking actions, {v['seen_2xx']:,} answered 202 (of them {v['proven_seen']:,} "
        f"proven with 200), {v['bookings_stored']:,} booking rows stored; lost **{v['lost']}**, doubled "
        f"**{v['doubled']}**, proofs lost {v['proof_lost']}; stored although the client saw no 2xx (answer lost "
        f"on the way): {v['stored_without_2xx']}; booking actions that needed a retry: {v['retried']}; code never "
        f"found in the outbox: {v['code_missing']}.",
        f"- Slots: over capacity **{v['over_capacity']}**, confirmed_count disagreeing with the bookings "
        f"{v['count_mismatch']}; {v['confirmed']:,} confirmed and {v['waitlisted']:,} waitlisted, {v['full_slots']} "
        "slots full.",
        f"- Texts: {v['sms_rows']:,} outbox rows ({', '.join(f'{k} {n}' for k, n in sorted(v['kinds'].items()))}), "
        f"{v['sms_rows_for_2xx']:,} of them to volunteers who saw a 2xx; statuses "
        f"{', '.join(f'{k} {n}' for k, n in sorted(v['sms_statuses'].items()))}"
        + (f" (skipped: {', '.join(f'{k} {n}' for k, n in sorted(v['sms_skipped'].items()))})" if v["sms_skipped"] else "")
        + f"; the loopback Twilio received {v['sms_received']:,}: not sent **{v['sms_unsent']}**, sent twice "
        f"**{v['sms_doubled']}**, recorded but never received {v['sms_lost']}, received but not recorded "
        f"{v['sms_unrecorded']}, requests breaking Twilio's spec {v['contract_violations']}; rows that took more than "
        f"one attempt (a send taken over after its worker died, or retried): {v['sms_taken_over']}.",
        "- Verdict: " + ("every booking seen is stored exactly once, no slot over capacity, every text sent exactly "
                         "once." if not problems else "**" + "; ".join(problems) + "**."),
    ]
