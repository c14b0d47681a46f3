"""Reading invoices: the fields of an XML e-invoice (``einvoice_xml``) or of a scanned / born-digital invoice
(``invoice``: labels, candidates, parsers, layout, line items, seller, Leitweg-ID), their checks (``validation``),
supplier master data (``suppliers``), what people corrected (``learning``, ``store``) and the evaluation (``eval``).

A stage library: it imports only the core (``mailroom``); the pipeline (``workers``) calls ``store.extract_stored``.
"""
