#!/usr/bin/env bash
# drift-check.sh DIR: `terraform plan -detailed-exitcode` of the configuration in DIR.
# Exit 0: no drift. 2: drift (the planned changes are printed). 1: error (terraform's output is
# printed). The Kubernetes connection comes from the KUBE_* variables (KUBE_CONFIG_PATH, KUBE_CTX),
# variables without a default from TF_VAR_*.
#
# From cron, mailing the output only when there is something to say (cron mails any output):
#   17 5 * * *  cd /srv/infra && ./drift-check.sh environments/production >/tmp/drift.txt 2>&1 || cat /tmp/drift.txt
set -uo pipefail
dir=${1:?usage: drift-check.sh DIR}
export TF_IN_AUTOMATION=1 TF_INPUT=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

if ! terraform -chdir="$dir" init -input=false >"$out" 2>&1; then
  echo "terraform init failed in $dir:"
  cat "$out"
  exit 1
fi

rc=0
terraform -chdir="$dir" plan -detailed-exitcode -input=false -no-color -lock-timeout=5m >"$out" 2>&1 || rc=$?
case $rc in
  0)
    echo "no drift in $dir"
    ;;
  2)
    echo "DRIFT in $dir:"
    sed -n '/^Terraform will perform/,/^Plan:/p' "$out"
    ;;
  *)
    echo "terraform plan failed in $dir (exit code $rc):"
    cat "$out"
    rc=1
    ;;
esac
exit "$rc"
