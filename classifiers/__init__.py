"""Recognition: DIN 5008 zones, recipient matching against the organisation directory (``mailroom.directory``)
and the document-type model.

- :mod:`classifiers.layout`: ``find_zones(page)`` → address field, information block, subject
- :mod:`classifiers.recipient`: ``match_recipient(lines, directory, ...)`` → department, person, evidence
- :mod:`classifiers.samples`: what the type model reads (``sample_from_document``) and labelled rows
- :mod:`classifiers.doctype`: ``train``, ``evaluate``, ``TypeModel.predict`` (calibrated probabilities)
- :mod:`classifiers.registry`: versioned model files, ``promote_if_not_worse``, ``rollback``

Only the core (``mailroom.model``, ``mailroom.directory``, ``mailroom.result``, ``mailroom.errors``) is imported.
"""
