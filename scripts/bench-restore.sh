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

styrmin_times=() velero_times=()
for i in $(seq 0 $((RUNS - 1))); do
  # A configuration and a target per run; the clones are deleted after each run (the node's CPU
  # fits only a few copies of the sample app).
  dir=$work/restore-$i && mkdir "$dir"
  restore_config "$backup" "$ns-tf$i" >"$dir/main.tf"
  start=$(now)
  (cd "$dir" && "$tf" apply -auto-approve -input=false -no-color >/dev/null)
  styrmin_times+=("$(elapsed "$start" "$(now)")")

  made=$(cd "$dir" && "$tf" state show -no-color styrmin_restore.bench | awk -F'"' '/^ *id *=/ {print $2}')
  kubectl get restore.velero.io -n "$vns" "$made" -o json |
    python3 -c 'import json, sys
r = json.load(sys.stdin)
spec = r["spec"]
spec.pop("resourceModifier", None)  # the provider'"'"'s hold, deleted once it is done
spec["namespaceMapping"] = {k: sys.argv[3] for k in spec.get("namespaceMapping", {})}
print(json.dumps({"apiVersion": r["apiVersion"], "kind": r["kind"], "spec": spec,
                  "metadata": {"name": sys.argv[1], "namespace": r["metadata"]["namespace"], "labels": {"styrmin.io/bench": sys.argv[2]}}}))' \
      "$ns-cli-$i" "$ns" "$ns-cli$i" >"$work/cli.json"
  start=$(now)
  kubectl create -f "$work/cli.json" >/dev/null
  kubectl wait -n "$vns" "restore.velero.io/$ns-cli-$i" --timeout=15m \
    --for=jsonpath='{.status.phase}'=Completed >/dev/null ||
    { echo "velero restore $ns-cli-$i did not complete: $(kubectl get restore.velero.io -n "$vns" "$ns-cli-$i" -o jsonpath='{.status.phase}')" >&2; exit 1; }
  velero_times+=("$(elapsed "$start" "$(now)")")
  kubectl delete namespace "$ns-tf$i" "$ns-cli$i" >/dev/null
done

s=$(printf '%s\n' "${styrmin_times[@]}" | median)
v=$(printf '%s\n' "${velero_times[@]}" | median)
printf 'restore of the sample app into a fresh namespace (4 components, 5 volumes, 2 dump replays), median of %d runs:\n' "$RUNS"
printf '  terraform apply of styrmin_restore (plan, hold, restore, replays, checks): %6.2f s  (runs: %s)\n' "$s" "${styrmin_times[*]}"
printf '  the same Restore created with kubectl and waited for (no provider):        %6.2f s  (runs: %s)\n' "$v" "${velero_times[*]}"
printf '  ratio styrmin / velero: %s (target <= 1.10)\n' "$(ratio "$s" "$v")"
