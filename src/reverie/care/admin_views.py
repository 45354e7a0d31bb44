"""The practice admin's page for care grants: who may see a client beyond their caseload."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from reverie.accounts.models import Role, User
from reverie.audit import trail
from reverie.care import actions
from reverie.care.models import CareGrant, Client
from reverie.core.decorators import role_required, signed_in_user


class GrantForm(forms.Form):
    client = forms.ModelChoiceField(queryset=Client.objects.none())
    therapist = forms.ModelChoiceField(queryset=User.objects.none())
    reason = forms.CharField(max_length=200, help_text="For example: cover during leave.")

    def __init__(self, *args: object, practice_id: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["client"].queryset = Client.objects.filter(practice_id=practice_id)  # type: ignore[attr-defined]
        self.fields["therapist"].queryset = User.objects.filter(  # type: ignore[attr-defined]
            practice_id=practice_id, role=Role.THERAPIST, is_active=True
        )


def _render(request: HttpRequest, form: GrantForm, status: int = 200) -> HttpResponse:
    admin = signed_in_user(request)
    grants = (
        CareGrant.objects.filter(client__practice_id=admin.practice_id)
        .select_related("client", "therapist", "granted_by")
        .order_by("revoked_at", "-created_at")
    )
    return render(request, "care/grants.html", {"grants": grants, "form": form}, status=status)


@role_required(Role.ADMIN)
def grants(request: HttpRequest) -> HttpResponse:
    admin = signed_in_user(request)
    if request.method == "POST":
        form = GrantForm(request.POST, practice_id=admin.practice_id)
        if form.is_valid():
            try:
                actions.grant_access(
                    trail.context(request),
                    client=form.cleaned_data["client"],
                    therapist=form.cleaned_data["therapist"],
                    reason=form.cleaned_data["reason"],
                )
            except actions.CareActionError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "Access granted.")
                return redirect("practice:grants")
        return _render(request, form, status=400)
    return _render(request, GrantForm(practice_id=admin.practice_id))


@role_required(Role.ADMIN)
@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    admin = signed_in_user(request)
    grant = get_object_or_404(CareGrant, pk=pk, client__practice_id=admin.practice_id)
    actions.revoke_grant(trail.context(request), grant)
    messages.success(request, "Access revoked.")
    return redirect("practice:grants")
