"""Generated sample mail of Stadt Musterstadt with ground truth: for tests, benchmarks, evaluation and training.

Not part of the service. Its one interface to the service is :func:`sample_docs.generate.generate_set`, which
training (``routing.training``) calls at run time to make born-digital letters with known types and postboxes;
nothing else of the service imports this package (checked by the import contract in ``pyproject.toml``). Tests,
``bench/`` and ``mailroom eval`` read its committed files and truth files.
"""
