#!/usr/bin/env bash
# Refresh cost, side by side in one run: `terraform plan` (every resource read back from the
# cluster, as a drift job does) of N of each of
#   styrmin_backup_location;
#   noop_resource: a plugin-framework resource with as many attributes that does nothing, the floor
#     of any framework provider (cmd/bench-noop-provider);
#   terraform_data.
# For each N it prints the median plan times and the ratios, the peak RSS of the styrmin provider and
# of the do-nothing one, and the number of Kubernetes API requests the styrmin provider sends in one
# plan (counted from its TRACE log, in a plan of its own that is not timed). Then the same request
# count for plans of 1 and BACKUPS styrmin_backups.
#
# Not measured: hashicorp/kubernetes' kubernetes_manifest, the way users manage Velero locations in
# Terraform today. The module proxy serves that provider only at v1.13.4 (2021), which predates
# kubernetes_manifest (v2.8.0); its v2 releases are not Go module versions (no /v2 module path),
# so no wrapper module can build them.
#
# Usage: scripts/bench-refresh.sh [N...]      (needs `make sandbox-up`; default N = 30 100 300 1000)
# Environment: RUNS (plans per median, default 3), BACKUPS (default 4; 0 skips the backups).
set -euo pipefail
sizes=("${@:-30 100 300 1000}")
read -r -a sizes <<<"${sizes[*]}"
RUNS=${RUNS:-3}
BACKUPS=${BACKUPS:-4}
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
work=$(mktemp -d)
run="bench$RANDOM"
kinds=(styrmin noop data)
cleanup() {
  echo "destroying what the benchmark made..."
  for k in "${kinds[@]}" backups; do
    [ -f "$work/$k/terraform.tfstate" ] || continue
    (cd "$work/$k" && "$tf" destroy -auto-approve -input=false -no-color -parallelism=20 >/dev/null 2>&1) || true
  done
  kubectl delete namespace "$run" --wait=false >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/bin"
go build -C "$repo" -o "$work/bin/terraform-provider-noop" ./cmd/bench-noop-provider
cat >"$work/terraform.tfrc" <<HCL
disable_checkpoint = true
provider_installation {
  dev_overrides {
    "styrmin/styrmin" = "$repo/bin"
    "styrmin/noop"    = "$work/bin"
  }
  direct {}
}
HCL
export TF_CLI_CONFIG_FILE=$work/terraform.tfrc

location_args() { # the arguments every location gets
  cat <<HCL
  bucket             = "$SANDBOX_S3_BUCKET"
  prefix             = "$run/\${count.index}"
  region             = "$SANDBOX_S3_REGION"
  endpoint           = "$SANDBOX_S3_ENDPOINT"
  force_path_style   = true
  checksum_algorithm = ""
  access_key_id      = "$SANDBOX_S3_ACCESS_KEY_ID"
  secret_access_key  = "$SANDBOX_S3_SECRET_ACCESS_KEY"
  # Validation is Velero's business; the benchmark is about refresh.
  wait_for_available   = false
  validation_frequency = "0s"
  backup_sync_period   = "0s"
HCL
}

write_configs() {
  local n=$1
  mkdir -p "$work/styrmin" "$work/noop" "$work/data"
  { provider_block; cat <<HCL
resource "styrmin_backup_location" "bench" {
  count = $n
  name  = "$run-\${count.index}"
$(location_args)
}
HCL
  } >"$work/styrmin/main.tf"
  local attributes
  # As many values as each location gets.
  attributes=$(for i in $(seq 0 11); do printf '  a%d = "%s-${count.index}-%d"\n' "$i" "$run" "$i"; done)
  cat >"$work/noop/main.tf" <<HCL
terraform {
  required_providers {
    noop = { source = "styrmin/noop" }
  }
}
resource "noop_resource" "bench" {
  count = $n
$attributes
}
HCL
  cat >"$work/data/main.tf" <<HCL
resource "terraform_data" "bench" {
  count = $n
  input = "$run-\${count.index}"
}
HCL
}

apply() { (cd "$work/$1" && "$tf" apply -auto-approve -input=false -no-color -parallelism=20 >/dev/null); }

# median_plan DIR: the median wall time of RUNS plans, each of which must be empty.
median_plan() {
  local times=() start
  for _ in $(seq "$RUNS"); do
    start=$(now)
    (cd "$work/$1" && "$tf" plan -input=false -no-color -detailed-exitcode >"$work/plan.out" 2>&1) || {
      echo "the plan of $1 was not empty or failed:" >&2
      grep -v -e 'Refreshing state' -e '^$' "$work/plan.out" | tail -40 >&2
      exit 1
    }
    times+=("$(elapsed "$start" "$(now)")")
  done
  printf '%s\n' "${times[@]}" | median
}

# peak_rss DIR BINARY: the peak resident memory (VmHWM) in MB of the provider BINARY during one plan.
peak_rss() {
  (cd "$work/$1" && "$tf" plan -input=false -no-color >/dev/null) &
  local plan=$! peak=0 kb pid
  while kill -0 "$plan" 2>/dev/null; do
    for pid in $(pgrep -f "$2" || true); do
      kb=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
      [ "${kb:-0}" -gt "$peak" ] && peak=$kb
    done
    sleep 0.05
  done
  wait "$plan"
  awk -v kb="$peak" 'BEGIN {printf "%.0f", kb / 1024}'
}

# api_requests DIR: the Kubernetes API requests the styrmin provider sends in one plan.
api_requests() {
  local log=$work/$1.trace
  (cd "$work/$1" && TF_LOG_PROVIDER=TRACE TF_LOG_PATH="$log" "$tf" plan -input=false -no-color >/dev/null)
  grep -c "Sending Kubernetes API request" "$log" || true
  rm -f "$log"
}

# Every provider is a dev override (terraform_data is built in): no init.
printf '%6s %9s %9s %9s %12s %12s %8s %8s %9s\n' N styrmin noop data styrmin/noop styrmin/data "RSS MB" "noop MB" requests
for n in "${sizes[@]}"; do
  write_configs "$n"
  for k in "${kinds[@]}"; do apply "$k"; done
  s=$(median_plan styrmin); o=$(median_plan noop); d=$(median_plan data)
  printf '%6d %8.2fs %8.2fs %8.2fs %12s %12s %8s %8s %9s\n' "$n" "$s" "$o" "$d" \
    "$(ratio "$s" "$o")" "$(ratio "$s" "$d")" "$(peak_rss styrmin "$repo/bin/terraform-provider-styrmin")" \
    "$(peak_rss noop "$work/bin/terraform-provider-noop")" "$(api_requests styrmin)"
done
echo "targets: styrmin/noop <= 1.20 at N = 300; peak RSS <= 80 MB at N = 1000"

if [ "$BACKUPS" -gt 0 ]; then
  echo "Kubernetes API requests in one plan of styrmin_backups of the sample app (target: constant):"
  deploy_sample_app "$run"
  mkdir -p "$work/backups"
  for n in 1 "$BACKUPS"; do
    backup_config "$run" "$n" "$run" >"$work/backups/main.tf"
    (cd "$work/backups" && "$tf" apply -auto-approve -input=false -no-color >/dev/null)
    printf '  %d backups: %s requests\n' "$n" "$(api_requests backups)"
  done
fi
