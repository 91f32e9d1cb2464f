#!/usr/bin/env bash
# `make demo`, after the stack is up: the clone story on the local stack. Deploys the sample app
# into demo-production with data, backs it up with styrmin_backup, restores it into demo-clone
# with styrmin_restore (examples/demo), and prints the data on both sides; then shows the nightly
# schedule's first backup, proven, and a passing restore drill of it.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=/dev/null
. "$repo/.sandbox/env"
prod=demo-production clone=demo-clone
work="$SANDBOX_DIR/demo"

step() { printf '\n== %s\n' "$*"; }

step "fresh start: removing an earlier demo's namespaces and state"
if [ -f "$work/terraform.tfstate" ]; then
  (cd "$work" && terraform destroy -auto-approve -input=false -no-color >/dev/null 2>&1) || true
fi
kubectl delete namespace "$prod" "$clone" --ignore-not-found --wait=true >/dev/null
rm -rf "$work" && mkdir -p "$work" && cp "$repo/examples/demo/main.tf" "$work/"
sed -i "s#\${path.module}/../sample-app#$repo/examples/sample-app#" "$work/main.tf"
printf 'terraform {\n  required_providers {\n    styrmin = { source = "styrmin/styrmin" }\n  }\n}\n' >"$work/providers.tf"

step "deploying the sample app into $prod"
kubectl create namespace "$prod" >/dev/null
kubectl apply -n "$prod" -f "$repo/examples/sample-app/manifests/" >/dev/null
for workload in statefulset/postgres statefulset/mariadb statefulset/files deployment/notes deployment/server; do
  kubectl rollout status -n "$prod" "$workload" --timeout=240s >/dev/null
done

pod() { kubectl get pods -n "$1" -l "app.kubernetes.io/component=$2" -o jsonpath='{.items[0].metadata.name}'; }
run() { local ns=$1 c=$2; shift 2; kubectl exec -n "$ns" "$(pod "$ns" "$c")" -c "$c" -- /bin/sh -c "$*"; }
# every replica of a component (files runs two, each with its own volume)
run_all() {
  local ns=$1 c=$2 p; shift 2
  for p in $(kubectl get pods -n "$ns" -l "app.kubernetes.io/component=$c" -o jsonpath='{.items[*].metadata.name}'); do
    kubectl exec -n "$ns" "$p" -c "$c" -- /bin/sh -c "$*"
  done
}
psql='psql -X -q -v ON_ERROR_STOP=1 -U app -d app -At -c'
maria='MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb -uroot -N -B app -e'

step "writing data: 3 customers into PostgreSQL and MariaDB, files and notes"
run "$prod" postgres "$psql \"create table customers (id serial primary key, name text); insert into customers (name) values ('ada'), ('grace'), ('edsger')\""
run "$prod" mariadb "$maria \"create table orders (id int auto_increment primary key, item varchar(32)); insert into orders (item) values ('disk'), ('tape'), ('cloud')\""
run_all "$prod" files 'echo "invoice 1 ($HOSTNAME)" > /data/uploads/invoice-1.txt; echo "invoice 2 ($HOSTNAME)" > /data/uploads/invoice-2.txt'
run "$prod" notes 'echo "remember the backups" > /data/notes/todo.txt'

show() {
  local ns=$1
  echo "  [$ns] postgres customers: $(run "$ns" postgres "$psql \"select string_agg(name, ', ' order by id) from customers\"")"
  echo "  [$ns] mariadb orders:     $(run "$ns" mariadb "$maria \"select group_concat(item order by id separator ', ') from orders\"")"
  echo "  [$ns] files:              $(run_all "$ns" files 'cat /data/uploads/*' | tr "\n" " ")"
  echo "  [$ns] notes:              $(run "$ns" notes 'cat /data/notes/todo.txt')"
}
show "$prod"

step "terraform apply: styrmin_backup of $prod, styrmin_restore into $clone, then a nightly styrmin_backup_schedule and a styrmin_restore_drill of its first backup"
cd "$work"
# The provider runs as the ServiceAccount of examples/rbac/styrmin-provider.yaml, not as admin.
export KUBE_CONFIG_PATH="$SANDBOX_PROVIDER_KUBECONFIG"
terraform apply -auto-approve -input=false -no-color | grep -E '^(styrmin_|data\.styrmin|Apply complete)' || { echo "terraform apply failed: run it in $work to see why"; exit 1; }
terraform output -no-color

step "after the backup, production changes (the clone must not see this)"
run "$prod" postgres "$psql \"insert into customers (name) values ('late-arrival')\""
show "$prod"

step "the clone, restored from the backup"
kubectl wait -n "$clone" --for=condition=Ready pod --all --timeout=240s >/dev/null
show "$clone"

step "the nightly schedule's last backup, proven, and the restore drill of it"
echo "  scheduled backup: $(terraform output -raw scheduled_backup)"
echo "  restore drill:    $(terraform output -raw drill)"

cat <<MSG

The clone holds the data as it was at backup time. State and configuration: $work
  cd $work && terraform plan      # no changes: drift detection would be quiet
  cd $work && terraform destroy   # deletes the backup's data (deletion_policy = "delete") and the schedule (its backups expire), keeps restored data
Stop the stack with: make sandbox-down
MSG
