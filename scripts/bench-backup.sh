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
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=/dev/null
. "$repo/.sandbox/env"
make -C "$repo" --no-print-directory build >/dev/null
ns=bench-backup-$RANDOM
work=$(mktemp -d)
cleanup() {
  (cd "$work" && terraform destroy -auto-approve -input=false -no-color >/dev/null 2>&1) || true
  velero backup delete --confirm --selector "styrmin.io/bench=$ns" >/dev/null 2>&1 || true
  kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

kubectl create namespace "$ns" >/dev/null
kubectl apply -n "$ns" -f "$repo/examples/sample-app/manifests/" >/dev/null
kubectl wait -n "$ns" --for=condition=Available deployment --all --timeout=240s >/dev/null
# Data in every component: an empty volume fails a styrmin_backup (it captured nothing).
for c in files notes; do
  pod=$(kubectl get pods -n "$ns" -l "app.kubernetes.io/component=$c" -o jsonpath='{.items[0].metadata.name}')
  kubectl exec -n "$ns" "$pod" -c "$c" -- /bin/sh -c "mkdir -p /data/uploads /data/notes && seq 1000 > /data/uploads/numbers.txt && seq 1000 > /data/notes/numbers.txt"
done

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b - a}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

config() {
  cat <<HCL
terraform {
  required_providers {
    styrmin = { source = "styrmin/styrmin" }
  }
}
provider "styrmin" {}
data "styrmin_driver_spec" "app" {
  path = "$repo/examples/sample-app/driver.styrmin.yml"
}
resource "styrmin_backup" "bench" {
  count           = $1
  name            = "$ns-tf-\${count.index}"
  namespace       = "$ns"
  backup_location = "$SANDBOX_DEFAULT_BSL"
  components      = data.styrmin_driver_spec.app.components
  labels          = { "styrmin.io/bench" = "$ns" }
  ttl             = "1h"
  deletion_policy = "delete"
}
HCL
}

styrmin_times=() velero_times=()
for i in $(seq 0 $((RUNS - 1))); do
  config $((i + 1)) >"$work/main.tf"
  start=$(now)
  (cd "$work" && terraform apply -auto-approve -input=false -no-color >/dev/null)
  styrmin_times+=("$(elapsed "$start" "$(now)")")

  # The same Backup without the provider: its spec, under another name.
  kubectl get backup.velero.io -n "$SANDBOX_VELERO_NAMESPACE" "$ns-tf-0" -o json |
    python3 -c 'import json, sys
b = json.load(sys.stdin)
print(json.dumps({"apiVersion": b["apiVersion"], "kind": b["kind"], "spec": b["spec"],
                  "metadata": {"name": sys.argv[1], "namespace": b["metadata"]["namespace"], "labels": {"styrmin.io/bench": sys.argv[2]}}}))' \
      "$ns-cli-$i" "$ns" >"$work/cli.json"
  start=$(now)
  kubectl create -f "$work/cli.json" >/dev/null
  kubectl wait -n "$SANDBOX_VELERO_NAMESPACE" "backup.velero.io/$ns-cli-$i" --timeout=10m \
    --for=jsonpath='{.status.phase}'=Completed >/dev/null ||
    { echo "velero backup $ns-cli-$i did not complete" >&2; exit 1; }
  velero_times+=("$(elapsed "$start" "$(now)")")
done

s=$(printf '%s\n' "${styrmin_times[@]}" | median)
v=$(printf '%s\n' "${velero_times[@]}" | median)
printf 'backup of the sample app (4 components, dump hooks, file-system backup), median of %d runs:\n' "$RUNS"
printf '  terraform apply of styrmin_backup (preflight, backup, wait, verification): %6.2f s  (runs: %s)\n' "$s" "${styrmin_times[*]}"
printf '  the same Backup created with kubectl and waited for (no provider):         %6.2f s  (runs: %s)\n' "$v" "${velero_times[*]}"
printf '  ratio styrmin / velero: %.2f\n' "$(awk -v a="$s" -v b="$v" 'BEGIN {print a / b}')"
