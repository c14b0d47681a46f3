"""The ``mailroom`` command line: the composition root (``cli.main``), one module per command group
(``cli.commands``) and one helper module they share (``cli.common``)."""
