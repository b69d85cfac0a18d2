"""Envelope encryption and crypto-shredding (RET-6): enterprise member data
(core.encryption) and platform account data (accounts.encryption).

See docs/encryption.md for the key hierarchy these tests exercise."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from accounts.encryption import account_key_destroy, decrypt_for_account, encrypt_for_account
from accounts.models import AccountDataKey, User
from core import encryption
from core.encryption import KeyUnavailable, decrypt_for_member, encrypt_for_member, enterprise_key, member_key_destroy
from core.models import MemberDataKey, Membership
from tenants.context import enterprise_schema
from tenants.crypto import FORMAT_VERSION, NONCE_BYTES, unseal
from tenants.models import EnterpriseKey

ID_NUMBER = "11010519491231002X"


@pytest.fixture
def bob(world) -> Membership:
    return world.membership(world.acme, world.bob)


@pytest.fixture
def erin(world) -> Membership:
    return world.membership(world.acme, world.erin)


def encrypt(world, member: Membership, value: str = ID_NUMBER, field: str = "id_number") -> bytes:
    return encrypt_for_member(enterprise=world.acme, membership_id=member.pk, field=field, value=value)


def decrypt(world, member_id: int, blob: bytes, field: str = "id_number", enterprise=None) -> bytes:
    return decrypt_for_member(enterprise=enterprise or world.acme, membership_id=member_id, field=field, blob=blob)


# --- enterprise member data ------------------------------------------------------------------------


def test_round_trip_of_text_and_bytes(world, bob):
    blob = encrypt(world, bob)
    assert decrypt(world, bob.pk, blob) == ID_NUMBER.encode()
    template = bytes(range(256)) * 4
    blob = encrypt_for_member(enterprise=world.acme, membership_id=bob.pk, field="template", value=template)
    assert decrypt(world, bob.pk, blob, field="template") == template
    assert decrypt(world, bob.pk, encrypt(world, bob, "张三")) == "张三".encode()


def test_the_format_is_version_nonce_ciphertext_and_tag(world, bob):
    first, second = encrypt(world, bob), encrypt(world, bob)
    assert first[:1] == FORMAT_VERSION == b"\x01"
    assert len(first) == 1 + NONCE_BYTES + len(ID_NUMBER.encode()) + 16
    assert first[1 : 1 + NONCE_BYTES] != second[1 : 1 + NONCE_BYTES]  # a fresh random nonce each time
    assert first != second


def test_a_changed_byte_or_another_format_does_not_open(world, bob):
    blob = bytearray(encrypt(world, bob))
    blob[-1] ^= 0x01
    with pytest.raises(KeyUnavailable):
        decrypt(world, bob.pk, bytes(blob))
    with pytest.raises(KeyUnavailable):
        decrypt(world, bob.pk, b"\x02" + bytes(blob[1:]))
    with pytest.raises(KeyUnavailable):
        decrypt(world, bob.pk, b"\x01short")


def test_a_ciphertext_is_bound_to_its_member(world, bob, erin):
    encrypt(world, erin, "erin's own value")  # Erin has a data key: the failure is the binding
    blob = encrypt(world, bob)
    with pytest.raises(KeyUnavailable):
        decrypt(world, erin.pk, blob)


def test_a_ciphertext_is_bound_to_its_field(world, bob):
    blob = encrypt(world, bob, field="id_number")
    with pytest.raises(KeyUnavailable):
        decrypt(world, bob.pk, blob, field="health_details")


def test_each_member_has_their_own_wrapped_data_key(world, bob, erin):
    encrypt(world, bob)
    encrypt(world, erin)
    with enterprise_schema(world.acme):
        keys = dict(
            MemberDataKey.objects.filter(membership__in=[bob, erin]).values_list("membership_id", "wrapped_key")
        )
        bob_key = encryption._member_key(world.acme, bob.pk, create=False)
        erin_key = encryption._member_key(world.acme, erin.pk, create=False)
    assert bob_key != erin_key and len(bob_key) == 32
    assert bob_key not in bytes(keys[bob.pk])  # stored only wrapped
    # the wrapped key is bound to its member too: Bob's row cannot be moved to Erin
    with enterprise_schema(world.acme):
        MemberDataKey.objects.filter(membership=erin).update(wrapped_key=keys[bob.pk])
    with pytest.raises(KeyUnavailable):
        decrypt(world, erin.pk, encrypt(world, bob))


def test_member_key_destroy_is_crypto_shredding(world, bob, erin):
    bob_blob, erin_blob = encrypt(world, bob), encrypt(world, erin)
    assert member_key_destroy(enterprise=world.acme, membership_id=bob.pk) is True
    with pytest.raises(KeyUnavailable):
        decrypt(world, bob.pk, bob_blob)
    assert decrypt(world, erin.pk, erin_blob) == ID_NUMBER.encode()  # only Bob's data is gone
    assert member_key_destroy(enterprise=world.acme, membership_id=bob.pk) is False
    # a new key for Bob (e.g. he rejoins) never opens the old ciphertexts
    encrypt(world, bob, "new value")
    with pytest.raises(KeyUnavailable):
        decrypt(world, bob.pk, bob_blob)


def test_a_raw_database_read_shows_no_plaintext(world, bob):
    blob = encrypt(world, bob)
    with enterprise_schema(world.acme):
        Membership.objects.filter(pk=bob.pk).update(id_number_encrypted=blob)
        with connection.cursor() as cursor:
            cursor.execute("SELECT id_number_encrypted FROM enterprise_data_membership WHERE id = %s", [bob.pk])
            stored = bytes(cursor.fetchone()[0])
            cursor.execute("SELECT m::text FROM enterprise_data_membership m WHERE id = %s", [bob.pk])
            row_text = cursor.fetchone()[0]
            cursor.execute("SELECT k::text FROM enterprise_data_memberdatakey k WHERE membership_id = %s", [bob.pk])
            key_row_text = cursor.fetchone()[0]
        data_key = encryption._member_key(world.acme, bob.pk, create=False)
        read_back = Membership.objects.get(pk=bob.pk).id_number_encrypted
    assert stored == blob
    assert ID_NUMBER.encode() not in stored
    assert ID_NUMBER not in row_text and ID_NUMBER.lower() not in row_text
    assert data_key.hex() not in key_row_text
    assert decrypt(world, bob.pk, bytes(read_back)) == ID_NUMBER.encode()


def test_another_enterprise_cannot_open_a_ciphertext_even_with_the_wrapped_key_copied(world, bob):
    """Copy Bob's wrapped key row into globex (the same membership id exists there: ids
    collide) and present his ciphertext: globex's enterprise key cannot unwrap it."""
    blob = encrypt(world, bob)
    with enterprise_schema(world.acme):
        wrapped = bytes(MemberDataKey.objects.get(membership=bob).wrapped_key)
    with enterprise_schema(world.globex):
        assert Membership.objects.filter(pk=bob.pk).exists()  # a different person, same id
        MemberDataKey.objects.filter(membership_id=bob.pk).delete()
        MemberDataKey.objects.create(membership_id=bob.pk, wrapped_key=wrapped)
    with pytest.raises(KeyUnavailable):
        decrypt(world, bob.pk, blob, enterprise=world.globex)
    # the enterprise keys themselves differ: not even acme's associated data opens it with globex's key
    assert enterprise_key(world.acme) != enterprise_key(world.globex)
    with pytest.raises(KeyUnavailable):
        unseal(enterprise_key(world.globex), wrapped, aad=encryption._wrap_aad(world.acme, bob.pk))


