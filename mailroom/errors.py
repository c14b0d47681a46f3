"""The one error hierarchy of mailroom.

Every error carries a stable machine-readable ``code`` (never reworded once released), a human message,
whether it is *permanent* (bad input: retrying cannot help) or *transient* (retry later), the HTTP status
the API answers with, and optionally the offending ``field``. Stages raise these; the CLI, the API and the
workers translate them into exit codes, JSON errors and retry decisions in one place each.
"""

from __future__ import annotations

from typing import Any, ClassVar


class MailroomError(Exception):
    """Base of all errors mailroom raises on purpose."""

    code: ClassVar[str] = "internal_error"
    permanent: ClassVar[bool] = True
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message, "permanent": self.permanent}
        if self.field:
            out["field"] = self.field
        if self.details:
            out["details"] = self.details
        return out

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


# --- permanent: bad input -------------------------------------------------------------------------------


class InputError(MailroomError):
    """The input itself is unusable; the same bytes will fail again."""

    code = "invalid_input"
    http_status = 422


class EmptyFile(InputError):
    code = "empty_file"
    http_status = 422


class UnsupportedFileType(InputError):
    code = "unsupported_file_type"
    http_status = 415


class FileTooLarge(InputError):
    code = "file_too_large"
    http_status = 413


class TooManyPages(InputError):
    code = "too_many_pages"
    http_status = 413


class ImageTooLarge(InputError):
    """Pixel count above the limit: protects against decompression bombs."""

    code = "image_too_large"
    http_status = 413


class EncryptedPdf(InputError):
    code = "encrypted_pdf"
    http_status = 422


class CorruptFile(InputError):
    code = "corrupt_file"
    http_status = 422


class TruncatedFile(CorruptFile):
    code = "truncated_file"


class InvalidXml(InputError):
    code = "invalid_xml"
    http_status = 422


class HostileXml(InvalidXml):
    """External entities, DTDs or entity expansion: refused, never resolved."""

    code = "hostile_xml"


class FileNotFound(InputError):
    code = "file_not_found"
    http_status = 404


# --- configuration / environment ------------------------------------------------------------------------


class ConfigurationError(MailroomError):
    code = "configuration_error"
    permanent = True
    http_status = 500


class ToolMissing(ConfigurationError):
    """An external program (tesseract, pdftoppm, ...) or language model is not installed."""

    code = "tool_missing"
    http_status = 503


class AttemptsExhausted(MailroomError):
    """A document whose processing started more often than its budget allows (``MAILROOM_MAX_ATTEMPTS_PER_STEP``
    per page and stage): a page that crashes or hangs its worker process every time, a message redelivered
    over and over. Marked failed instead of being retried for ever; ``mailroom process`` or the API's
    reprocessing starts it afresh."""

    code = "attempts_exhausted"
    http_status = 500


# --- transient: retry -----------------------------------------------------------------------------------


class TransientError(MailroomError):
    code = "transient_error"
    permanent = False
    http_status = 503


class ToolTimeout(TransientError):
    code = "tool_timeout"
    http_status = 504


class ToolFailed(TransientError):
    """An external program crashed or answered nonsense on input we believed valid."""

    code = "tool_failed"
    http_status = 500


class StorageUnavailable(TransientError):
    code = "storage_unavailable"
    http_status = 503


def error_codes() -> dict[str, type[MailroomError]]:
    """All stable codes, for documentation and tests."""
    seen: dict[str, type[MailroomError]] = {}
    stack: list[type[MailroomError]] = [MailroomError]
    while stack:
        cls = stack.pop()
        seen.setdefault(cls.code, cls)
        stack.extend(cls.__subclasses__())
    return seen
