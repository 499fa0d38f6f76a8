from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as switch_language

from .forms import ProfileForm
from .services import remember_chosen_language, remember_language, save_language


@login_required
def profile(request):
    """Public site, the signed-in user: edit their own profile."""
    form = ProfileForm(request.POST or None, request.FILES or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        translation.activate(user.language)
        messages.success(request, _("Profile saved."))
        return remember_language(redirect("profile"), user.language)
    if request.method == "POST":
        # A refused form must not leave a half-changed user on the request (e.g. in the navbar).
        request.user.refresh_from_db()
    return render(request, "public/accounts/profile.html", {"form": form}, status=400 if form.errors else 200)


@require_POST
def set_language(request):
    """Anyone, on any host: the footer's language switcher (Django's set_language).

    A signed-in user's profile keeps the choice too, so signing in again
    (which applies the profile's language) does not undo it. A visitor's
    choice waits in the session and goes into the profile when they sign in.
    """
    response = switch_language(request)
    if request.user.is_authenticated:
        save_language(request.user, request.POST.get("language", ""))
    else:
        remember_chosen_language(request, request.POST.get("language", ""))
    return response
