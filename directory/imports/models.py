"""One import of members (issue 16 §5): the file the administrator confirmed, the job's state
and progress, and its outcome. In the enterprise's own schema: another enterprise never sees it."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class MemberImport(models.Model):
    """A confirmed import. `content` holds the rows read from the uploaded file (JSON) until the
    job has run (then it is emptied: the outcome stays, the personal data in the file does not); `errors` lists the rows
    the job refused by row number and field, never their values."""

    class State(models.TextChoices):
        QUEUED = "queued", pgettext_lazy("import state", "Queued")
        RUNNING = "running", pgettext_lazy("import state", "Importing")
        DONE = "done", pgettext_lazy("import state", "Done")
        FAILED = "failed", pgettext_lazy("import state", "Failed")

    created_by = models.ForeignKey(
        "enterprise_data.Membership",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    file_name = models.CharField(_("file"), max_length=200)
    file_sha256 = models.CharField(max_length=64, editable=False, verbose_name=_("file SHA-256"))
    content = models.BinaryField(null=True, blank=True, editable=False, verbose_name=_("content"))
    language = models.CharField(max_length=16, default="zh-hans", verbose_name=_("language"))
    send_invitations = models.BooleanField(_("send invitations by SMS"), default=True)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress"), default=0)
    rows_total = models.PositiveIntegerField(default=0, verbose_name=_("rows total"))
    created_count = models.PositiveIntegerField(default=0, verbose_name=_("created count"))
    updated_count = models.PositiveIntegerField(default=0, verbose_name=_("updated count"))
    unchanged_count = models.PositiveIntegerField(default=0, verbose_name=_("unchanged count"))
    bad_count = models.PositiveIntegerField(default=0, verbose_name=_("bad count"))
    errors = models.JSONField(default=list, blank=True, editable=False, verbose_name=_("errors"))

    class Meta:
        app_label = "enterprise_data"
        verbose_name = _("member import")
        verbose_name_plural = _("member imports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"member import #{self.pk} {self.state}"

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)
