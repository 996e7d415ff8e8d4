"""The ledger: each deposit as double-entry accounts in integer yen, with holds.

The same inner shape as a service: ``domain.py`` (the ledger's rules without a
database: accounts, immutable transfers, holds), ``repository.py`` (the ledger
in PostgreSQL: transfers posted under row locks) and ``queries.py`` (reading
it: a deposit's history with its running balance, and the auditor's checks).
"""
