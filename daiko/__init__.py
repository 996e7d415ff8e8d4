"""Shared plumbing of the Daiko services: written once, used by orders, deposits and messaging."""
