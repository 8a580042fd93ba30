"""Signed tokens of the direct-upload form: the field spec and the upload reference.

The *spec* names the model field and its limits; the widget puts it in the page
and the ticket view trusts only what it signed. The *reference* names one
stored object for one field; the form accepts only a reference it signed, not
older than its max age, so the browser can neither pick nor alter the name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from django.core import signing

SPEC_SALT = "storages.direct.spec"
REFERENCE_SALT = "storages.direct.reference:"


@dataclass(frozen=True)
class FieldSpec:
    """A direct-upload field's configuration, as the ticket view receives it."""

    model: str  # "app_label.ModelName"
    field: str
    max_size: int
    content_types: tuple[str, ...] | None
    permission: str | None  # dotted path of the permission hook
    expires_in: int

    @property
    def key(self) -> str:
        return f"{self.model}.{self.field}"

    def dumps(self) -> str:
        data = asdict(self)
        data["content_types"] = list(self.content_types) if self.content_types is not None else None
        return signing.dumps(data, salt=SPEC_SALT, compress=True)

    @classmethod
    def loads(cls, token: str) -> FieldSpec:
        """Raises ``signing.BadSignature`` for anything the server did not sign."""
        data: dict[str, Any] = signing.loads(token, salt=SPEC_SALT)
        types = data.get("content_types")
        return cls(
            data["model"],
            data["field"],
            int(data["max_size"]),
            tuple(types) if types is not None else None,
            data.get("permission"),
            int(data["expires_in"]),
        )


def make_reference(field_key: str, name: str) -> str:
    return signing.TimestampSigner(salt=REFERENCE_SALT + field_key).sign_object(
        {"f": field_key, "n": name}
    )


def read_reference(field_key: str, token: str, max_age: float) -> str:
    """The stored name a reference stands for; ``signing.SignatureExpired`` / ``BadSignature``
    otherwise."""
    data = signing.TimestampSigner(salt=REFERENCE_SALT + field_key).unsign_object(
        token, max_age=max_age
    )
    if (
        not isinstance(data, dict)
        or data.get("f") != field_key
        or not isinstance(data.get("n"), str)
    ):
        raise signing.BadSignature("reference for another field")
    return data["n"]
