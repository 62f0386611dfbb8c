"""A staff member's own password: changed at the first login (a one-time password) and whenever
they want, from the workbench."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.password_validation import password_validators_help_texts
from django.shortcuts import redirect, render

from .services import change_password


class OwnPasswordForm(PasswordChangeForm):
    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.fields["old_password"].label = "当前密码"
        self.fields["new_password1"].label = "新密码"
        self.fields["new_password2"].label = "再次输入新密码"
        self.fields["new_password1"].help_text = ""
        for f in self.fields.values():
            f.widget = forms.PasswordInput(attrs={"autocomplete": "new-password"})
        self.fields["old_password"].widget.attrs["autocomplete"] = "current-password"

    def clean_new_password1(self):
        new = self.cleaned_data.get("new_password1", "")
        if new and new == self.data.get("old_password"):
            raise forms.ValidationError("新密码不能与当前密码相同")
        return new

    def save(self, commit=True):
        change_password(self.user, self.cleaned_data["new_password1"])
        return self.user


@login_required
def password(request):
    first = request.user.must_change_password
    form = OwnPasswordForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        update_session_auth_hash(request, request.user)  # stay logged in here, not elsewhere
        messages.success(request, "密码已修改")
        return redirect("web:home")
    return render(
        request,
        "accounts/password.html",
        {"form": form, "first": first, "rules": password_validators_help_texts()},
        status=400 if request.method == "POST" else 200,
    )
