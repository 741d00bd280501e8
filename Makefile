# 两条命令：make run（安装并运行机器人）、make test（安装并运行全部测试）。
.PHONY: run test demo check lint bench clean

run:
	@bash scripts/venv.sh
	.venv/bin/python -m bot run

test:
	@bash scripts/venv.sh test
	.venv/bin/python -m pytest

demo:
	@bash scripts/venv.sh
	.venv/bin/python -m bot.demo $(if $(AS),--as $(AS))

check:
	@bash scripts/venv.sh
	.venv/bin/python -m bot check

lint:
	@bash scripts/venv.sh test
	.venv/bin/ruff check bot tests bench
	.venv/bin/ruff format --check bot tests bench

bench:
	@bash scripts/venv.sh test
	.venv/bin/python bench/store.py

clean:
	rm -rf .venv .pytest_cache
