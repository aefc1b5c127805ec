"""A host's account: signing up, confirming the email, signing in and out, resetting the password."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import DomainError
from core.ratelimit import limit_ip
from sessions.hosts import host_email_verification_resend, host_email_verify, host_signup
from web.hosts import forms
from web.hosts.forms import form_errors_from
from web.hosts.views.common import MODEL_BACKEND, posted

# ---- account ------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@limit_ip("host_signup_ip")
def signup(request):
    if request.user.is_authenticated:
        return redirect("hosts:home")
    form = forms.HostSignupForm(posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = host_signup(email=data["email"], password=data["password1"], first_name=data["first_name"])
        except DomainError as error:
            form_errors_from(error, form, field_map={"password": "password1"})
        else:
            login(request, user, backend=MODEL_BACKEND)
            messages.success(request, _("Welcome, %(name)s. We have emailed you a link to confirm your address. "
                                        "Meanwhile, open your front room.") % {"name": user.first_name})
            return redirect("hosts:room_new")
    return render(request, "web/hosts/signup.html", {"form": form})


@require_http_methods(["GET", "POST"])
def email_verify(request, token: str):
    """The link emailed to a new host. GET asks (a mail scanner opening links proves nothing); the button POSTs."""
    if request.method == "POST":
        try:
            host = host_email_verify(token=token)
        except DomainError as error:
            return render(request, "web/hosts/email_verify.html", {"problem": error.message}, status=400)
        messages.success(request, _("Thank you: your email address %(email)s is confirmed.") % {"email": host.email})
        return redirect("hosts:home" if request.user.is_authenticated else "hosts:login")
    return render(request, "web/hosts/email_verify.html", {"token": token})


@login_required
@require_POST
def email_verify_resend(request):
    try:
        host_email_verification_resend(host=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("We have emailed a new link to %(email)s.") % {"email": request.user.email})
    return redirect("hosts:home")


class LoginView(auth_views.LoginView):
    form_class = forms.HostLoginForm
    template_name = "web/hosts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    next_page = "/"


@method_decorator(limit_ip("password_reset_ip"), name="dispatch")
class PasswordResetView(auth_views.PasswordResetView):
    form_class = forms.HostPasswordResetForm
    template_name = "web/hosts/password_reset_form.html"
    email_template_name = "web/hosts/password_reset_email.txt"
    subject_template_name = "web/hosts/password_reset_subject.txt"
    success_url = reverse_lazy("hosts:password_reset_done")

    def form_valid(self, form):
        # The link is built from the configured public address, never from the request's Host header.
        self.extra_email_context = {"base_url": settings.PUBLIC_BASE_URL.rstrip("/"), "site_name": settings.SITE_NAME}
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "web/hosts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = forms.HostSetPasswordForm
    template_name = "web/hosts/password_reset_confirm.html"
    success_url = reverse_lazy("hosts:password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "web/hosts/password_reset_complete.html"
