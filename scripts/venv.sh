#!/usr/bin/env bash
# Create .venv with the system Python (3.11+), installing Debian's venv module when the
# machine lacks it, then install the bot (and its test extras when asked).
set -euo pipefail
extras="${1:-}"
python="${PYTHON:-python3}"

if ! command -v "$python" >/dev/null 2>&1; then
  echo "未找到 $python：请先安装 Python 3.11 或更高版本。" >&2
  exit 1
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Python 版本过低（$("$python" --version 2>&1)）：需要 3.11 或更高版本。" >&2
  exit 1
fi

if [ ! -x .venv/bin/python ]; then
  if ! "$python" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    if command -v apt-get >/dev/null 2>&1; then
      echo "本机 Python 缺少 venv 模块，正在用 apt-get 安装 python3-venv ……" >&2
      sudo_cmd=""
      [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
      ver=$("$python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
      $sudo_cmd apt-get update -qq
      $sudo_cmd apt-get install -y -qq "python${ver}-venv" || $sudo_cmd apt-get install -y -qq python3-venv
      "$python" -m venv .venv
    else
      echo "本机 Python 缺少 venv 模块，请先安装（Debian/Ubuntu：apt-get install python3-venv）。" >&2
      exit 1
    fi
  fi
fi

stamp=".venv/.installed${extras:+-$extras}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "正在安装依赖（首次约需 1 分钟，详情见 .venv/install.log）……" >&2
  target="."
  [ -n "$extras" ] && target=".[$extras]"
  if ! { .venv/bin/python -m pip install --upgrade pip \
         && .venv/bin/python -m pip install -e "$target"; } > .venv/install.log 2>&1; then
    tail -n 30 .venv/install.log >&2
    echo "安装依赖失败，完整记录见 .venv/install.log。" >&2
    exit 1
  fi
  touch "$stamp"
fi
