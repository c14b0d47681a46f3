"""The one error hierarchy of mailroom.

Every error carries a stable machine-readable ``code`` (never reworded once released), a human message,
whether it is *permanent* (bad input: retrying cannot help) or *transient* (retry later), the HTTP status
the API answers with, and optionally the offending ``field``. Stages raise these; the CLI, the API and the
workers translate them into exit codes, JSON errors and retry decisions in one place each.

This module is the one catalogue: every error class of mailroom is defined here, in sections by area, and every
``code`` is unique and listed in the README's error table (``tests/test_errors_catalogue.py`` checks both).
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol


class MailroomError(Exception):
    """Base of all errors mailroom raises on purpose; raised itself, it is the ``internal_error``: an unexpected
    exception in a stage (a bug, an input nobody foresaw) turned into a failed document at once, without retries
    (``workers.pipeline.unexpected``); the worker's log has the details."""

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


class NoLabelledData(InputError):
    """An evaluation (``mailroom eval ...``) found no labelled documents (``*.truth.json``) where it was pointed."""

    code = "no_labelled_data"
    http_status = 422


class UsageError(InputError):
    """The command line was called wrongly: a missing argument, an unknown option or command, a bad value (exit
    status 2; the message names the command's ``--help``)."""

    code = "usage_error"
    http_status = 400


class OutputNotWritable(InputError):
    """The command line cannot write the file named with ``--out`` (no such folder, no permission)."""

    code = "output_not_writable"
    http_status = 422


class ContentTooComplex(InputError):
    """A PDF page whose content costs more than the limits allow to read: content streams longer than
    ``MAILROOM_MAX_CONTENT_STREAM_BYTES`` (after decompression), graphics states nested deeper than
    ``MAILROOM_MAX_CONTENT_NESTING``, more objects than ``MAILROOM_MAX_PDF_OBJECTS`` (content-stream bombs)."""

    code = "content_too_complex"
    http_status = 413


class UnusablePageSize(InputError):
    """A page too small, empty or too narrow to be a letter (a 1 × 1 image, a 3 × 3000 strip, a 1 × 14400 pt PDF
    page): below ``MAILROOM_MIN_PAGE_PIXELS`` on an edge (images), below 36 pt (PDF), or more than
    ``MAILROOM_MAX_PAGE_ASPECT`` times longer than wide."""

    code = "page_size_unusable"
    http_status = 422


# --- configuration / environment ------------------------------------------------------------------------


class ConfigurationError(MailroomError):
    code = "configuration_error"
    permanent = True
    http_status = 500


class ToolMissing(ConfigurationError):
    """An external program (tesseract, pdftoppm, ...) or language model is not installed. Retried with back-off
    (another worker may have it, or it is installed meanwhile): workers check their tools at start and do not
    take OCR work without them, so this is a tool that went missing while the worker ran."""

    code = "tool_missing"
    permanent = False
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


class ServiceUnreachable(TransientError):
    """``mailroom upload``: the service did not answer (connection refused or dropped, 502/503/504) for longer than
    the client's retry window; what was not finished is reported in its summary."""

    code = "service_unreachable"
    http_status = 503


#: ``errno`` values of an OSError that mean the data directory cannot be written right now (remounted read-only,
#: permissions taken away, full, failing disk): retry later, nothing is wrong with the document or the request.
STORAGE_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT, errno.EIO,
                            errno.ESTALE})


def storage_error(error: BaseException) -> StorageUnavailable | None:
    """The :class:`StorageUnavailable` an OSError of the file system means, else None."""
    if isinstance(error, OSError) and error.errno in STORAGE_ERRNOS:
        where = f" ({error.filename})" if error.filename else ""
        return StorageUnavailable(f"the data directory cannot be written{where}: {error.strerror}",
                                  reason=errno.errorcode.get(error.errno or 0, "OSError"))
    return None


# --- state of a document, stored blobs ------------------------------------------------------------------


