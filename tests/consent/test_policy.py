"""Platform privacy policy (CON-1, CON-2): publishing rules, the current version, acceptance,
policy_status, and the inbox fan-out on publish."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User
from consent.models import Notification, PolicyAcceptance, PolicyNoticeDismissal, PolicyVersion
from consent.policy.selectors import policy_current, policy_status
from consent.policy.services import policy_accept, policy_notice_dismiss, policy_version_publish

Kind = PolicyVersion.MajorKind


def draft(
    version: str = "1.0", *, level: str = PolicyVersion.Level.MINOR, kinds: list[str] | None = None, **fields: object
) -> PolicyVersion:
    values = {
        "title_en": f"Privacy policy {version}",
        "title_zh": f"隐私政策 {version}",
        "body_en": f"English text of {version}.",
        "body_zh": f"{version} 的中文文本。",
        **fields,
    }
    return PolicyVersion.objects.create(version=version, level=level, major_kinds=kinds or [], **values)


def published(version: str = "1.0", *, ago: timedelta = timedelta(0), **kwargs: object) -> PolicyVersion:
    """A published version whose effective date is `ago` in the past."""
    item = draft(version, **kwargs)
    policy_version_publish(version=item, actor=None)
    PolicyVersion.objects.filter(pk=item.pk).update(effective_at=timezone.now() - ago)
    item.refresh_from_db()
    return item


def snapshot(item: PolicyVersion) -> tuple:
    item = PolicyVersion.objects.get(pk=item.pk)
    return (item.status, item.effective_at, item.published_at, Notification.objects.count())


# --- publishing rules (CON-1, CON-2) -----------------------------------------------------------


def test_publish_makes_a_draft_current_now(world):
    item = draft()
    assert policy_current() is None
    result = policy_version_publish(version=item, actor=world.olga)
    assert result.status == PolicyVersion.Status.PUBLISHED
    assert result.published_at is not None and result.effective_at == result.published_at
    assert policy_current() == item


def test_a_future_effective_date_is_not_current_before_it(world):
    first = published("1.0", ago=timedelta(days=10))
    later = draft("2.0")
    when = timezone.now() + timedelta(days=7)
    policy_version_publish(version=later, effective_at=when, actor=None)
    assert policy_current() == first
    assert policy_current(at=when + timedelta(seconds=1)) == later


@pytest.mark.parametrize(
    "level, kinds, field",
    [
        (PolicyVersion.Level.MAJOR, [], "major_kinds"),
        (PolicyVersion.Level.MAJOR, ["not-a-kind"], "major_kinds"),
        (PolicyVersion.Level.MAJOR, [Kind.RIGHTS, Kind.RIGHTS], "major_kinds"),
        (PolicyVersion.Level.MINOR, [Kind.RECIPIENTS], "major_kinds"),
    ],
)
def test_major_needs_kinds_and_minor_none(world, level, kinds, field):
    item = draft(level=level, kinds=kinds)
    before = snapshot(item)
    with pytest.raises(ValidationError) as excinfo:
        policy_version_publish(version=item, actor=None)
    assert field in excinfo.value.message_dict
    assert snapshot(item) == before


@pytest.mark.parametrize("field", ["title_en", "title_zh", "body_en", "body_zh"])
def test_both_languages_are_required(world, field):
    item = draft(**{field: "  "})
    before = snapshot(item)
    with pytest.raises(ValidationError) as excinfo:
        policy_version_publish(version=item, actor=None)
    assert list(excinfo.value.message_dict) == [field]
    assert snapshot(item) == before


def test_a_major_version_with_kinds_publishes(world):
    item = draft(level=PolicyVersion.Level.MAJOR, kinds=[Kind.PURPOSE, Kind.CONTACT])
    assert policy_version_publish(version=item, actor=None).status == PolicyVersion.Status.PUBLISHED


def test_no_double_publish(world):
    item = published()
    before = snapshot(item)
    with pytest.raises(ValidationError) as excinfo:
        policy_version_publish(version=PolicyVersion.objects.get(pk=item.pk), actor=None)
    assert "status" in excinfo.value.message_dict
    assert snapshot(item) == before


def test_effective_date_in_the_past_or_before_a_published_version_is_refused(world):
    item = draft("1.0")
    with pytest.raises(ValidationError) as excinfo:
        policy_version_publish(version=item, effective_at=timezone.now() - timedelta(days=1), actor=None)
    assert "effective_at" in excinfo.value.message_dict
    future = draft("2.0")
    policy_version_publish(version=future, effective_at=timezone.now() + timedelta(days=30), actor=None)
    before = snapshot(item)
    with pytest.raises(ValidationError) as excinfo:
        policy_version_publish(version=item, actor=None)
    assert "effective_at" in excinfo.value.message_dict
    assert snapshot(item) == before


# --- inbox fan-out on publish (CON-2) ------------------------------------------------------------


def test_publishing_notifies_every_active_account_exactly_once(world, django_assert_max_num_queries):
    User.objects.filter(pk=world.oscar.pk).update(is_active=False)
    active = set(User.objects.filter(is_active=True).values_list("pk", flat=True))
    item = draft("3.0", level=PolicyVersion.Level.MAJOR, kinds=[Kind.RECIPIENTS])
    # set-based: lock, checks, update, one SELECT of ids and one INSERT per batch, whatever the number of accounts;
    # then taking effect (consent.policy.services): the due versions, one UPDATE of the accounts, activated_at
    with django_assert_max_num_queries(15):
        policy_version_publish(version=item, actor=None)
    rows = Notification.objects.filter(kind="policy")
    assert sorted(rows.values_list("account_id", flat=True)) == sorted(active)
    assert world.oscar.pk not in set(rows.values_list("account_id", flat=True))
    sample = rows.first()
    assert sample.url == "/policy/3.0/"
    assert "3.0" in sample.title and "major" in sample.title.lower()


def test_minor_notification_says_minor(world):
    published("1.1")
    assert "minor" in Notification.objects.filter(account=world.bob).get().title.lower()


def test_notify_many_writes_in_batches(world, monkeypatch, django_assert_num_queries):
    from consent.inbox import services as inbox

    monkeypatch.setattr(inbox, "BATCH_SIZE", 2)
    ids = [world.alice.pk, world.bob.pk, world.gina.pk, world.oscar.pk, world.erin.pk]
    # 1 SAVEPOINT, 2-4 one INSERT per batch (2 + 2 + 1 rows), 5 RELEASE SAVEPOINT
    with django_assert_num_queries(5):
        assert inbox.notify_many(account_ids=iter(ids), kind="test", title="Hello") == 5
    assert Notification.objects.filter(kind="test").count() == 5


# --- acceptance and status ------------------------------------------------------------------------


def test_accept_is_idempotent_and_only_for_published(world):
    item = published()
    first = policy_accept(account=world.bob, version=item, channel="api", ip="10.0.0.1")
    again = policy_accept(account=world.bob, version=item, channel="web", ip="10.0.0.2")
    assert first.pk == again.pk and again.channel == "api" and again.ip == "10.0.0.1"
    assert PolicyAcceptance.objects.filter(account=world.bob).count() == 1
    with pytest.raises(ValidationError):
        policy_accept(account=world.bob, version=draft("9.9"), channel="web")
    with pytest.raises(ValidationError):
        policy_accept(account=world.bob, version=item, channel="fax")


def test_status_without_any_version(world):
    status = policy_status(account=world.bob)
    assert status.current is None
    assert not (status.accepted or status.needs_reacceptance or status.show_notice)


def test_status_major_not_accepted_needs_reacceptance(world):
    old = published("1.0", ago=timedelta(days=30))
    policy_accept(account=world.bob, version=old, channel="web")
    major = published("2.0", level=PolicyVersion.Level.MAJOR, kinds=[Kind.PURPOSE])
    status = policy_status(account=world.bob)
    assert status.current == major and not status.accepted
    assert status.needs_reacceptance and not status.show_notice
    policy_accept(account=world.bob, version=major, channel="web")
    status = policy_status(account=world.bob)
    assert status.accepted and not status.needs_reacceptance and not status.show_notice


def test_status_minor_shows_a_notice_until_accepted_or_dismissed(world):
    minor = published("1.1")
    status = policy_status(account=world.bob)
    assert status.show_notice and not status.needs_reacceptance and not status.accepted
    policy_notice_dismiss(account=world.bob, version=minor)
    policy_notice_dismiss(account=world.bob, version=minor)  # idempotent
    assert PolicyNoticeDismissal.objects.filter(account=world.bob).count() == 1
    assert not policy_status(account=world.bob).show_notice
    assert policy_status(account=world.erin).show_notice  # someone else's dismissal is theirs only
    policy_accept(account=world.erin, version=minor, channel="app")
    assert not policy_status(account=world.erin).show_notice


def test_status_ignores_a_version_not_yet_in_force(world):
    current = published("1.0", ago=timedelta(days=1))
    policy_accept(account=world.bob, version=current, channel="web")
    policy_version_publish(
        version=draft("2.0", level=PolicyVersion.Level.MAJOR, kinds=[Kind.RISK]),
        effective_at=timezone.now() + timedelta(days=3),
        actor=None,
    )
    status = policy_status(account=world.bob)
    assert status.current == current and status.accepted and not status.needs_reacceptance


def test_a_replaced_version_cannot_be_accepted_but_a_future_one_can(world):
    old = published("1.0", ago=timedelta(days=10))
    published("2.0", ago=timedelta(days=1))
    with pytest.raises(ValidationError) as excinfo:
        policy_accept(account=world.bob, version=old, channel="web")
    assert "version" in excinfo.value.message_dict
    future = draft("3.0")
    policy_version_publish(version=future, effective_at=timezone.now() + timedelta(days=2), actor=None)
    assert policy_accept(account=world.bob, version=future, channel="web").version == future
    assert PolicyAcceptance.objects.filter(account=world.bob).count() == 1


def test_only_a_minor_version_has_a_notice_to_dismiss(world):
    major = published("2.0", level=PolicyVersion.Level.MAJOR, kinds=[Kind.OWNERSHIP])
    with pytest.raises(ValidationError):
        policy_notice_dismiss(account=world.bob, version=major)
    with pytest.raises(ValidationError):
        policy_notice_dismiss(account=world.bob, version=draft("3.0"))
    assert not PolicyNoticeDismissal.objects.exists()
