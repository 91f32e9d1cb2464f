# Shared by the bench-*.sh scripts (sourced, not run): the stack's environment, timing helpers,
# and the sample app with data in every component.
# shellcheck shell=bash
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=/dev/null
. "$repo/.sandbox/env"
make -C "$repo" --no-print-directory build >/dev/null
# shellcheck disable=SC2034 # used by the scripts that source this file
tf=${TF_ACC_TERRAFORM_PATH:-terraform}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b - a}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

# report_medians TITLE STYRMIN_LABEL "STYRMIN_TIMES..." VELERO_LABEL "VELERO_TIMES...": the medians of
# two sets of runs side by side, every run, and their ratio (target <= 1.10).
report_medians() {
  local s v
  s=$(printf '%s\n' $3 | median)
  v=$(printf '%s\n' $5 | median)
  printf '%s, median of %d runs:\n' "$1" "$(wc -w <<<"$3")"
  printf '  %-76s %6.2f s  (runs: %s)\n' "$2:" "$s" "$3" "$4:" "$v" "$5"
  printf '  ratio styrmin / velero: %s (target <= 1.10)\n' "$(ratio "$s" "$v")"
}

# copy_spec KIND NAME NEW LABEL NAMESPACE [FIELD...]: Velero object NAME's spec, without the
# spec's FIELDs, as a new object NEW labelled styrmin.io/bench=LABEL: a Backup of NAMESPACE or a
# Restore into it, unless NAMESPACE is "". The same work without the provider, by hand.
copy_spec() {
  local kind=$1 name=$2
  shift 2
  kubectl get "$kind.velero.io" -n "$SANDBOX_VELERO_NAMESPACE" "$name" -o json | python3 -c 'import json, sys
o = json.load(sys.stdin)
new, label, namespace, drop = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
spec = o["spec"]
for k in drop:
    spec.pop(k, None)
if namespace and o["kind"] == "Backup":
    spec["includedNamespaces"] = [namespace]
elif namespace:
    spec["namespaceMapping"] = {k: namespace for k in spec.get("namespaceMapping", {})}
print(json.dumps({"apiVersion": o["apiVersion"], "kind": o["kind"], "spec": spec,
                  "metadata": {"name": new, "namespace": o["metadata"]["namespace"], "labels": {"styrmin.io/bench": label}}}))' "$@"
}

# velero_wait KIND NAME TIMEOUT: waits until the Velero object is Completed; otherwise the
# script ends, naming the phase it reached.
velero_wait() {
  kubectl wait -n "$SANDBOX_VELERO_NAMESPACE" "$1.velero.io/$2" --timeout="$3" --for=jsonpath='{.status.phase}'=Completed >/dev/null ||
    { echo "velero $1 $2 did not complete: $(kubectl get "$1.velero.io" -n "$SANDBOX_VELERO_NAMESPACE" "$2" -o jsonpath='{.status.phase}')" >&2; exit 1; }
}

# create_and_wait KIND NAME TIMEOUT FILE: the by-hand side of a pair: FILE created with kubectl
# and waited for (velero_wait); its time is appended to velero_times.
create_and_wait() {
  local start
  start=$(now)
  kubectl create -f "$4" >/dev/null
  velero_wait "$1" "$2" "$3"
  velero_times+=("$(elapsed "$start" "$(now)")")
}

# in_turn I A B: A I then B I for an even I, B I then A I for an odd one. The second of a pair
# finds the data in the page cache (and the images' layers warm), so which side goes first alternates.
in_turn() {
  if [ $(($1 % 2)) -eq 0 ]; then
    "$2" "$1"
    "$3" "$1"
  else
    "$3" "$1"
    "$2" "$1"
  fi
}

# deploy_sample_app NS: the sample app in a new namespace, every component running, with data in
# its volumes (an empty volume fails a styrmin_backup: it captured nothing).
deploy_sample_app() {
  local ns=$1 c pod
  kubectl create namespace "$ns" >/dev/null
  kubectl apply -n "$ns" -f "$repo/examples/sample-app/manifests/" >/dev/null
  for w in statefulset/postgres statefulset/mariadb statefulset/files deployment/notes deployment/server; do
    kubectl rollout status -n "$ns" "$w" --timeout=300s >/dev/null
  done
  for c in files notes; do # every replica: each files pod has a volume of its own
    for pod in $(kubectl get pods -n "$ns" -l "app.kubernetes.io/component=$c" -o jsonpath='{.items[*].metadata.name}'); do
      kubectl exec -n "$ns" "$pod" -c "$c" -- /bin/sh -c "mkdir -p /data/uploads /data/notes && seq 1000 > /data/uploads/numbers.txt && seq 1000 > /data/notes/numbers.txt"
    done
  done
}

# provider_block: the terraform and provider blocks of every benchmark configuration.
provider_block() {
  cat <<HCL
terraform {
  required_providers {
    styrmin = { source = "styrmin/styrmin" }
  }
}
provider "styrmin" {
  config_path = "$KUBECONFIG"
}
HCL
}

# backup_config NS COUNT LABEL: COUNT styrmin_backups of the sample app in NS, labelled LABEL.
backup_config() {
  provider_block
  cat <<HCL
data "styrmin_driver_spec" "app" {
  path = "$repo/examples/sample-app/driver.styrmin.yml"
}
resource "styrmin_backup" "bench" {
  count           = $2
  name            = "$1-tf-\${count.index}"
  namespace       = "$1"
  backup_location = "$SANDBOX_DEFAULT_BSL"
  components      = data.styrmin_driver_spec.app.components
  labels          = { "styrmin.io/bench" = "$3" }
  ttl             = "1h"
  deletion_policy = "delete"
}
HCL
}

# restore_config BACKUP TARGET: a styrmin_restore of the sample app's BACKUP into TARGET.
restore_config() {
  provider_block
  cat <<HCL
data "styrmin_driver_spec" "app" {
  path = "$repo/examples/sample-app/driver.styrmin.yml"
}
resource "styrmin_restore" "bench" {
  backup_name      = "$1"
  target_namespace = "$2"
  components       = data.styrmin_driver_spec.app.components
}
HCL
}
