"""Retention settings in the console (RET-1): `/console/retention/`.

Administrators whose scope holds the `retention` category (owners, full admins; it is granted
on the whole enterprise only) see every category's period and bounds and change them; each
change is a ledger entry (retention.services.settings)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core.views import ConsoleView
from retention.selectors import RetentionRow, purge_last_run, retention_effective
from retention.services.settings import retention_settings_update
from tenants.access import Manage
from tenants.categories import Category


class RetentionForm(forms.Form):
    """One whole number of days per category; the bounds are the service's to check."""

    def __init__(self, *args: Any, rows: list[RetentionRow], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows = rows
        for row in rows:
            self.fields[row.category] = forms.IntegerField(
                label=row.label,
                initial=row.days,
                widget=forms.NumberInput(attrs={"min": row.min_days, "max": row.max_days}),
            )


class RetentionSettingsView(ConsoleView):
    access = Manage(Category.RETENTION, enterprise_wide=True)

    def render_page(self, request: HttpRequest, form: RetentionForm, *, status: int = 200) -> HttpResponse:
        last_run = purge_last_run(enterprise=self.enterprise)
        last_rows = (
            [(row.label, last_run.rows.get(row.category, 0)) for row in form.rows if row.purged]
            if last_run is not None
            else []
        )
        return render(
            request,
            "enterprise_data/retention/settings.html",
            {
                "form": form,
                "rows": [(row, form[row.category]) for row in form.rows],
                "last_run": last_run,
                "last_rows": last_rows,
            },
            status=status,
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_page(request, RetentionForm(rows=retention_effective(enterprise=self.enterprise)))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = RetentionForm(request.POST, rows=retention_effective(enterprise=self.enterprise))
        if form.is_valid():
            try:
                changed = retention_settings_update(
                    enterprise=self.enterprise, actor=self.membership, days=form.cleaned_data
                )
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                if changed:
                    messages.success(request, _("The retention periods were saved."))
                else:
                    messages.info(request, _("Nothing was changed."))
                return redirect("console_retention")
        return self.render_page(request, form, status=400)
