"""Reading what arrives: checks and limits of a file (``checks``, ``filetype``), page images (``pages``,
``poppler``), preprocessing (``preprocess``), OCR (``tesseract``, ``recovery``), PDF text layers (``textlayer``),
e-invoice detection (``einvoice``), stacks split into letters (``separation``, ``separator``, ``separator_sheet``),
e-mail parsing (``email_message``, ``archives``, ``cover``), the transfer note of a scan (``transfer_note``).

A stage library: it imports only the core (``mailroom``); the pipeline (``workers``) puts its parts in order.
"""
