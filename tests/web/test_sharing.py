"""Sharing a session, its link preview, and the calendar and map links (web.sharing, web.preview), through the
Django test client: every link decoded back to what it says, and never a private link, address or host's name
where a third party reads it."""

import html
import io
import re
from datetime import UTC
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from django.core.cache import cache
from django.utils import timezone
from PIL import Image

from sessions.models import CanvassSession
from tests.factories import book
from tests.web.volunteer_data import ADDRESS, VOLUNTEER_POSTCODE, neighbourhood
from volunteers.models import Booking
from web import preview

pytestmark = pytest.mark.django_db

PRIVATE_WORDS = ("Secret Gardens", "Crookes\n", "S10 1ZZ", "Priya")


@pytest.fixture
def area():
    cache.clear()  # drawn previews from an earlier test's session ids
    return neighbourhood()


def _text(response) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.content.decode())


def _hrefs(page: str) -> list[str]:
    return re.findall(r'href="([^"]*)"', page)


def _one(page: str, prefix: str) -> str:
    found = [href for href in _hrefs(page) if href.startswith(prefix)]
    assert len(found) == 1, (prefix, found)
    return found[0]


def _meta(page: str, prop: str) -> str:
    found = re.search(rf'<meta (?:property|name)="{re.escape(prop)}" content="([^"]*)"', page)
    assert found, prop
    return found.group(1)


def _share_text(page: str) -> dict[str, str]:
    """What each share link carries, decoded as the receiving app decodes it."""
    whatsapp = parse_qs(urlsplit(_one(page, "https://wa.me/")).query)["text"][0]
    sms = unquote(_one(page, "sms:").split("body=", 1)[1])
    mail = urlsplit(_one(page, "mailto:"))
    mail_query = parse_qs(mail.query)
    return {"whatsapp": whatsapp, "sms": sms, "email_subject": mail_query["subject"][0],
            "email_body": mail_query["body"][0]}


def test_the_session_page_offers_its_public_link_and_share_links(client, area):
    page = _text(client.get(f"/s/{area.session.pk}/"))
    url = f"http://testserver/s/{area.session.pk}/"
    assert f'id="share-url">{url}</a>' in page  # selectable text without script
    assert "Copy link" in page and re.search(r"/static/web/share\.([0-9a-f]+\.)?js", page)
    shared = _share_text(page)
    for text in (shared["whatsapp"], shared["sms"], shared["email_body"]):
        assert text.startswith("Come canvassing with me: Crookes Saturday doors, Sheffield Hallam (S10 area),")
        assert text.endswith(url)
    assert shared["email_subject"] == "Canvassing: Crookes Saturday doors, Sheffield Hallam"
    for words in PRIVATE_WORDS:
        assert all(words not in text for text in shared.values())


def test_share_links_encode_every_character_a_title_may_hold(client, area):
    area.session.title = "Doors & tea: 50% more #canvass + cake?"
    area.session.save()
    raw = client.get(f"/s/{area.session.pk}/").content.decode()
    page = html.unescape(raw)
    whatsapp = _one(page, "https://wa.me/")
    assert " " not in whatsapp and "+" not in whatsapp and "#" not in whatsapp.split("?", 1)[1]
    assert "&amp;" in raw.split("https://wa.me/")[1].split('"')[0] or "%26" in whatsapp  # HTML-escaped or encoded
    shared = _share_text(page)
    assert "Doors & tea: 50% more #canvass + cake?" in shared["whatsapp"]
    assert "Doors & tea: 50% more #canvass + cake?" in shared["sms"]
    assert shared["email_subject"].startswith("Canvassing: Doors & tea: 50% more #canvass + cake?")
    assert _one(page, "sms:").startswith("sms:?&body=")
    assert '<meta property="og:title" content="Doors &amp; tea: 50% more #canvass + cake?, Sheffield Hallam">' in raw
    assert "&amp;amp;" not in raw  # escaped once, never twice


