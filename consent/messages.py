"""Inbox messages in the reader's language, chosen when the message is read (issue 17 §5,
docs/i18n.md "Notifications").

A notification stores what to say, not the words of the language its sender happened to use: a
`Message` (a msgid marked with `gettext_noop`, its parameters, an optional context), serialised
into Notification.title_message / body_message; the page, the API and the export translate it
for whoever reads it. Parameters are plain values (names, dates as yyyy-mm-dd, numbers), a
`Choice` (a model field's choice, labelled at read time) or another `Message`. `Texts` carries
text someone wrote in both languages (a security incident's notice). The rendered text of the
sender's language is still stored in `title`/`body`: rows written before this existed, the
admin, the SMS and e-mail copies read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.utils.translation import get_language, gettext, pgettext
from django.utils.translation import gettext_lazy as _

# What each notification `kind` (a code its sender sets) is, for people (the operators' admin).
KIND_LABELS: dict[str, Any] = {
    "request": _("Data-subject request"),
    "policy": _("Privacy policy"),
    "enterprise_notice": _("Notice about personal data"),
    "account_deletion": _("Account deletion"),
    "leave": _("Leaving an enterprise"),
    "termination": _("Enterprise closing"),
    "health_reminder": _("Health report reminder"),
    "incident": _("Security incident"),
    "incident_admin": _("Security incident (administrators)"),
    "invitation": _("Invitation"),
}


def kind_label(kind: str) -> str:
    return str(KIND_LABELS[kind]) if kind in KIND_LABELS else gettext("Other message")


MESSAGE = "$message"
CHOICE = "$choice"
TEXTS = "$texts"


@dataclass(frozen=True)
class Choice:
    """The label of `value` among the choices of `model`'s `field` (`"requests.request"`, `"kind"`)."""

    model: str
    field: str
    value: str

    def as_json(self) -> dict[str, Any]:
        return {CHOICE: [self.model, self.field, self.value]}


@dataclass(frozen=True)
class Texts:
    """Text written in each language by a person (`{"zh-hans": …, "en": …}`)."""

    by_language: Mapping[str, str]
    separator: str = " / "  # between the languages in the stored text (SMS and e-mail copies)

    def as_json(self) -> dict[str, Any]:
        return {TEXTS: dict(self.by_language)}


@dataclass(frozen=True)
class Message:
    """A msgid (marked with gettext_noop where it is written) with its %(name)s parameters."""

    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)
    context: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            MESSAGE: {
                "msgid": self.msgid,
                "context": self.context,
                "params": {name: _param_json(value) for name, value in self.params.items()},
            }
        }

    def render(self) -> str:
        return render(self.as_json())


Renderable = Message | Texts


def _param_json(value: Any) -> Any:
    if isinstance(value, Message | Choice | Texts):
        return value.as_json()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def render(data: Any) -> str:
    """The text of a stored message (or parameter) in the active language; never fails: a message
    whose translation does not fit its parameters falls back to the English msgid."""
    if not isinstance(data, dict):
        return "" if data is None else str(data)
    if TEXTS in data:
        texts = data[TEXTS] if isinstance(data[TEXTS], dict) else {}
        language = (get_language() or "en").lower()
        return str(texts.get(language) or texts.get(language.split("-")[0]) or next(iter(texts.values()), ""))
    if CHOICE in data:
        return _choice_label(*data[CHOICE])
    message = data.get(MESSAGE)
    if not isinstance(message, dict):
        return ""
    msgid = str(message.get("msgid", ""))
    context = str(message.get("context", ""))
    params = {
        name: value if isinstance(value, int | float) else render(value)
        for name, value in (message.get("params") or {}).items()
    }
    text = pgettext(context, msgid) if context else gettext(msgid)
    if not params:
        return text
    for template in (text, msgid):
        try:
            return template % params
        except (KeyError, ValueError, TypeError):
            continue
    return msgid


def _choice_label(model: str, field_name: str, value: str) -> str:
    try:
        choices = dict(apps.get_model(model)._meta.get_field(field_name).flatchoices)  # type: ignore[union-attr]
    except (LookupError, ValueError, AttributeError):
        return str(value)
    return str(choices.get(value, value))


def stored(value: str | Renderable) -> tuple[str, dict[str, Any] | None]:
    """(the text in the active language, the JSON to store or None) for a title or body."""
    if isinstance(value, Texts):
        return value.separator.join(text for text in value.by_language.values() if text), value.as_json()
    if isinstance(value, Message):
        data = value.as_json()
        return render(data), data
    return str(value), None
