"""Recognition: organisation directory, DIN 5008 zones, recipient matching and the document-type model.

- :mod:`classifiers.directory`: ``load_directory(path)``, ``default_directory()`` (Stadt Musterstadt)
- :mod:`classifiers.layout`: ``find_zones(page)`` → address field, information block, subject
- :mod:`classifiers.recipient`: ``match_recipient(lines, directory, ...)`` → department, person, evidence
- :mod:`classifiers.samples`: what the type model reads (``sample_from_document``) and labelled rows
- :mod:`classifiers.doctype`: ``train``, ``evaluate``, ``TypeModel.predict`` (calibrated probabilities)
- :mod:`classifiers.registry`: versioned model files, ``promote_if_not_worse``, ``rollback``

Only the core (``mailroom.model``, ``mailroom.result``, ``mailroom.errors``) is imported.
"""
