"""The business rules R1-R13 (docs/rules.md), one module per stage of an order.

Every rule is a function ``rule(order, request, now, actor) -> None`` that
changes a draft of the order or refuses (``workflows.refusals.refuse``) without
having changed anything the workflow keeps. They are pure: no clock, no I/O.
"""