class InvalidTransition(MailroomError):
    """The requested state change is not allowed from the document's current state."""

    code = "invalid_transition"
    http_status = 409


class StateConflict(InvalidTransition):
    """Another worker changed the document's state first (the caller's copy was stale)."""

    code = "state_conflict"
    permanent = False


class BlobNotFound(MailroomError):
    """No blob with this SHA-256 is stored (deleted by retention, or never stored)."""

    code = "blob_not_found"
    http_status = 404


class BlobCorrupt(MailroomError):
    """A stored blob no longer matches its SHA-256 (disk or operator damage): never served silently."""

    code = "blob_corrupt"
    http_status = 500


class DocumentInProcessing(MailroomError):
    """The document (or a letter of the stack) is still in the pipeline: it cannot be deleted yet."""

    code = "document_in_processing"
    http_status = 409


# --- API: access and lookup -----------------------------------------------------------------------------


class Unauthorized(MailroomError):
    """No API key, or one that is malformed, unknown or revoked."""

    code = "unauthorized"
    http_status = 401


class Forbidden(MailroomError):
    """The key is valid but its role may not do this."""

    code = "forbidden"
    http_status = 403


class InvalidKeySpec(InputError):
    """A key cannot be created as asked (unknown role, missing or superfluous scope, bad or taken name)."""

    code = "invalid_key"
    http_status = 422


class KeyNotFound(InputError):
    """No active API key of that name (``mailroom keys revoke``)."""

    code = "key_not_found"
    http_status = 404


class InvalidUserSpec(InputError):
    """A user account of the web UI cannot be created or changed as asked (role, scope, name taken, weak password)."""

    code = "invalid_user"
    http_status = 422


class DocumentNotFound(MailroomError):
    """No such document, or one outside the caller's scope (the answer is the same: nothing leaks)."""

    code = "document_not_found"
    http_status = 404


class NoLongerVisible(DocumentNotFound):
    """A station asks about a letter it uploaded that was routed confidentially ("persönlich", "vertraulich"):
    only its named recipient sees it now. The station learns nothing it did not know (it sent the letter) except
    that it no longer sees it, which its client says instead of guessing from a bare 404."""

    code = "no_longer_visible"


class PageNotFound(MailroomError):
    code = "page_not_found"
    http_status = 404


class NotReady(MailroomError):
    """What was asked for is produced by a stage that has not run yet: poll the status and come back."""

    code = "not_ready"
    permanent = False
    http_status = 409


class NotAvailable(MailroomError):
    """The document is processed and this representation does not exist for it (e.g. no pages in XML)."""

    code = "not_available"
    http_status = 404


class ValidationFailed(InputError):
    """A request that does not have the shape the API expects."""

    code = "validation_error"
    http_status = 422


class UploadIncomplete(InputError):
    """The client stopped sending before the body was complete."""

    code = "upload_incomplete"
    http_status = 400


class RouteNotFound(MailroomError):
    """The web framework knows no such URL (a typo in the path, an API version that does not exist)."""

    code = "not_found"
    http_status = 404


class MethodNotAllowed(MailroomError):
    """The URL exists, but not with this HTTP method."""

    code = "method_not_allowed"
    http_status = 405


class HttpError(MailroomError):
    """Any other error answer of the web framework itself; the answer carries the framework's status."""

    code = "http_error"
    http_status = 400


# --- postboxes, corrections, review ---------------------------------------------------------------------


class PostboxNotFound(MailroomError):
    """No such postbox, or one outside the caller's scope (the answer is the same)."""

    code = "postbox_not_found"
    http_status = 404


class UnknownDocumentType(InputError):
    """A review decision names a document type the type model does not know (a typo like "rechnung" would become a
    new class at the next training)."""

    code = "unknown_document_type"
    http_status = 422


class UnknownPostbox(InputError):
    """A postbox the organisation directory does not have (a re-route's target, a webhook's postbox filter)."""

    code = "unknown_postbox"
    http_status = 422


