"""Halted orders: an order whose workflow ended abnormally, its staff API and its settlement.

The same inner shape as a service: ``api.py`` (staff routes), ``schemas.py``,
``service.py`` (use cases and their database reads and writes), ``domain.py``
(rules without I/O) and ``sweep.py`` (the background task that finds them).
"""
