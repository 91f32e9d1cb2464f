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

styrmin_times=() velero_times=()
for i in $(seq 0 $((RUNS - 1))); do
  backup_config "$ns" $((i + 1)) "$ns" >"$work/main.tf"
  start=$(now)
  (cd "$work" && "$tf" apply -auto-approve -input=false -no-color >/dev/null)
  styrmin_times+=("$(elapsed "$start" "$(now)")")

  # The same Backup without the provider: its spec, under another name.
  copy_spec backup "$ns-tf-0" "$ns-cli-$i" "$ns" "" >"$work/cli.json"
  start=$(now)
  kubectl create -f "$work/cli.json" >/dev/null
  velero_wait backup "$ns-cli-$i" 10m
  velero_times+=("$(elapsed "$start" "$(now)")")
done

report_medians 'backup of the sample app (4 components, dump hooks, file-system backup)' \
  'terraform apply of styrmin_backup (preflight, backup, wait, verification)' "${styrmin_times[*]}" \
  'the same Backup created with kubectl and waited for (no provider)' "${velero_times[*]}"
