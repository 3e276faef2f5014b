.PHONY: check lint format type test bench bench-before-after docs

check: lint type test

lint:
	ruff check src tests bench
	ruff format --check src tests bench

type:
	mypy

test:
	python -m pytest

bench:
	python bench/ingest.py

bench-before-after:
	python bench/before_after.py

docs:
	mailhunt schema > docs/schema.md

format:
	ruff format src tests bench