class SamePostbox(InputError):
    """A re-route to the postbox the document is already in."""

    code = "same_postbox"
    http_status = 422


class NotRouted(MailroomError):
    """Only a routed document lies in postboxes: one in the pipeline or in review cannot be sent on."""

    code = "not_routed"
    http_status = 409


class AlreadyClaimed(MailroomError):
    """Another key holds the item (``details``: ``claimed_by``, ``claimed_at``)."""

    code = "already_claimed"
    http_status = 409


class AlreadyDone(MailroomError):
    """The item was acknowledged already: it can no longer be claimed or released."""

    code = "already_done"
    http_status = 409


class AlreadyInPostbox(MailroomError):
    """A copy was sent to a postbox that already holds the document."""

    code = "already_in_postbox"
    http_status = 409


class InvalidCursor(InputError):
    """A ``cursor`` that no listing of this API handed out."""

    code = "invalid_cursor"
    http_status = 422


class InvalidFields(InputError):
    """Corrected invoice fields that do not parse or fail their checks (IBAN, VAT id, dates, totals);
    ``details.problems`` lists the codes per field."""

    code = "invalid_fields"
    http_status = 422


class NoStation(MailroomError):
    """A rescan request for a document that no scanning station sent (mail, e-invoice): nobody can scan it again."""

    code = "no_station"
    http_status = 409


class InvalidSplit(InputError):
    """A split of a document in review at pages it does not have (or a document without pages to split)."""

    code = "invalid_split"
    http_status = 422


class InvalidCorrection(InputError):
    """A correction that cannot be stored (unknown document or kind, value of the wrong shape)."""

    code = "invalid_correction"
    http_status = 422


class NotAnInvoice(InputError):
    """Invoice fields were confirmed for a document that was not read as an invoice (no invoice part)."""

    code = "not_an_invoice"
    http_status = 409


# --- recognition: models, organisation directory, rules -------------------------------------------------


class ModelNotFound(ConfigurationError):
    code = "model_not_found"


class ModelIncompatible(ConfigurationError):
    code = "model_incompatible"


class InvalidThresholds(ConfigurationError):
    code = "invalid_thresholds"


class InvalidDirectory(InputError):
    """The organisation directory is inconsistent or malformed; ``details["problems"]`` lists every issue."""

    code = "invalid_directory"


class Problem(Protocol):
    """One finding of a validation (e.g. ``rules.validate.RuleProblem``)."""

    def to_dict(self) -> dict[str, Any]: ...


class InvalidRuleSet(InputError):
    """The rule set cannot be used; ``problems`` lists everything found, not only the first."""

    code = "invalid_rules"

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(
            f"{len(problems)} problem(s): " + "; ".join(map(str, problems[:5])),
            problems=[p.to_dict() for p in problems],
        )
        self.problems = problems


class RulesNotInDirectory(InvalidRuleSet):
    """A well-formed rule set that names postboxes (``route_to``, ``copy_to``), persons or departments (conditions)
    the organisation directory does not have; ``problems`` lists each (``unknown_postbox``, ``unknown_person``,
    ``unknown_department``). Checked at validate, import, activation and roll back."""

    code = "rules_not_in_directory"

    def __init__(self, problems: Sequence[Problem], *, directory: str = "") -> None:
        super().__init__(problems)
        where = f"the organisation directory {directory!r}" if directory else "the organisation directory"
        self.message = f"{len(problems)} name(s) not in {where}: " + "; ".join(map(str, problems[:5]))
        self.args = (self.message,)


class RuleSetNotFound(InputError):
    """No such rule set or version."""

    code = "ruleset_not_found"
    http_status = 404


class RuleSetConflict(InputError):
    """The change does not fit the state of the rule set (e.g. editing a version that is not a draft)."""

    code = "ruleset_conflict"
    http_status = 409


# --- invoices -------------------------------------------------------------------------------------------


class SupplierCsvError(InputError):
    """A supplier CSV that cannot be imported; the message names the line and the problem."""

    code = "invalid_supplier_csv"


