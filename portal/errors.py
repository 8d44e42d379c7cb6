"""Error codes: what a refusal was, in snake_case, for the code that branches on it and for the
clients that read it (a tablet sync result's `code`). One enum for every app, as the audit
actions are one (portal.audit.AuditAction); the message a user reads stays Chinese and apart.

A member is a `str`, so `ValidationError(..., code=ErrorCode.STALE)` and a JSON body carry the
plain value ("stale"). The upload reader's refusals (portal.upload_reader.Refusal) keep their own
codes: that module runs in the sandbox and imports nothing of the project."""

from enum import StrEnum


class ErrorCode(StrEnum):
    # The value rules (portal.values), for forms, serializers and imports alike.
    CONTROL_CHARACTER = "control_character"
    MAX_LENGTH = "max_length"
    FUTURE_DATE = "future_date"
    EARLY_DATE = "early_date"
    INVALID_COUNT = "invalid_count"
    NEGATIVE = "negative"
    TOO_LARGE = "too_large"  # a count above the limit, or an upload above its size limit
    # Identifiers (ledger.validation).
    USCC_LENGTH = "uscc_length"
    USCC_FORMAT = "uscc_format"
    USCC_CHECKSUM = "uscc_checksum"
    REGISTRATION_NUMBER = "registration_number"
    RIC_LENGTH = "ric_length"
    RIC_FORMAT = "ric_format"
    RIC_CHECKSUM = "ric_checksum"
    RIC_BIRTH_DATE = "ric_birth_date"
    RIC_REGION = "ric_region"
    PHONE = "phone"
    # Inspections: the tablet's sync and the submission.
    STALE = "stale"  # the answer changed since the tablet read it
    CLIENT_UUID = "client_uuid"
    CHECKLIST_VERSION = "checklist_version"
    ITEM = "item"
    PHOTO_MISSING = "photo_missing"
    BLANK_ITEMS = "blank_items"
    # Imports: the stored upload is gone (the job fails rather than being refused).
    UPLOAD_MISSING = "missing"
