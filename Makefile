# The two commands of the README: `make up` (install + run the whole system)
# and `make test` (install + run every test against the real stack).
.PHONY: bootstrap up down status logs test lint bench

bootstrap:
	@deploy/bootstrap.sh

up: bootstrap
	@.venv/bin/daiko-stack up

down:
	@.venv/bin/daiko-stack down

status:
	@.venv/bin/daiko-stack status

test: bootstrap
	@.venv/bin/daiko-stack up
	.venv/bin/pytest $(PYTEST_ARGS)

lint: bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy contracts daiko services workflows devstack tests
	.venv/bin/python -m contracts.publish --check

bench: bootstrap
	@.venv/bin/daiko-stack up
	@for script in bench/*.py; do echo "== $$script"; .venv/bin/python $$script || exit 1; done