def test_open_graph_tags_say_the_session_once_with_a_preview_and_nothing_private(client, area):
    page = _text(client.get(f"/s/{area.session.pk}/"))
    assert page.count('property="og:title"') == 1
    assert _meta(page, "og:title") == "Crookes Saturday doors, Sheffield Hallam"
    assert _meta(page, "og:url") == f"http://testserver/s/{area.session.pk}/"
    assert _meta(page, "og:site_name") == "Frontroom"
    assert _meta(page, "twitter:card") == "summary_large_image"
    description = _meta(page, "og:description")
    assert "Sheffield Hallam (S10 area)" in description and "10:00-14:00" in description
    image = _meta(page, "og:image")
    assert re.fullmatch(rf"http://testserver/s/{area.session.pk}/preview\.png\?v=[0-9a-z-]+", image)
    assert (_meta(page, "og:image:width"), _meta(page, "og:image:height")) == ("1200", "630")
    head = page.split("</head>")[0]
    for words in PRIVATE_WORDS + ("/b/",):
        assert words not in head


def test_the_title_names_the_seat_once_when_the_host_already_did(client, area):
    area.session.title = "Sheffield Hallam Saturday doors"
    area.session.save()
    page = _text(client.get(f"/s/{area.session.pk}/"))
    assert _meta(page, "og:title") == "Sheffield Hallam Saturday doors"
    assert "<title>Sheffield Hallam Saturday doors · Frontroom</title>" in page


def test_an_edit_gives_the_preview_a_new_url(client, area):
    before = _meta(_text(client.get(f"/s/{area.session.pk}/")), "og:image")
    area.session.title = "Crookes Sunday doors"
    area.session.save()
    assert _meta(_text(client.get(f"/s/{area.session.pk}/")), "og:image") != before


