#!/usr/bin/env bash
# faster-whisper (CTranslate2) reference runs and faster-whisper vs Earshot comparison on the speech
# set. Makes a private venv with pinned versions (bench/faster-whisper-requirements.txt:
# faster-whisper 1.2.1, ctranslate2 4.8.5 and their dependencies) when it is missing or holds other
# versions, then runs bench/compare-faster-whisper.py with all arguments.
#
#   bench/compare-faster-whisper.sh [--models tiny.en,base] [--compute-types float32,int8] [--threads 2]
#       [--set DIR] [--earshot BIN] [--repeat 3] [--out FILE] [--markdown-out FILE] [--reference-out FILE]
#
# Env: EARSHOT_FW_VENV (default ~/.cache/earshot/fw-venv), EARSHOT_WHISPER_CACHE (models, default
# ~/.cache/earshot/whisper; fill it with scripts/fetch-whisper-models), PYTHON (default python3,
# used only to create the venv). Needs PyPI the first time.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"   # bench/
venv="${EARSHOT_FW_VENV:-$HOME/.cache/earshot/fw-venv}"
req="$here/faster-whisper-requirements.txt"

check() {
  "$venv/bin/python" - <<'PY' 2>/dev/null
import ctranslate2, faster_whisper
assert faster_whisper.__version__ == "1.2.1", faster_whisper.__version__
assert ctranslate2.__version__ == "4.8.5", ctranslate2.__version__
PY
}

if ! check; then
  echo "compare-faster-whisper: installing faster-whisper 1.2.1 into $venv" >&2
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  check || { echo "compare-faster-whisper: $venv does not import faster-whisper 1.2.1 / ctranslate2 4.8.5" >&2; exit 1; }
fi

exec "$venv/bin/python" "$here/compare-faster-whisper.py" "$@"
