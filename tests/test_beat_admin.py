"""The scheduled jobs in the operators' console (issue 17 §5, operators/beat_admin.py): a crontab
schedule says what it means in the reader's language, the job form carries no inline script (the
console's Content-Security-Policy would block it) and every label is ours."""

from __future__ import annotations

import re

from django.test import Client
from django.utils import translation
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from operators.beat_admin import crontab_description
from tests.conftest import sign_in


def _crontab(**fields) -> CrontabSchedule:
    return CrontabSchedule.objects.create(**{"timezone": "Asia/Shanghai", **fields})


def test_a_crontab_says_what_it_means_in_the_readers_language(db):
    weekdays = _crontab(minute="30", hour="3", day_of_week="1-5")
    twice_a_year = _crontab(minute="0", hour="4", day_of_month="1", month_of_year="1,7")
    with translation.override("zh-hans"):
        zh = crontab_description(weekdays)
        assert "03:30" in zh and "星期一" in zh and "星期五" in zh and zh.endswith("(Asia/Shanghai)")
        assert not re.search(r"[A-Za-z]{3,}", zh.replace("Asia/Shanghai", ""))
        assert "一月" in crontab_description(twice_a_year) and "七月" in crontab_description(twice_a_year)
    with translation.override("en"):
        en = crontab_description(weekdays)
        assert en == "At 03:30, Monday through Friday (Asia/Shanghai)"
    assert str(weekdays) == "30 3 * * 1-5 (Asia/Shanghai)"  # no "(m/h/dM/MY/d)" legend


def test_a_job_form_shows_the_description_and_no_inline_script(world):
    crontab = _crontab(minute="30", hour="3")
    job = PeriodicTask.objects.create(name="Nightly purge", task="tenants.tasks.platform_purge", crontab=crontab)
    client = Client(HTTP_HOST="localhost")
    sign_in(client, world.olga, "public")
    client.cookies["django_language"] = "zh-hans"
    page = client.get(f"/admin/django_celery_beat/periodictask/{job.pk}/change/").content.decode()
    assert "定时计划的含义" in page and "在 03:30" in page
    assert "periodic-task-overrides" not in page and "readable-crontabs" not in page  # the package's script
    for script in re.findall(r"<script\b[^>]*>", page):
        assert "src=" in script or "nonce=" in script or 'type="application/json"' in script, script
    listing = client.get("/admin/django_celery_beat/periodictask/").content.decode()
    assert "作业名称" in listing and "Nightly purge" in listing
    crontabs = client.get(f"/admin/django_celery_beat/crontabschedule/{crontab.pk}/change/").content.decode()
    assert "使用此计划的作业" in crontabs and "含义" in crontabs


def test_admin_widgets_keep_their_themes_classes_and_portal_forms_get_tablers(world, client_for):
    """tenants.form_rendering gives a widget without a class Tabler's; a widget styled by its own
    theme (django-unfold's in /admin/) keeps its classes — a render's "class" would replace them
    and leave the operators' inputs without a border."""
    client = Client(HTTP_HOST="localhost")
    sign_in(client, world.olga, "public")
    page = client.get(f"/admin/tenants/enterprise/{world.acme.pk}/change/").content.decode()
    name_input = re.search(r'<input[^>]*name="name"[^>]*>', page)
    assert name_input is not None
    assert "border-base-200" in name_input.group(0) and "form-control" not in name_input.group(0)
    member_form = client_for("acme", world.alice).get("/console/members/new/").content.decode()
    display_name = re.search(r'<input[^>]*name="display_name"[^>]*>', member_form)
    assert display_name is not None and "form-control" in display_name.group(0)
