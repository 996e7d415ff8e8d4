"""The messaging service: each order's messages, attachments and system notices."""
