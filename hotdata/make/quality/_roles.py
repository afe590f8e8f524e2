"""The ``roles`` check: a turn of a conversation spoken by the wrong side.

A conversation is an array of objects, each with a role and a text: declared with the
``roles`` quality key (``roles = {"/turns" = {role = "role", text = "text"}}``, the pointer
may hold ``*`` for any array index or key), or found by shape: every item of an array of two
or more objects has a ``role`` or ``speaker`` string field and a ``text``, ``content``,
``message`` or ``body`` string field.

Roles are read by their words: a customer, user, guest, patient, employee … is the asking
side; an agent, assistant, staff, nurse, seller, HR … the serving side; other roles are only
told apart by name. No model; a turn is refused only when it

* is labelled as another role of the conversation ("Agent: …" in the customer's turn);
* speaks as another role ("As your support agent", "this is the front desk", "As an
  employee here" said by HR);
* does what only the other side does: the asking side "I checked your account", "I've
  refunded", "how can I help you today"; the serving side "I want my money back";
* addresses its own role ("Dear customer" written by the customer).

Quoted text is reported speech and never counts.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

__all__ = ["RoleFields", "conversations", "role_problem"]

RoleFields = tuple[str, str]  # (the role key, the text key) of each item

_ROLE_KEYS = ("role", "speaker")
_TEXT_KEYS = ("text", "content", "message", "body")


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


_ASKING = _set(
    "customer customers user client guest caller buyer shopper patient passenger traveler traveller "
    "member visitor tenant employee student applicant candidate human requester reporter"
)
_SERVING = _set(
    "agent support assistant rep representative staff operator advisor adviser host bot concierge "
    "clerk technician tech helpdesk seller vendor shop store nurse doctor hr recruiter landlord "
    "pharmacist receptionist ai"
)


def _side(role: str) -> str | None:
    """'asking', 'serving' or None, by the words of a role ("support agent", "Customer")."""
    found = {w for w in re.findall(r"[a-z]+", role.lower())}
    if found & _ASKING and not found & _SERVING:
        return "asking"
    if found & _SERVING and not found & _ASKING:
        return "serving"
    return None


# What only the serving side does to the asking side.
_SERVES = re.compile(
    r"\bI(?:'ve| have)? (?:just )?(?:checked|reviewed|looked (?:at|into)|refunded|reset|issued|credited|"
    r"escalated|cancell?ed|updated|upgraded|reactivated|unlocked|rebooked|approved) (?:you |your )"
    r"(?:\w+ )?(?:account|order|booking|reservation|ticket|case|subscription|profile|password|refund|"
    r"claim|card|payment|details|file|records|request|leave|flight|room|full refund|replacement)\b|"
    r"\bI(?:'ve| have) (?:refunded|issued you|credited you|sent you a (?:replacement|refund|label))\b|"
    r"\bhow (?:can|may) I (?:help|assist) you\b|"
    r"\b(?:is there )?anything else I can (?:help|assist) you with\b|"
    r"\bthank you for (?:contacting|calling|reaching out to) (?:us|support|customer service)\b",
    re.IGNORECASE,
)
# What only the asking side says of itself.
_ASKS = re.compile(
    r"\bget my money back\b|\bI(?:'d| would) like (?:a refund|to see a doctor)\b|"
    r"\bI still haven't received\b|\bmy (?:order|parcel|package) (?:hasn't|has not|never) (?:arrived|come)\b",
    re.IGNORECASE,
)
_LABEL = re.compile(r"^\s*\**(?P<label>[A-Za-z][A-Za-z ]{0,24}?)\**\s*:\s", re.MULTILINE)
# Speaking as someone: "As your support agent, I …", "I'm the customer", "this is the front desk".
_AS = re.compile(
    r"\bas (?:your|the|an?|one of the) (?P<as>(?:[\w']+ ){0,2}[\w']+),? I\b|"
    r"\bI(?:'m| am) (?:your|the|an?|one of the) (?P<am>(?:[\w']+ ){0,2}[\w']+)|"
    r"\bthis is (?:the )?(?P<desk>front desk|reception|customer service|support)\b",
    re.IGNORECASE,
)
_ADDRESS = re.compile(
    r"^\W*(?:dear|hi|hello|hey)(?: valued| dear)? (?P<role>[a-z]+)\b",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"\"[^\"]*\"|\u201c[^\u201d]*\u201d")


def conversations(
    data: Any, declared: Mapping[str, RoleFields]
) -> Iterator[tuple[str, list[Any], RoleFields]]:
    """Every conversation of ``data``: its pointer, its items and their (role, text) keys."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        pointer, value = stack.pop()
        if isinstance(value, Mapping):
            for key in reversed(list(value)):
                escaped = str(key).replace("~", "~0").replace("/", "~1")
                stack.append((f"{pointer}/{escaped}", value[key]))
        elif isinstance(value, list):
            fields = next((f for p, f in declared.items() if fnmatch.fnmatchcase(pointer, p)), None)
            fields = fields or _shape(value)
            if fields is not None:
                yield pointer, value, fields
            for i in reversed(range(len(value))):
                stack.append((f"{pointer}/{i}", value[i]))


def _shape(items: list[Any]) -> RoleFields | None:
    if len(items) < 2 or not all(isinstance(i, Mapping) for i in items):
        return None
    for role in _ROLE_KEYS:
        for text in _TEXT_KEYS:
            if all(isinstance(i.get(role), str) and isinstance(i.get(text), str) for i in items):
                return role, text
    return None


def _is_role(label: str, others: set[str]) -> bool:
    words = label.strip().lower().split()
    return " ".join(words) in others or all(w in _ASKING or w in _SERVING for w in words)


def role_problem(text: str, role: str, roles: Sequence[str]) -> str | None:
    """Why a turn of ``role`` in a conversation among ``roles`` is spoken by the wrong side, or None."""
    text = _QUOTED.sub(" ", text)
    mine, side = role.strip().lower(), _side(role)
    others = {r.strip().lower() for r in roles} - {mine}
    other_sides = {s for r in others if (s := _side(r)) is not None and s != side}

    def other_role(word: str) -> bool:
        word = word.lower()
        if word in others or word.rstrip("s") in others:
            return True
        return side is not None and _side(word) not in (None, side) and bool(other_sides)

    # a speaker label is a role, never a phrase ("Your agent said: …" is reported speech)
    if (
        (label := _LABEL.search(text))
        and _is_role(label.group("label"), others)
        and other_role(label.group("label"))
    ):
        return f"is labelled as another role: {label.group().strip()!r}"
    for found in _AS.finditer(text):
        said = "support" if found.group("desk") else found.group("as") or found.group("am")
        # "the customer's order" is about the customer, not speaking as one
        if any(other_role(w) for w in said.split() if not w.endswith(("'s", "\u2019s"))):
            return f"speaks as another role: {found.group()!r}"
    if side == "asking" and "serving" in other_sides and (found_s := _SERVES.search(text)):
        return f"says what only the other side does: {found_s.group()!r}"
    if side == "serving" and "asking" in other_sides and (found_a := _ASKS.search(text)):
        return f"says what only the other side does: {found_a.group()!r}"
    if (found_d := _ADDRESS.search(text)) and (
        found_d.group("role").lower() == mine or (side and _side(found_d.group("role")) == side)
    ):
        return f"addresses its own role: {found_d.group()!r}"
    return None
