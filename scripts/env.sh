# Sourced by the scripts/: where the shared Python venv (torch wheel, oracles) lives.
# One venv per machine, outside any checkout, so a fresh clone never downloads torch again.
if [ -z "${WILDREID_VENV:-}" ]; then
  if [ -w /opt ] || [ -d /opt/wildreid/venv ]; then
    WILDREID_VENV=/opt/wildreid/venv
  else
    WILDREID_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/wildreid/venv"
  fi
fi
export WILDREID_VENV
export WILDREID_PYTHON="$WILDREID_VENV/bin/python"
WILDREID_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export WILDREID_ROOT
# OpenMPI refuses root without these; CI runs as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
