"""Account credentials as a value object. The model validates their shape; it never stores them in events."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import phonenumbers

from domain.errors import FieldError, InvalidInput
from domain.person import EMAIL_PATTERN


@dataclass(frozen=True)
class Credentials:
    login: str
    password: str
    recovery_email: str | None = None
    recovery_phone: str | None = None
    mfa_recovery_codes: list[str] = field(default_factory=list)
    notes: str | None = None

    def __repr__(self) -> str:  # never print a secret by accident
        return f"Credentials(login={self.login!r}, password=***, codes={len(self.mfa_recovery_codes)})"

    __str__ = __repr__

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Credentials:
        return cls(**data)

    def validated(self) -> Credentials:
        """Checks every field and normalises the phone number to E.164 (UK numbers without +44 accepted)."""
        errors: list[FieldError] = []
        if not self.login.strip() or len(self.login) > 320:
            errors.append(FieldError("login", "must not be empty (at most 320 characters)"))
        if not self.password or len(self.password) > 1000:
            errors.append(FieldError("password", "must not be empty (at most 1000 characters)"))
        email = self.recovery_email.strip().lower() if self.recovery_email else None
        if email is not None and not EMAIL_PATTERN.match(email):
            errors.append(FieldError("recovery_email", "must be an email address"))
        phone = None
        if self.recovery_phone:
            try:
                parsed = phonenumbers.parse(self.recovery_phone, "GB")
                if not phonenumbers.is_valid_number(parsed):
                    raise phonenumbers.NumberParseException(1, "invalid")
                phone = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            except phonenumbers.NumberParseException:
                errors.append(FieldError("recovery_phone", "must be a valid phone number"))
        codes = [c.strip() for c in self.mfa_recovery_codes]
        if len(codes) > 50 or any(not c or len(c) > 100 for c in codes):
            errors.append(FieldError("mfa_recovery_codes", "at most 50 non-empty codes of at most 100 characters"))
        if self.notes is not None and len(self.notes) > 5000:
            errors.append(FieldError("notes", "must be at most 5000 characters"))
        if errors:
            raise InvalidInput(errors)
        return Credentials(self.login.strip(), self.password, email, phone, codes, self.notes)
