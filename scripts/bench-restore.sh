#!/usr/bin/env bash
# Restore latency: `terraform apply` of styrmin_restore against the same Restore made with kubectl
# and waited for, as `velero restore create --wait` would (the spec of the Restore the provider
# made, its dump-replay hooks included, into another fresh namespace; without the provider's hold
# of the application and its checks), each from the same backup of the sample app into fresh
# namespaces. Prints the median of RUNS runs of each and their ratio.
#
# Usage: scripts/bench-restore.sh [RUNS]     (needs `make sandbox-up`; default RUNS=3)
set -euo pipefail
RUNS=${1:-3}
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
vns=$SANDBOX_VELERO_NAMESPACE
ns=bench-restore-$RANDOM
work=$(mktemp -d)
mkdir "$work/backup"
cleanup() {
  for d in "$work"/restore-* "$work/backup"; do
    [ -d "$d" ] && (cd "$d" && "$tf" destroy -auto-approve -input=false -no-color >/dev/null 2>&1 || true)
  done
  kubectl delete restores.velero.io -n "$vns" -l "styrmin.io/bench=$ns" --wait=false >/dev/null 2>&1 || true
  for n in $(kubectl get namespaces -o name | grep "^namespace/$ns"); do
    kubectl delete "$n" --wait=false >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
deploy_sample_app "$ns"
backup_config "$ns" 1 "$ns" >"$work/backup/main.tf"
(cd "$work/backup" && "$tf" apply -auto-approve -input=false -no-color >/dev/null)
backup="$ns-tf-0"

# styrmin_restore I: a styrmin_restore apply into a fresh namespace, timed.
styrmin_restore() {
  local dir=$work/restore-$1 start
  mkdir "$dir"
  restore_config "$backup" "$ns-tf$1" >"$dir/main.tf"
  start=$(now)
  (cd "$dir" && "$tf" apply -auto-approve -input=false -no-color >/dev/null)
  styrmin_times+=("$(elapsed "$start" "$(now)")")
}

# by_hand I: the spec of the first Restore the provider made (its name and target changed) created
# with kubectl and waited for, timed.
by_hand() {
  local name=$ns-cli-$1
  if [ -z "${made:-}" ]; then
    made=$(cd "$work/restore-0" && "$tf" state show -no-color styrmin_restore.bench | awk -F'"' '/^ *id *=/ {print $2}')
  fi
  # resourceModifier: the provider's hold, deleted once it is done.
  copy_spec restore "$made" "$name" "$ns" "$ns-cli$1" resourceModifier >"$work/cli.json"
  create_and_wait restore "$name" 15m "$work/cli.json"
}

styrmin_times=() velero_times=()
for i in $(seq 0 $((RUNS - 1))); do
  # The provider goes first in run 0: by_hand copies its Restore's spec.
  in_turn "$i" styrmin_restore by_hand
  # The clones are deleted after each run: the node's CPU fits only a few copies of the sample app.
  kubectl delete namespace "$ns-tf$i" "$ns-cli$i" >/dev/null
done

report_medians 'restore of the sample app into a fresh namespace (4 components, 5 volumes, 2 dump replays)' \
  'terraform apply of styrmin_restore (plan, hold, restore, replays, checks)' "${styrmin_times[*]}" \
  'the same Restore created with kubectl and waited for (no provider)' "${velero_times[*]}"
