"""Org structure (ENT-1): a department tree, positions and ranks."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from enterprise_data.categories import Category, scope_permission


class Department(models.Model):
    """A node of the tree. `path` is the materialized path of ids (`/1/4/9/`), so a subtree is
    one indexed prefix match and a move is one UPDATE. Scoped admins hold django-guardian
    permissions `scope_<category>` on departments (ENT-8)."""

    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent department"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(max_length=255, editable=False, db_index=True)
    sort_order = models.PositiveIntegerField(_("order"), default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["path"]
        permissions = [(scope_permission(value), f"Scope: {value}") for value in Category.values]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="department_unique_name_per_parent"),
            models.UniqueConstraint(fields=["path"], name="department_unique_path"),
        ]
        indexes = [models.Index(fields=["path"], name="department_path_prefix", opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2


class Position(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)

    class Meta:
        verbose_name = _("position")
        verbose_name_plural = _("positions")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Rank(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    level = models.PositiveSmallIntegerField(_("level"), default=0)

    class Meta:
        verbose_name = _("rank")
        verbose_name_plural = _("ranks")
        ordering = ["level", "name"]

    def __str__(self) -> str:
        return self.name
