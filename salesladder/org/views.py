"""Shell pages: the role-based home redirect and the user's profile (with their API tokens)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from salesladder.errors import DomainError
from salesladder.http import AuthedRequest
from salesladder.org.context_processors import REP, user_role
from salesladder.org.forms import ApiTokenForm
from salesladder.org.selectors import api_tokens_of, teams_visible_to
from salesladder.org.services import api_token_create, api_token_revoke


@login_required
def home(request: AuthedRequest) -> HttpResponse:
    """Reps land on My pipeline; managers and admins on the team dashboard once it exists."""
    if user_role(request.user) != REP:
        try:
            return redirect(reverse("dashboard"))
        except NoReverseMatch:
            pass
    return redirect("pipeline:board")


def _profile_context(request: AuthedRequest, form: ApiTokenForm | None = None, **extra: object) -> dict[str, object]:
    return {
        "tokens": api_tokens_of(user=request.user),
        "teams": teams_visible_to(user=request.user).filter(memberships__user=request.user).distinct(),
        "token_form": form or ApiTokenForm(),
        **extra,
    }


@login_required
def profile(request: AuthedRequest) -> HttpResponse:
    return render(request, "org/profile.html", _profile_context(request))


@login_required
@require_POST
def token_create(request: AuthedRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            token, key = api_token_create(
                user=request.user, name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"]
            )
        except DomainError as exc:
            for field, msgs in exc.errors.items():
                for message in msgs:
                    form.add_error(field if field in form.fields else None, message)
        else:
            # The plain key is rendered once, in this response, and never again.
            messages.success(request, _("Token “%(name)s” created. Copy the key now.") % {"name": token.name})
            return render(request, "org/profile.html", _profile_context(request, new_key=key, new_token=token))
    return render(request, "org/profile.html", _profile_context(request, form), status=400)


@login_required
@require_POST
def token_revoke(request: AuthedRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(api_tokens_of(user=request.user), pk=pk)
    api_token_revoke(token=token, actor=request.user)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("profile")
