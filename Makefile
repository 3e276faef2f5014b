.PHONY: check lint type test bench docs

check: lint type test

lint:
	ruff check src tests bench

type:
	mypy

test:
	python -m pytest

bench:
	python bench/ingest.py

docs:
	mailhunt schema > docs/schema.md
