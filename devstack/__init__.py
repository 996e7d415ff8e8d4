"""The local stack: PostgreSQL, Kafka, Temporal, the three services and the worker as native processes.

No Docker needed: each part runs from what this machine's registries provide,
with its state under the project-local ``.daiko/`` folder.
"""
