#!/usr/bin/env bash
# Refresh cost of styrmin_backup_location: `terraform plan` of N locations (every one read back
# from the cluster, as drift detection in CI does) against N terraform_data resources, in the
# same run on the same machine. Prints both median plan times and their ratio.
#
# Usage: scripts/bench-refresh.sh [N] [RUNS]      (needs `make sandbox-up`; default N=300, RUNS=3)
set -euo pipefail
N=${1:-300}
RUNS=${2:-3}
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=/dev/null
. "$repo/.sandbox/env"
make -C "$repo" --no-print-directory build >/dev/null
tf=${TF_ACC_TERRAFORM_PATH:-terraform}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/styrmin" "$work/data"
run="bench$RANDOM"

cat >"$work/styrmin/main.tf" <<HCL
terraform {
  required_providers {
    styrmin = { source = "styrmin/styrmin" }
  }
}

provider "styrmin" {
  config_path = "$KUBECONFIG"
}

resource "styrmin_backup_location" "bench" {
  count              = $N
  name               = "$run-\${count.index}"
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
}
HCL
cat >"$work/data/main.tf" <<HCL
resource "terraform_data" "bench" {
  count = $N
  input = "$run-\${count.index}"
}
HCL

cleanup() {
  echo "destroying the $N locations..."
  (cd "$work/styrmin" && "$tf" destroy -auto-approve -input=false -no-color -parallelism=20 >/dev/null) || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "creating $N backup storage locations and $N terraform_data resources..."
(cd "$work/data" && "$tf" init -input=false -no-color >/dev/null && "$tf" apply -auto-approve -input=false -no-color >/dev/null)
(cd "$work/styrmin" && "$tf" apply -auto-approve -input=false -no-color -parallelism=20 >/dev/null)

# median wall time of RUNS plans, in seconds
median_plan() {
  local dir=$1 times=()
  for _ in $(seq "$RUNS"); do
    local start end
    start=$(date +%s.%N)
    (cd "$dir" && "$tf" plan -input=false -no-color -detailed-exitcode >/dev/null) || {
      echo "plan in $dir was not empty or failed" >&2; exit 1; }
    end=$(date +%s.%N)
    times+=("$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}')")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

styrmin=$(median_plan "$work/styrmin")
data=$(median_plan "$work/data")
printf 'terraform plan, %d resources, median of %d runs:\n' "$N" "$RUNS"
printf '  styrmin_backup_location: %6.2f s\n' "$styrmin"
printf '  terraform_data:          %6.2f s\n' "$data"
printf '  ratio:                   %6.2f (target <= 2.00)\n' "$(awk -v a="$styrmin" -v b="$data" 'BEGIN {print a / b}')"
