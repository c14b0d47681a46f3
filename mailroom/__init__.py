"""mailroom: the intelligent mail intake for German town halls. This package is the core, the ground floor that
every other package builds on and that imports none of them: the typed document (``model``), the result contract
(``result``, ``text``), the error catalogue (``errors``), settings, storage, the organisation directory
(``directory``), the audit trail, retention and the confidentiality rule."""

__version__ = "0.1.0"