def test_the_preview_is_a_1200_by_630_png_with_caching_headers(client, area):
    response = client.get(f"/s/{area.session.pk}/preview.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    picture = Image.open(io.BytesIO(response.content))
    assert (picture.format, picture.size) == ("PNG", (1200, 630))
    assert response["Cache-Control"] == "public, max-age=3600"
    assert response["ETag"].startswith(f'"{area.session.pk}-')
    assert response["Last-Modified"].endswith(" GMT")
    again = client.get(f"/s/{area.session.pk}/preview.png", headers={"If-None-Match": response["ETag"]})
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == response["ETag"]
    since = client.get(f"/s/{area.session.pk}/preview.png", headers={"If-Modified-Since": response["Last-Modified"]})
    assert since.status_code == 304
    assert client.head(f"/s/{area.session.pk}/preview.png").status_code == 200
    assert client.post(f"/s/{area.session.pk}/preview.png").status_code == 405


def test_an_edited_session_answers_a_stale_etag_with_the_new_picture(client, area):
    first = client.get(f"/s/{area.session.pk}/preview.png")
    area.session.title = "Crookes Sunday doors"
    area.session.save()
    response = client.get(f"/s/{area.session.pk}/preview.png", headers={"If-None-Match": first["ETag"]})
    assert response.status_code == 200 and response["ETag"] != first["ETag"]
    assert response.content != first.content


def test_the_preview_is_drawn_once_per_version_from_public_words_only(client, area, monkeypatch):
    drawn = []
    real = preview.preview_png
    monkeypatch.setattr(preview, "preview_png", lambda text: drawn.append(text) or real(text))
    for _ in range(3):
        assert client.get(f"/s/{area.session.pk}/preview.png").status_code == 200
    assert len(drawn) == 1
    words = " ".join(str(value) for value in vars(drawn[0]).values())
    assert "Crookes Saturday doors" in words and "Sheffield Hallam · S10 area" in words
    assert "10:00-14:00" in words and "Frontroom" in words
    for private in ("Secret Gardens", "Crookes Road", "S10 1ZZ", "Priya", area.session.meeting_point.name,
                    area.session.meeting_point.host.username):
        assert private not in words
    area.session.save()  # a new version: drawn again
    client.get(f"/s/{area.session.pk}/preview.png")
    assert len(drawn) == 2


def test_a_very_long_title_still_fits_the_picture(area):
    area.session.title = "W" * 40 + " " + "doors " * 20
    png = preview.preview_png(preview.preview_text(area.session))
    assert Image.open(io.BytesIO(png)).size == (1200, 630)


@pytest.mark.parametrize("path", ["/s/{id}/", "/s/{id}/preview.png"])
def test_a_cancelled_session_has_no_page_and_no_preview(client, area, path):
    CanvassSession.objects.filter(pk=area.session.pk).update(status=CanvassSession.Status.CANCELLED,
                                                             cancelled_at=timezone.now())
    assert client.get(path.format(id=area.session.pk)).status_code == 404


@pytest.mark.parametrize("path", ["/s/0/preview.png", "/s/99999999999999999999/preview.png", "/s/x/preview.png"])
def test_unknown_previews_are_404(client, area, path):
    assert client.get(path).status_code == 404


def test_the_manage_page_adds_the_slot_to_google_and_outlook_with_the_shown_address(client, area):
    booking = book(area.slot, postcode=VOLUNTEER_POSTCODE, proven=True)
    page = _text(client.get(f"/b/{booking.manage_token}"))
    google = parse_qs(urlsplit(_one(page, "https://calendar.google.com/calendar/render?action=")).query)
    start, end = area.slot.starts_at.astimezone(UTC), area.slot.ends_at.astimezone(UTC)
    assert google["action"] == ["TEMPLATE"]
    assert google["text"] == ["Canvassing: Crookes Saturday doors"]
    assert google["dates"] == [f"{start:%Y%m%dT%H%M%SZ}/{end:%Y%m%dT%H%M%SZ}"]
    assert google["location"] == ["14 Secret Gardens, Crookes, S10 1ZZ"]
    assert f"http://testserver/s/{area.session.pk}/" in google["details"][0]
    outlook = parse_qs(urlsplit(_one(page, "https://outlook.live.com/calendar/0/deeplink/compose?")).query)
    assert outlook["subject"] == ["Canvassing: Crookes Saturday doors"]
    assert outlook["startdt"] == [f"{start:%Y-%m-%dT%H:%M:%SZ}"] and outlook["enddt"] == [f"{end:%Y-%m-%dT%H:%M:%SZ}"]
    assert outlook["location"] == google["location"] and outlook["body"] == google["details"]
    maps = parse_qs(urlsplit(_one(page, "https://www.google.com/maps/search/?")).query)
    assert maps == {"api": ["1"], "query": ["14 Secret Gardens, Crookes, S10 1ZZ"]}
    for link in (_one(page, "https://calendar.google.com"), _one(page, "https://outlook"), _one(page, "https://www.google.com/maps")):
        assert booking.manage_token not in unquote(link)


def test_without_the_address_shown_the_calendar_links_say_the_district_and_there_is_no_map(client, area):
    area.session.requires_approval = True
    area.session.save()
    booking = book(area.slot, postcode=VOLUNTEER_POSTCODE, proven=True)
    Booking.objects.filter(pk=booking.pk).update(approval=Booking.Approval.PENDING)
    page = _text(client.get(f"/b/{booking.manage_token}"))
    assert "Waiting for the host's answer" in page
    google = parse_qs(urlsplit(_one(page, "https://calendar.google.com/calendar/render?action=")).query)
    assert google["location"] == ["S10 area, in Sheffield Hallam"]
    assert "google.com/maps" not in page and "Open in Maps" not in page
    for words in PRIVATE_WORDS:
        assert all(words not in unquote(href) for href in _hrefs(page))


def test_an_unproven_booking_shows_no_calendar_or_map_link_but_may_bring_a_friend(client, area):
    booking = book(area.slot, postcode=VOLUNTEER_POSTCODE)
    page = _text(client.get(f"/b/{booking.manage_token}"))
    assert "calendar.google.com" not in page and "outlook.live.com" not in page and "google.com/maps" not in page
    assert "Bring a friend" in page


def test_bring_a_friend_shares_the_public_page_never_the_private_link(client, area):
    booking = book(area.slot, postcode=VOLUNTEER_POSTCODE, proven=True)
    page = _text(client.get(f"/b/{booking.manage_token}"))
    assert "Bring a friend" in page
    assert f'id="share-url">http://testserver/s/{area.session.pk}/</a>' in page
    shared = _share_text(page)
    for text in shared.values():
        assert booking.manage_token not in text and "/b/" not in text
        assert ADDRESS.split("\n")[0] not in text and "Priya" not in text
    assert shared["whatsapp"].endswith(f"http://testserver/s/{area.session.pk}/")
    for href in _hrefs(page):
        if href.startswith(("https://wa.me", "https://calendar", "https://outlook", "https://www.google")):
            assert re.search(rf'href="{re.escape(html.escape(href))}" rel="noopener noreferrer"',
                             client.get(f"/b/{booking.manage_token}").content.decode())


def test_the_feed_is_a_webcal_and_a_google_subscription_with_the_address_box_folded(client, area):
    booking = book(area.slot, postcode=VOLUNTEER_POSTCODE, proven=True)
    page = _text(client.post(f"/b/{booking.manage_token}/feed/", follow=True))
    feed = re.search(r'id="feed-url"[^>]*value="(https?://[^"]+)"', page).group(1)
    webcal = _one(page, "webcal://")
    assert webcal == "webcal://" + feed.split("://", 1)[1]
    google = parse_qs(urlsplit(_one(page, "https://calendar.google.com/calendar/render?cid=")).query)
    assert google == {"cid": [webcal]}
    assert "Subscribe on this device" in page and "Subscribe in Google Calendar" in page
    assert re.search(r"<details><summary>[^<]+</summary>\s*<p><label for=\"feed-url\">", page)


def test_the_host_sees_the_share_link_after_publishing(client, area):
    host = area.session.meeting_point.host
    client.force_login(host)
    page = _text(client.get(f"/host/sessions/{area.session.pk}/"))
    assert "Share this session" in page
    assert f'id="share-url">http://testserver/s/{area.session.pk}/</a>' in page
    shared = _share_text(page)
    for words in PRIVATE_WORDS:
        assert all(words not in text for text in shared.values())


def test_a_cancelled_session_offers_the_host_nothing_to_share(client, area):
    CanvassSession.objects.filter(pk=area.session.pk).update(status=CanvassSession.Status.CANCELLED,
                                                             cancelled_at=timezone.now())
    client.force_login(area.session.meeting_point.host)
    page = _text(client.get(f"/host/sessions/{area.session.pk}/"))
    assert "Share this session" not in page and "wa.me" not in page


def test_a_word_wider_than_the_picture_is_cut_to_fit(area):
    _font, lines = preview._fit("W" * 90 + " doors", 1200 - 2 * preview.MARGIN, preview.TITLE_SIZES, 3)
    assert all(_font.getlength(line) <= 1200 - 2 * preview.MARGIN for line in lines)
    assert "".join(lines).startswith("W" * 50)


@pytest.fixture
def builtin_font(settings):
    """No font file on the machine: Pillow's built-in font, which draws ASCII only."""
    settings.PREVIEW_FONT = "no-such-font-file.ttf"
    preview._font.cache_clear()
    yield
    preview._font.cache_clear()


def test_without_a_font_file_accents_are_folded_not_drawn_as_boxes(area, builtin_font):
    area.hallam.name = "Ynys Môn"
    area.hallam.save()
    area.session.refresh_from_db()  # its seat as saved
    area.session.title = "Ŵyl Dewi doors – café after"
    text = preview.preview_text(area.session)
    assert preview._drawable(text.title) == "Wyl Dewi doors - cafe after"
    assert preview._drawable(text.place) == "Ynys Mon · S10 area"
    assert Image.open(io.BytesIO(preview.preview_png(text))).size == (1200, 630)


def test_with_a_font_file_the_words_are_drawn_as_they_are(area):
    if preview._builtin_font():
        pytest.fail("DejaVu Sans is missing: install fonts-dejavu-core (the Dockerfile does)")
    assert preview._drawable("Ynys Môn – café") == "Ynys Môn – café"


def test_moving_the_room_to_another_district_redraws_the_preview(client, area):
    from sessions.services import meeting_point_update
    from tests.factories import PostcodeFactory, district

    first = client.get(f"/s/{area.session.pk}/preview.png")
    district("S6", area.hallam, lat=53.39, lng=-1.51)
    PostcodeFactory(postcode="S6 3AA", lat=53.39, lng=-1.51, seat=area.hallam)
    meeting_point_update(user=area.session.meeting_point.host, meeting_point=area.session.meeting_point,
                         postcode="S6 3AA")
    again = client.get(f"/s/{area.session.pk}/preview.png", headers={"If-None-Match": first["ETag"]})
    assert again.status_code == 200 and again["ETag"] != first["ETag"]
    area.session.refresh_from_db()
    assert preview.preview_text(area.session).place == "Sheffield Hallam · S6 area"
