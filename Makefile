.PHONY: install lint types test all

install:
	python -m pip install -e ".[test]"

lint:
	ruff check src tests bench && ruff format --check src tests bench

types:
	mypy

test:
	python -m pytest -q

all: lint types test
