"""The one settings object. Read from ``MAILROOM_*`` environment variables (and an optional ``.env``).

Stages never read the environment themselves: they receive a :class:`Settings` (or the values they need).
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "mailroom"


def _default_models_cache() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "mailroom" / "default-models"


OCR_STALL_FACTOR = 3.0
"""A Tesseract run that uses no CPU for this many times its CPU budget (``ocr_timeout_seconds``) on the wall clock
hangs and is ended; one that is still using CPU is only slowed down by a busy machine and goes on (up to
:data:`OCR_WALL_FACTOR`)."""
OCR_WALL_FACTOR = 8.0
"""The most a Tesseract run may take on the wall clock, as a multiple of its CPU budget, however busy the machine:
the CPU limit bounds a pathological page, the stall check a child that hangs, this a machine that starves it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MAILROOM_", env_file=".env", extra="ignore")

    # where everything lives
    data_dir: Path = Field(default_factory=_default_data_dir, description="Database, blobs and models")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite (WAL) in the data directory"
    )
    broker_url: str | None = Field(default=None, description="Celery broker (redis://...); none = embedded")
    models_dir: Path | None = Field(
        default=None, description="Recognition model versions; default: <data_dir>/models (services may share one)"
    )
    models_cache_dir: Path = Field(
        default_factory=_default_models_cache,
        description="The default recognition models, built once per code version (scripts/bootstrap.sh, the "
        "image build: `mailroom models prepare`) and copied into a data directory that has none; "
        "default: ~/.cache/mailroom/default-models",
    )

    # audit chain (docs/security.md): keys and checkpoints outside the database
    audit_keys: SecretStr | None = Field(
        default=None, description="Audit chain keys 'kid:secret[,kid:secret]' (the last signs); default: the key file")
    audit_key_file: Path | None = Field(
        default=None, description="Audit key file (0600, created at first start); default: <data_dir>/audit.keys")
    audit_checkpoint_file: Path | None = Field(
        default=None, description="Signed checkpoints of the audit chain's head; default: "
        "<data_dir>/audit-checkpoints.jsonl")
    audit_checkpoint_seconds: float = Field(default=300.0, description="How often the beat writes a checkpoint")

    # intake limits
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, description="Largest accepted file")
    max_pages: int = Field(default=500, description="Most pages per file")
    max_page_pixels: int = Field(
        default=60_000_000, description="Most pixels per page image (A4 at 600 dpi is 35 Mpx)"
    )
    max_xml_bytes: int = Field(default=20 * 1024 * 1024, description="Largest accepted XML e-invoice")
    max_content_stream_bytes: int = Field(
        default=8 * 1024 * 1024, description="Most bytes of a PDF page's content streams after decompression "
        "(content-stream bombs: millions of operators in a few KB)")
    max_content_nesting: int = Field(
        default=256, description="Deepest nesting of saved graphics states (q ... Q) on a PDF page")
    max_pdf_objects: int = Field(default=500_000, description="Most objects in a PDF file")
    min_page_pixels: int = Field(
        default=32, description="Shortest edge of an image page in pixels; smaller pages are refused")
    max_page_aspect: float = Field(
        default=20.0, description="Longest page edge at most this many times the shortest (images and PDF pages)")

    # page images and OCR
    raster_dpi: int = Field(default=300, description="Resolution for rasterising PDF pages")
    ocr_language: str = Field(default="deu", description="Tesseract language(s), e.g. 'deu' or 'deu+eng'")
    ocr_timeout_seconds: float = Field(
        default=180.0, description="CPU seconds one Tesseract run (one page) may use (RLIMIT_CPU); a run "
        "that uses no CPU for 3 times that on the wall clock hangs and is ended; one that works goes on up to 8 times "
        "that: a busy machine is slower, not stuck")
    ocr_psm: int = Field(default=3, description="Tesseract page segmentation mode")
    separator_patches: str = Field(
        default="T,2", description="Patch codes that mark a separator sheet (comma-separated: T, 2, 3, 1, 4, 6)"
    )
    separator_payloads: str = Field(
        default="MAILROOM-SEPARATOR", description="Barcode texts (Code 39, Code 128, QR, DataMatrix) that mark a "
        "separator sheet (comma-separated; mailroom's own QR sheet is always recognised)",
    )
    text_layer_min_chars: int = Field(
        default=40, description="A PDF page with at least this many text-layer characters skips OCR"
    )
    tool_timeout_seconds: float = Field(default=120.0, description="Timeout for Poppler tools")

    # quality warnings
    warn_skew_degrees: float = Field(default=3.0, description="Warn when a scan was skewed more than this")
    warn_ocr_confidence: float = Field(default=70.0, description="Warn when mean OCR confidence is below")
    warn_blur: float = Field(
        default=0.12, description="Warn (blurry) when the sharpness (steepest edges' slope per pixel relative to the "
        "contrast: 0.2-0.27 sharp, 0.13 at 2.5 px blur, 0.09 at 4 px) is below this"
    )
    warn_contrast: float = Field(
        default=60.0, description="Warn (low_contrast) when paper grey minus darkest ink grey (0..255) is below this"
    )
    rescan_ocr_confidence: float = Field(
        default=30.0, ge=0, le=100,
        description="A scanned page whose words OCR is less sure of than this on average counts as unreadable; a "
        "scan with no readable page goes back to its station (state rescan)",
    )

    # service: the sweeper re-enqueues documents no task has touched for a while
    sweep_interval_seconds: float = Field(default=60.0, description="How often the sweeper looks for stuck documents")
    sweep_stuck_after_seconds: float = Field(
        default=600.0, description="A document in a non-final state untouched this long is enqueued again"
    )
    max_attempts_per_step: int = Field(
        default=3, ge=1,
        description="A document is failed (attempts_exhausted) after this many task starts per page and stage: "
        "a page that crashes its worker every time is not retried for ever",
    )
    retrain_interval_hours: float = Field(
        default=24.0, gt=0, description="How often the beat retrains the recognition models from the corrections"
    )

    # retention (mailroom.retention): documents are deleted this long after their postbox item was acknowledged
    # (done), or placed when nobody acknowledged it; a postbox's own ``retention_days`` in the directory wins
    retention_days: float = Field(
        default=365.0, ge=0, description="Days a document is kept after it was done (else routed); 0 = forever"
    )
    retention_interval_hours: float = Field(
        default=24.0, gt=0, description="How often the beat deletes the documents past their retention period"
    )

    # webhooks (webhooks.delivery): where events go, how they are retried, which targets are allowed
    public_url: str | None = Field(
        default=None, description="Base URL of the API as the DMS reaches it (e.g. https://mailroom.rathaus.example);"
        " makes the links in webhook events absolute; none = root-relative links"
    )
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, description="Timeout of one webhook request")
    webhook_retry_base_seconds: float = Field(
        default=2.0, gt=0, description="Backoff after the first failed attempt (doubles per attempt, full jitter)"
    )
    webhook_retry_max_delay_seconds: float = Field(default=600.0, gt=0, description="Longest wait between attempts")
    webhook_retry_window_seconds: float = Field(
        default=24 * 3600.0, gt=0, description="After this long since the first attempt a failing event is dead"
    )
    webhook_max_attempts: int = Field(default=20, ge=1, description="Attempts before an event is dead-lettered")
    webhook_allow_hosts: str = Field(
        default="", description="Comma-separated webhook hosts allowed over http and at any address (internal DMS)"
    )
    webhook_allow_private: bool = Field(
        default=False, description="Allow webhook targets at private, loopback and link-local addresses"
    )
    webhook_poll_seconds: float = Field(
        default=5.0, gt=0, description="How often the beat sends due webhook deliveries (retries)"
    )
    webhook_threads: int = Field(default=8, ge=1, description="Concurrent webhook requests of one delivery task")
    webhook_task_seconds: float = Field(
        default=20.0, gt=0, description="A delivery task sends for at most this long, then hands over to the next"
    )

    # e-mail intake (workers.mail, docs/mail.md): the mailboxes, and the limits of one message
    mailboxes_file: Path | None = Field(
        default=None, description="YAML file of the mailboxes to read (docs/mail.md); none = no e-mail intake"
    )
    mail_max_message_bytes: int = Field(
        default=50 * 1024 * 1024, gt=0, description="Largest e-mail taken (bigger ones go to the refused folder)"
    )
    mail_max_attachments: int = Field(
        default=20, ge=1, description="Most documents one e-mail may carry (ZIP members count one by one)"
    )

    # logs
    log_level: str = Field(default="INFO")
    log_format: str = Field(default="console", description="'console' or 'json'")

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'mailroom.sqlite3'}"

    @property
    def resolved_models_dir(self) -> Path:
        return self.models_dir if self.models_dir is not None else self.data_dir / "models"

    @property
    def webhook_allowed_hosts(self) -> tuple[str, ...]:
        return tuple(h.strip().lower() for h in self.webhook_allow_hosts.split(",") if h.strip())

    @property
    def ocr_wall_timeout_seconds(self) -> float:
        """The wall clock one Tesseract run may take (its CPU budget times :data:`OCR_WALL_FACTOR`)."""
        return self.ocr_timeout_seconds * OCR_WALL_FACTOR

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def work_dir(self) -> Path:
        """Scratch space for page images and tool outputs (same filesystem as blobs: atomic renames)."""
        return self.data_dir / "work"