def test_a_destroyed_enterprise_key_makes_every_member_key_unusable(world, bob, erin):
    bob_blob, erin_blob = encrypt(world, bob), encrypt(world, erin)
    EnterpriseKey.objects.filter(enterprise=world.acme).update(destroyed_at=timezone.now())
    for member, blob in ((bob, bob_blob), (erin, erin_blob)):
        with pytest.raises(KeyUnavailable):
            decrypt(world, member.pk, blob)
    with pytest.raises(KeyUnavailable):  # nothing new can be encrypted either
        encrypt(world, world.membership(world.acme, world.dana))
    # other enterprises are unaffected
    gus = world.membership(world.globex, world.gus)
    globex_blob = encrypt_for_member(enterprise=world.globex, membership_id=gus.pk, field="id_number", value="x")
    assert decrypt(world, gus.pk, globex_blob, enterprise=world.globex) == b"x"


def test_enterprise_key_destroy_cannot_be_undone(world, bob):
    """Termination (TEN-4) destroys the key: the salt is overwritten, so clearing destroyed_at
    afterwards does not bring the old key back."""
    blob = encrypt(world, bob)
    assert encryption.enterprise_key_destroy(enterprise=world.acme) is True
    with pytest.raises(KeyUnavailable):
        decrypt(world, bob.pk, blob)
    EnterpriseKey.objects.filter(enterprise=world.acme).update(destroyed_at=None)
    with pytest.raises(KeyUnavailable):
        decrypt(world, bob.pk, blob)
    assert encryption.enterprise_key_destroy(enterprise=world.acme) is False  # nothing usable was left
    with pytest.raises(KeyUnavailable):  # and no fresh key is made for a destroyed enterprise
        encrypt(world, bob)


