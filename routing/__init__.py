"""The decision: recognition + rules + models → a postbox or the review queue; training; routing evaluation.

Above the stage libraries (``classifiers``, ``rules``, ``extraction``, ``intake``), beside ``webhooks``, below
``workers``, ``api`` and ``cli``: it joins what the stage libraries find into one decision.
"""
