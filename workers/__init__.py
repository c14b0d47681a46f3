"""Running the pipeline: its stages (``pipeline``: receive, read pages, assemble, finish; ``separation``), all of
them in this process (``inprocess``) or as Celery tasks (``celery_app``, ``tasks``), how work is handed over
(``dispatch``), the sweeper of stuck documents (``sweeper``) and the intake channels that feed it: a watched folder
(``watch``) and IMAP mailboxes (``mail``, ``mailboxes``).

Above ``routing`` and ``webhooks``, below ``api`` and ``cli``.
"""
