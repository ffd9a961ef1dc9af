# Step reporting for .ci/install (sourced): a numbered line per step and its duration.
# On a terminal each step's own output shows as it runs (apt's lines, pip's downloads and
# installs); on CI (CI=true) or when the output is not a terminal the step is quiet: its
# output goes to a log that is printed only if the step fails.

STEP_NUMBER=0
STEPS_TOTAL=${STEPS_TOTAL:-0}
if [ "${CI:-}" = "true" ] || [ ! -t 1 ]; then STEPS_QUIET=1; else STEPS_QUIET=0; fi

# run_step TITLE COMMAND [ARGS...]: run COMMAND as the next step; its status is the step's.
run_step() {
  local title=$1 started=$SECONDS status=0 log
  shift
  STEP_NUMBER=$((STEP_NUMBER + 1))
  printf '[%d/%d] %s\n' "$STEP_NUMBER" "$STEPS_TOTAL" "$title"
  if [ "$STEPS_QUIET" = 1 ]; then
    log=$(mktemp)
    "$@" >"$log" 2>&1 || status=$?
    [ "$status" = 0 ] || cat "$log" >&2
    rm -f "$log"
  else
    "$@" || status=$?
  fi
  if [ "$status" != 0 ]; then
    printf '[%d/%d] %s failed (exit %d) after %ds\n' \
      "$STEP_NUMBER" "$STEPS_TOTAL" "$title" "$status" $((SECONDS - started)) >&2
    return "$status"
  fi
  printf '      done in %ds\n' $((SECONDS - started))
}

# pip_install ARGS...: pip, quiet on CI; on a terminal its progress without the
# "Requirement already satisfied" line of every package that is already there.
pip_install() {
  if [ "$STEPS_QUIET" = 1 ]; then
    python -m pip install --quiet --disable-pip-version-check "$@"
  else
    python -m pip install --disable-pip-version-check --progress-bar on "$@" \
      | { grep --line-buffered -v '^Requirement already satisfied' || true; }
  fi
}
