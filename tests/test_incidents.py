"""Security incidents (SEC-4): operators record and publish in the admin; publication notifies
exactly the affected accounts (inbox, SMS, e-mail) and the administrators of the affected
enterprises; the console shows the incidents that concern its enterprise, and only those."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from consent.models import Notification, NotificationDelivery
from incidents.models import SecurityIncident
from incidents.services import (
    ADMIN_KIND,
    AFFECTED_KIND,
    incident_affected_account_ids,
    incident_publish,
    incident_regulator_update,
)

TEXTS = {
    "title_zh": "考勤设备数据泄露",
    "title_en": "Attendance device data exposed",
    "what_happened_zh": "某型号考勤机的日志可被读取。",
    "what_happened_en": "Logs of one attendance device model were readable.",
    "scope_zh": "姓名与打卡时间。",
    "scope_en": "Names and clock-in times.",
    "measures_zh": "已更换设备密钥。",
    "measures_en": "Device keys were replaced.",
    "advice_zh": "无需操作。",
    "advice_en": "No action is needed.",
}


def incident(**extra) -> SecurityIncident:
    return SecurityIncident.objects.create(discovered_at=timezone.now(), **{**TEXTS, **extra})


def inbox(kind: str) -> set[tuple[int, int | None]]:
    return set(Notification.objects.filter(kind=kind).values_list("account_id", "enterprise_id"))


def test_publication_notifies_exactly_the_affected_accounts_and_the_admins(world, django_capture_on_commit_callbacks):
    draft = incident(all_members_affected=True)
    draft.affected_enterprises.add(world.globex)
    draft.affected_accounts.add(world.bob)  # one acme member by name
    with django_capture_on_commit_callbacks() as scheduled:
        published = incident_publish(incident=draft)
    globex_members = {world.gina, world.greg, world.gus, world.gail, world.gary, world.gwen, world.dana}
    expected = {u.pk for u in globex_members | {world.bob}}
    assert published.status == "published" and published.notified_accounts == len(expected)
    assert inbox(AFFECTED_KIND) == {(pk, None) for pk in expected}
    # globex's owner and admin, in that enterprise's inbox; acme's admins are not concerned
    assert inbox(ADMIN_KIND) == {(world.gina.pk, world.globex.pk), (world.greg.pk, world.globex.pk)}
    sms = set(NotificationDelivery.objects.filter(kind=AFFECTED_KIND, channel="sms").values_list("address", flat=True))
    assert sms == {str(u.mobile) for u in globex_members | {world.bob}}
    assert len(scheduled) == 1  # SMS/e-mail leave after the commit, through Celery
    for outsider in (world.alice, world.amy, world.erin, world.oscar, world.olga, world.ivan):
        assert not Notification.objects.filter(account=outsider, kind__startswith="incident").exists()


def test_listed_accounts_only(world):
    draft = incident()
    draft.affected_enterprises.add(world.acme)  # concerned, but not every member affected
    draft.affected_accounts.add(world.erin)
    assert incident_affected_account_ids(incident=draft) == {world.erin.pk}
    incident_publish(incident=draft)
    assert inbox(AFFECTED_KIND) == {(world.erin.pk, None)}
    assert {a for a, _e in inbox(ADMIN_KIND)} == {world.alice.pk, world.amy.pk}


@pytest.mark.parametrize("missing", ["title_en", "advice_zh", "measures_en"])
def test_publication_needs_every_text_in_both_languages(world, missing):
    draft = incident(**{missing: " "})
    draft.affected_accounts.add(world.bob)
    with pytest.raises(ValidationError) as caught:
        incident_publish(incident=draft)
    assert missing in caught.value.error_dict
    draft.refresh_from_db()
    assert draft.status == "draft" and not Notification.objects.filter(kind=AFFECTED_KIND).exists()


def test_nobody_affected_and_publishing_twice_are_refused(world):
    with pytest.raises(ValidationError) as caught:
        incident_publish(incident=incident())
    assert "affected_accounts" in caught.value.error_dict
    draft = incident()
    draft.affected_accounts.add(world.bob)
    incident_publish(incident=draft)
    with pytest.raises(ValidationError):
        incident_publish(incident=draft)
    assert Notification.objects.filter(kind=AFFECTED_KIND).count() == 1


def test_regulator_status_is_recorded_after_publication(world):
    draft = incident()
    draft.affected_accounts.add(world.bob)
    incident_publish(incident=draft)
    with pytest.raises(ValidationError):
        incident_regulator_update(incident=draft, status="reported")  # when?
    updated = incident_regulator_update(
        incident=draft, status="reported", reported_at=timezone.now(), reference="CAC-2026-001"
    )
    assert (updated.regulator_status, updated.regulator_reference) == ("reported", "CAC-2026-001")


def test_console_and_pages_show_only_what_concerns_the_reader(world, client_for):
    acme_incident = incident(title_en="Acme incident")
    acme_incident.affected_enterprises.add(world.acme)
    acme_incident.affected_accounts.add(world.bob)
    incident_publish(incident=acme_incident)
    globex_incident = incident(title_en="Globex incident", all_members_affected=True)
    globex_incident.affected_enterprises.add(world.globex)
    incident_publish(incident=globex_incident)
    draft = incident(title_en="Draft incident")
    draft.affected_enterprises.add(world.acme)

    acme_console = client_for("acme", world.alice).get("/console/incidents/", HTTP_ACCEPT_LANGUAGE="en").content
    assert b"Acme incident" in acme_console and b"Globex incident" not in acme_console
    assert b"Draft incident" not in acme_console
    globex_console = client_for("globex", world.greg).get("/console/incidents/", HTTP_ACCEPT_LANGUAGE="en").content
    assert b"Globex incident" in globex_console and b"Acme incident" not in globex_console
    assert client_for("acme", world.bob).get("/console/incidents/").status_code == 403  # members: no console

    # the incident page: affected accounts on any host; admins of a concerned enterprise there
    assert client_for("public", world.bob).get(f"/incidents/{acme_incident.pk}/").status_code == 200
    assert client_for("acme", world.alice).get(f"/incidents/{acme_incident.pk}/").status_code == 200
    assert client_for("acme", world.erin).get(f"/incidents/{acme_incident.pk}/").status_code == 404
    assert client_for("public", world.bob).get(f"/incidents/{globex_incident.pk}/").status_code == 404
    assert client_for("globex", world.greg).get(f"/incidents/{acme_incident.pk}/").status_code == 404
    assert client_for("public", world.gus).get(f"/incidents/{globex_incident.pk}/").status_code == 200
    assert client_for("public", world.bob).get(f"/incidents/{draft.pk}/").status_code == 404
    zh = client_for("public", world.bob).get(f"/incidents/{acme_incident.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "考勤设备数据泄露".encode() in zh.content


def test_operators_publish_from_the_admin(world, client_for):
    draft = incident()
    draft.affected_accounts.add(world.erin)
    client = client_for("public", world.olga)
    response = client.post(
        "/admin/incidents/securityincident/", {"action": "publish", "_selected_action": [draft.pk]}, follow=True
    )
    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.status == "published" and inbox(AFFECTED_KIND) == {(world.erin.pk, None)}
    page = client.get(f"/admin/incidents/securityincident/{draft.pk}/change/")
    assert page.status_code == 200