# --- webhooks -------------------------------------------------------------------------------------------


class UnknownEventType(InputError):
    """An event type that ``mailroom.event/v1`` does not have."""

    code = "unknown_event_type"
    http_status = 422


class UnknownSubscriptionPerson(InputError):
    """The person a webhook subscription (or an API key, a user) is bound to is not in the organisation directory,
    or the subscription has no postbox filter (a confidential letter's content goes only to holders of its
    postbox)."""

    code = "unknown_person"
    http_status = 422


class SubscriptionNotFound(MailroomError):
    code = "webhook_not_found"
    http_status = 404


class WebhookTargetRefused(InputError):
    """The webhook URL is not an allowed target (scheme, host or resolved address): server-side request forgery."""

    code = "webhook_target_refused"
    http_status = 422


class DeliveryNotFound(MailroomError):
    code = "delivery_not_found"
    http_status = 404


class DeliveryNotReplayable(MailroomError):
    """Only a dead or delivered delivery can be replayed (a pending one is being retried already)."""

    code = "delivery_pending"
    http_status = 409


# --- watched folder -------------------------------------------------------------------------------------


class FolderBusy(ConfigurationError):
    """Another watcher already watches this folder."""

    code = "folder_busy"
    http_status = 409


class FileChanged(InputError):
    """The file changed while it was being received: it was not complete after all; it is taken again later."""

    code = "file_changed"


# --- audit trail ----------------------------------------------------------------------------------------


class SecretInAuditDetails(MailroomError, ValueError):
    """An audit entry's details hold something that looks like a secret; secrets never enter the audit log."""

    code = "secret_in_audit_details"
    http_status = 422  # the details come from a request (a reason, a note): refused, never stored


# --- mail intake (intake.email_message, workers.mail) -----------------------------------------------------


class MalformedMessage(InputError):
    """An e-mail whose MIME structure or headers cannot be read reliably (it goes to the refused folder)."""

    code = "malformed_message"


class MessageTooLarge(InputError):
    code = "message_too_large"
    http_status = 413


class TooManyAttachments(InputError):
    code = "too_many_attachments"


class HostileArchive(InputError):
    """A ZIP attachment that would unpack to too much, too many files, nested archives or encrypted members."""

    code = "hostile_archive"


class SenderRefused(InputError):
    """The sender is on the mailbox's deny list, or not on its allow list."""

    code = "sender_refused"
    http_status = 403


class MailboxesConfigError(ConfigurationError):
    """The mailbox configuration file is missing, unreadable or invalid."""

    code = "mailboxes_config_invalid"


class MailboxUnavailable(TransientError):
    """The IMAP server cannot be reached, refused the login, or broke the connection: tried again later."""

    code = "mailbox_unavailable"


def error_codes() -> dict[str, type[MailroomError]]:
    """All stable codes, for documentation and tests."""
    seen: dict[str, type[MailroomError]] = {}
    stack: list[type[MailroomError]] = [MailroomError]
    while stack:
        cls = stack.pop()
        seen.setdefault(cls.code, cls)
        stack.extend(cls.__subclasses__())
    return seen


# --- web UI: sessions and pages ----------------------------------------------------------------------------


class SignInRequired(MailroomError):
    """No valid session (never signed in, signed out, expired, idle too long): the UI redirects to the sign-in."""

    code = "sign_in_required"
    http_status = 401

    def __init__(self, message: str = "sign-in required", *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


class CsrfRefused(MailroomError):
    """A changing request of the web UI without the session's CSRF token (or the sign-in form's)."""

    code = "csrf_refused"
    http_status = 403


class UiForbidden(MailroomError):
    """The signed-in user's role may not open this page of the web UI."""

    code = "ui_forbidden"
    http_status = 403


class UiNotFound(MailroomError):
    """A page of the web UI about something that does not exist or is outside the user's scope (same answer)."""

    code = "ui_not_found"
    http_status = 404
