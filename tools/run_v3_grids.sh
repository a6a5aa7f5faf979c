#!/usr/bin/env bash
# Science v3's two long runs, one after the other, each resumable (finished tasks are reused):
# the site grid (profile full: synthesis + the 45 pre-registered specifications per task) and the
# internal-validation grid (profile internal). Run it in the background, from a checkout whose
# commit names the code (a separate git worktree keeps later edits out of a running grid):
#   nohup nice -n 19 tools/run_v3_grids.sh > grid-v3.log 2>&1 &
# Between working sessions the task files are kept with tools/checkpoint.py (save, then restore).
set -uo pipefail
cd "$(dirname "$0")/.."
export RADLIB_OFFLINE="${RADLIB_OFFLINE:-1}"
for profile in full internal; do
  echo "== $(date -u +%FT%TZ) radlib run --profile $profile ($(git describe --always --dirty 2>/dev/null))"
  .venv/bin/python -m radlib.cli run --profile "$profile" || { echo "profile $profile stopped ($?)"; exit 1; }
done
echo "== $(date -u +%FT%TZ) both grids complete"
