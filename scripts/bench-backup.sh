#!/usr/bin/env bash
# Apply-to-Completed wall time of styrmin_backup against `velero backup create --wait` for the
# same backup of the same sample app on the same stack: the same namespace, volumes and dump
# hooks (given to the velero CLI as pod annotations, read from the Backup the provider made).
# Prints the median of RUNS runs of each and their ratio.
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

  if [ "$i" = 0 ]; then
    # The same hooks for the velero CLI: pod annotations built from the provider's Backup.
    kubectl get backup.velero.io -n "$SANDBOX_VELERO_NAMESPACE" "$ns-tf-0" -o json >"$work/backup.json"
    python3 - "$work/backup.json" "$ns" <<'PY' | while read -r pod container command timeout; do
import json, subprocess, sys
backup = json.load(open(sys.argv[1]))
for res in backup["spec"].get("hooks", {}).get("resources", []):
    selector = ",".join(f"{k}={v}" for k, v in res["labelSelector"]["matchLabels"].items())
    pods = subprocess.run(["kubectl", "get", "pods", "-n", sys.argv[2], "-l", selector, "-o", "name"],
                          capture_output=True, text=True, check=True).stdout.split()
    for hook in res.get("pre", []):
        ex = hook["exec"]
        for pod in pods:
            print(pod, ex["container"], json.dumps(ex["command"], separators=(",", ":")).replace(" ", "\\u0020"), ex.get("timeout", "10m"))
PY
      kubectl annotate -n "$ns" --overwrite "$pod" \
        "pre.hook.backup.velero.io/container=$container" \
        "pre.hook.backup.velero.io/command=$command" \
        "pre.hook.backup.velero.io/on-error=Fail" \
        "pre.hook.backup.velero.io/timeout=$timeout" >/dev/null
    done
  fi
  start=$(now)
  velero backup create "$ns-cli-$i" --include-namespaces "$ns" --storage-location "$SANDBOX_DEFAULT_BSL" \
    --labels "styrmin.io/bench=$ns" --ttl 1h --wait >/dev/null
  velero_times+=("$(elapsed "$start" "$(now)")")
  phase=$(kubectl get backup.velero.io -n "$SANDBOX_VELERO_NAMESPACE" "$ns-cli-$i" -o jsonpath='{.status.phase}')
  [ "$phase" = Completed ] || { echo "velero backup $ns-cli-$i ended $phase" >&2; exit 1; }
done

s=$(printf '%s\n' "${styrmin_times[@]}" | median)
v=$(printf '%s\n' "${velero_times[@]}" | median)
printf 'backup of the sample app (4 components, dump hooks, file-system backup), median of %d runs:\n' "$RUNS"
printf '  terraform apply of styrmin_backup (preflight, backup, wait, verification): %6.2f s  (runs: %s)\n' "$s" "${styrmin_times[*]}"
printf '  velero backup create --wait (same namespace, volumes and hooks):          %6.2f s  (runs: %s)\n' "$v" "${velero_times[*]}"
printf '  ratio styrmin / velero: %.2f\n' "$(awk -v a="$s" -v b="$v" 'BEGIN {print a / b}')"
