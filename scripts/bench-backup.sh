#!/usr/bin/env bash
# Apply-to-Completed wall time of styrmin_backup against a plain Velero backup of the same sample
# app on the same stack: the same namespace, volumes and dump hooks (the spec of the Backup the
# provider made, created with kubectl and waited for by a watch, as `velero backup create --wait`
# would; the velero CLI cannot give hooks, and pod hook annotations would replace the provider's
# hooks, which its preflight refuses). Prints the median of RUNS runs of each and their ratio.
#
# Usage: scripts/bench-backup.sh [RUNS]     (needs `make sandbox-up`; default RUNS=3)
set -euo pipefail
RUNS=${1:-3}
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
ns=bench-backup-$RANDOM
work=$(mktemp -d)
cleanup() {
  (cd "$work" && "$tf" destroy -auto-approve -input=false -no-color >/dev/null 2>&1) || true
  velero backup delete --confirm --selector "styrmin.io/bench=$ns" >/dev/null 2>&1 || true
  kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
deploy_sample_app "$ns"

# A first backup, not timed: it makes the namespace's Kopia repository and uploads the data, and
# its spec is the one copied by hand. Every timed backup, on either side, is then an incremental
# one (as a scheduled backup is); before, the provider's first run paid for the repository.
backup_config "$ns" 1 "$ns" >"$work/main.tf"
(cd "$work" && "$tf" apply -auto-approve -input=false -no-color >/dev/null)
copy_spec backup "$ns-tf-0" NAME "$ns" "" >"$work/cli.template.json"

styrmin_times=() velero_times=()
# styrmin_backup I: one more styrmin_backup in the configuration, applied and timed.
styrmin_backup() {
  local start
  backup_config "$ns" $(($1 + 2)) "$ns" >"$work/main.tf"
  start=$(now)
  (cd "$work" && "$tf" apply -auto-approve -input=false -no-color >/dev/null)
  styrmin_times+=("$(elapsed "$start" "$(now)")")
}
# by_hand I: the same Backup without the provider (its spec under another name), timed.
by_hand() {
  local name=$ns-cli-$1
  sed "s/\"NAME\"/\"$name\"/" "$work/cli.template.json" >"$work/cli.json"
  create_and_wait backup "$name" 10m "$work/cli.json"
}
for i in $(seq 0 $((RUNS - 1))); do
  in_turn "$i" styrmin_backup by_hand
done

report_medians 'backup of the sample app (4 components, dump hooks, file-system backup)' \
  'terraform apply of styrmin_backup (preflight, backup, wait, verification)' "${styrmin_times[*]}" \
  'the same Backup created with kubectl and waited for (no provider)' "${velero_times[*]}"
