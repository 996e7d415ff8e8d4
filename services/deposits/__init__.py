"""The deposits service: each customer's deposit as a double-entry ledger."""
