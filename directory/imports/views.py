"""Console pages of the import (issue 16 §5): the upload form and dry run, the confirmation,
the job's page (polled by htmx until it is done), and the template download."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation

from core.views import ConsoleView
from directory.imports.files import MAX_BYTES, template_csv, template_rows
from directory.imports.forms import ImportConfirmForm, ImportUploadForm
from directory.imports.models import MemberImport
from directory.imports.selectors import FIELD_LABELS
from directory.imports.services import (
    member_import_for,
    member_import_preview,
    member_import_start,
    member_imports_recent,
)
from tenants.access import Manage
from tenants.categories import Category
from tenants.spreadsheets import xlsx_response
from tenants.views import apply_service_errors

TEMPLATE = "enterprise_data/directory_import/"


class ImportView(ConsoleView):
    """GET: the upload form, the template and the recent imports. POST: the dry run — every
    row checked, nothing written; the preview lists every bad row with its field errors."""

    access = Manage(Category.DIRECTORY, form=True)

    def _page(self, request: HttpRequest, form: ImportUploadForm, status: int = 200, **extra: Any) -> HttpResponse:
        context = {"form": form, "imports": member_imports_recent(scope=self.scope), **extra}
        return render(request, TEMPLATE + "upload.html", context, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._page(request, ImportUploadForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ImportUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._page(request, form, status=400)
        upload = form.cleaned_data["file"]
        content = upload.read(MAX_BYTES + 1)  # one byte more than allowed: the service refuses it
        try:
            parsed, plan, token = member_import_preview(
                enterprise=self.enterprise, actor=self.membership, scope=self.scope, name=upload.name, content=content
            )
        except ValidationError as error:
            apply_service_errors(form, error)
            return self._page(request, form, status=400)
        return render(
            request,
            TEMPLATE + "preview.html",
            {
                "file_name": upload.name,
                "plan": plan,
                "bad_rows": [{"row": r.number, "name": r.name, "errors": r.error_list} for r in plan.bad_rows],
                "counts": plan.counts,
                "rows": len(plan.rows),
                "ignored_headers": parsed.ignored_headers,
                "confirm_form": ImportConfirmForm(initial={"token": token}),
            },
        )


class ImportConfirmView(ConsoleView):
    """POST only: store the previewed file and start the job (GET answers 405 and does nothing)."""

    access = Manage(Category.DIRECTORY)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ImportConfirmForm(request.POST)
        if form.is_valid():
            try:
                job = member_import_start(
                    enterprise=self.enterprise,
                    actor=self.membership,
                    token=form.cleaned_data["token"],
                    send_invitations=form.cleaned_data["send_invitations"],
                )
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                return redirect("console_member_import_job", pk=job.pk)
        upload = ImportUploadForm()
        return render(
            request,
            TEMPLATE + "upload.html",
            {"form": upload, "imports": member_imports_recent(scope=self.scope), "confirm_errors": form.errors},
            status=400,
        )


def _status(job: MemberImport) -> dict[str, Any]:
    errors = [
        {
            "row": item["row"],
            "errors": [(str(FIELD_LABELS.get(f, f)), m) for f, ms in item["errors"].items() for m in ms],
        }
        for item in job.errors
    ]
    return {"job": job, "polling": not job.finished, "errors": errors}


class ImportJobView(ConsoleView):
    """An import's progress and outcome; htmx polls it (the fragment only) until it is done."""

    access = Manage(Category.DIRECTORY)

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = member_import_for(scope=self.scope, pk=pk)
        if job is None:
            raise Http404("No such import.")
        if getattr(request, "htmx", False):
            return render(request, TEMPLATE + "_status.html", _status(job))
        return render(request, TEMPLATE + "job.html", _status(job))


class ImportTemplateView(ConsoleView):
    """The template: `?format=xlsx|csv`, `?language=zh|en` (default: the page's language)."""

    access = Manage(Category.DIRECTORY, form=True)

    def get(self, request: HttpRequest) -> HttpResponse:
        language = request.GET.get("language") or (
            "zh" if (translation.get_language() or "").startswith("zh") else "en"
        )
        language = "zh" if language == "zh" else "en"
        if request.GET.get("format") == "csv":
            response = HttpResponse(template_csv(language), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="member-import-template-{language}.csv"'
            return response
        header = template_rows(language)[0]
        notes_header = ["列", "说明"] if language == "zh" else ["Column", "How to fill it"]
        sheet_titles = ("成员", "说明") if language == "zh" else ("Members", "Instructions")
        with translation.override("zh-hans" if language == "zh" else "en"):
            notes = [[column, str(help_text)] for column, help_text in template_rows(language)[1]]
        return xlsx_response(
            f"member-import-template-{language}.xlsx",
            [(sheet_titles[0], header, []), (sheet_titles[1], notes_header, notes)],
        )