def test_destroying_an_unused_enterprise_key_leaves_a_destroyed_row(world):
    EnterpriseKey.objects.filter(enterprise=world.initech).delete()
    assert encryption.enterprise_key_destroy(enterprise=world.initech) is False
    with pytest.raises(KeyUnavailable):
        enterprise_key(world.initech)


# --- platform account data -------------------------------------------------------------------------


def test_account_round_trip_binding_and_destroy(world):
    bob, dana = world.bob, world.dana
    blob = encrypt_for_account(account=bob, field="legal_name", value="王小明")
    assert decrypt_for_account(account=bob, field="legal_name", blob=blob) == "王小明".encode()
    encrypt_for_account(account=dana, field="legal_name", value="x")  # Dana has a key of her own
    with pytest.raises(KeyUnavailable):
        decrypt_for_account(account=dana, field="legal_name", blob=blob)
    with pytest.raises(KeyUnavailable):
        decrypt_for_account(account=bob, field="id_number", blob=blob)
    dana_blob = encrypt_for_account(account=dana, field="id_number", value=ID_NUMBER)
    assert account_key_destroy(account=bob) is True
    with pytest.raises(KeyUnavailable):
        decrypt_for_account(account=bob, field="legal_name", blob=blob)
    assert account_key_destroy(account=bob) is False
    assert decrypt_for_account(account=dana, field="id_number", blob=dana_blob) == ID_NUMBER.encode()


def test_account_data_is_not_readable_in_the_database(world):
    account = world.oscar
    blob = encrypt_for_account(account=account, field="id_number", value=ID_NUMBER)
    User.objects.filter(pk=account.pk).update(
        id_number_encrypted=blob,
        legal_name_encrypted=encrypt_for_account(account=account, field="legal_name", value="Oscar Legalname"),
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT u::text FROM accounts_user u WHERE id = %s", [account.pk])
        row_text = cursor.fetchone()[0]
    assert ID_NUMBER not in row_text and "Legalname" not in row_text
    wrapped = bytes(AccountDataKey.objects.get(account=account).wrapped_key)
    assert wrapped[:1] == FORMAT_VERSION
    stored = User.objects.get(pk=account.pk)
    assert (
        decrypt_for_account(account=account, field="id_number", blob=stored.id_number_encrypted) == ID_NUMBER.encode()
    )


def test_decrypt_many_reads_what_is_readable_in_two_queries(world, django_assert_num_queries):
    from core.encryption import decrypt_many_for_members, encrypt_for_member, member_key_destroy

    bob = world.membership(world.acme, world.bob)
    erin = world.membership(world.acme, world.erin)
    blobs = [
        (
            f"{m.pk}-{i}",
            m.pk,
            encrypt_for_member(enterprise=world.acme, membership_id=m.pk, field="batch", value=f"secret {m.pk} {i}"),
        )
        for m in (bob, erin)
        for i in range(3)
    ]
    # 1 SET search_path public, 2 the enterprise key, 3 SET search_path acme, 4 the members' data keys
    with django_assert_num_queries(4):
        plain = decrypt_many_for_members(enterprise=world.acme, field="batch", items=blobs)
    assert plain == {key: f"secret {mid} {key[-1]}".encode() for key, mid, _blob in blobs}
    member_key_destroy(enterprise=world.acme, membership_id=erin.pk)
    plain = decrypt_many_for_members(enterprise=world.acme, field="batch", items=blobs)
    assert set(plain) == {key for key, mid, _blob in blobs if mid == bob.pk}  # Erin's are shredded
    assert decrypt_many_for_members(enterprise=world.acme, field="other", items=blobs) == {}  # field-bound
