from django.urls import path, re_path

from web.volunteer import aftercare, campaign, confirmations, lifts, needed, views

app_name = "volunteer"

# A private link's token: what secrets.token_urlsafe makes. Anything else is an unknown URL (404).
TOKEN = r"(?P<token>[A-Za-z0-9_-]{8,100})"

urlpatterns = [
    path("", views.home, name="home"),
    path("find/", views.find, name="find"),
    path("s/<int:session_id>/", views.session_detail, name="session"),
    path("s/<int:session_id>/preview.png", views.session_preview, name="session_preview"),
    path("s/<int:session_id>/book/", views.book, name="book"),
    re_path(rf"^check/{TOKEN}/$", views.check, name="check"),
    re_path(rf"^check/{TOKEN}/resend/$", views.resend, name="resend"),
    path("needed/", needed.needed, name="needed"),
    re_path(r"^c/(?P<token>c[0-9]+\.[A-Za-z0-9_-]{8,100})/$", campaign.campaign_withdraw, name="campaign_withdraw"),
    re_path(rf"^n/{TOKEN}$", needed.signup_page, name="signup"),
    re_path(rf"^n/{TOKEN}/change/$", needed.signup_change, name="signup_change"),
    re_path(rf"^n/{TOKEN}/stop/$", needed.signup_stop, name="signup_stop"),
    re_path(rf"^b/{TOKEN}$", views.manage, name="manage"),
    re_path(rf"^b/{TOKEN}/prove/$", views.prove, name="prove"),
    re_path(rf"^b/{TOKEN}/cancel/$", views.cancel, name="cancel"),
    re_path(rf"^b/{TOKEN}/party/$", views.party, name="party"),
    re_path(rf"^b/{TOKEN}/decline/$", views.decline, name="decline"),
    re_path(rf"^b/{TOKEN}/confirm/$", confirmations.confirm, name="confirm"),
    re_path(rf"^b/{TOKEN}/move/$", views.swap, name="swap"),
    re_path(rf"^b/{TOKEN}/calendar\.ics$", views.calendar_file, name="calendar"),
    re_path(rf"^b/{TOKEN}/feed/$", views.calendar_feed, name="calendar_feed"),
    re_path(rf"^b/{TOKEN}/data/$", views.my_data, name="my_data"),
    re_path(rf"^b/{TOKEN}/email/$", views.email, name="email"),
    re_path(rf"^b/{TOKEN}/lifts/$", lifts.page, name="lifts"),
    re_path(rf"^b/{TOKEN}/lift/offer/$", lifts.offer, name="lift_offer"),
    re_path(rf"^b/{TOKEN}/lift/ask/$", lifts.ask, name="lift_ask"),
    re_path(rf"^b/{TOKEN}/lift/answer/$", lifts.answer, name="lift_answer"),
    re_path(rf"^b/{TOKEN}/lift/cancel/$", lifts.cancel, name="lift_cancel"),
    re_path(rf"^b/{TOKEN}/lift/withdraw/$", lifts.withdraw, name="lift_withdraw"),
    re_path(rf"^b/{TOKEN}/after$", aftercare.feedback, name="feedback"),
    re_path(rf"^b/{TOKEN}/here/$", aftercare.check_in, name="check_in"),
    path("privacy/", views.privacy, name="privacy"),
    path("my/", views.my, name="my"),
    re_path(rf"^my/check/{TOKEN}/$", views.my_check, name="my_check"),
    re_path(rf"^my/check/{TOKEN}/resend/$", views.my_resend, name="my_resend"),
    path("my/forget/", views.forget_device, name="forget_device"),
    path("my/messages/", campaign.my_messages, name="my_messages"),
]
