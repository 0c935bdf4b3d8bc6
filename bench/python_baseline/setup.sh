#!/usr/bin/env bash
# Sets up the Python baseline: a virtualenv with the pinned requirements, the
# gRPC stubs generated from proto/fgf/v1/tagger.proto into gen/, and model.pkl
# trained by train.py. Safe to run again; works from any directory.
#
#   VENV=/path/to/venv  virtualenv to create or reuse (default: ./.venv here)
#   PYTHON=python3.11   interpreter that creates it (CPython 3.11 or newer)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
HERE="$(pwd)"
ROOT="$(cd ../.. && pwd)"
VENV="${VENV:-$HERE/.venv}"

if [[ -z "${PYTHON:-}" ]]; then
    if command -v python3.11 >/dev/null 2>&1; then PYTHON=python3.11; else PYTHON=python3; fi
fi

# 1. Virtualenv and pinned packages (pip skips what is already installed).
if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || { echo "setup.sh: $PYTHON is older than 3.11 (tomllib is needed)" >&2; exit 1; }
    echo "creating virtualenv $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install --quiet --disable-pip-version-check -r requirements.txt

# 2. gRPC stubs: gen/fgf/v1/tagger_pb2.py and tagger_pb2_grpc.py. Generated
# into a fresh folder and swapped in, so a failed run leaves no half state.
rm -rf gen.tmp
mkdir gen.tmp
"$PY" -m grpc_tools.protoc -I "$ROOT/proto" \
    --python_out=gen.tmp --grpc_python_out=gen.tmp \
    "$ROOT/proto/fgf/v1/tagger.proto"
rm -rf gen
mv gen.tmp gen

# 3. The model.
"$PY" train.py
