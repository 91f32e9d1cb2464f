#!/usr/bin/env bash
# Backup and restore at size, against the same work done by hand, in one run.
#
# For each fraction f of the full size (PostgreSQL about PG_MB MiB from pgbench, MariaDB about
# MARIA_MB MiB of rows, FILES_MB MiB of files on a claim: a few large files and many 16 KiB ones,
# random bytes), in two fresh copies of the sample app (each backup is a namespace's first):
#   styrmin_backup apply        against  pg_dump and mariadb-dump by kubectl exec into the dump
#                                         volumes of the second copy, then the same Velero Backup
#                                         of it without hooks
#   styrmin_restore apply       against  the same Velero Restore without hooks or hold, then
#                                         pg_restore and the mariadb replay by kubectl exec
# and prints the times, the ratios (target <= 1.10), the seconds per GiB (a non-linear step shows
# across fractions) and the bytes in the bucket against the raw data size. First it measures the
# machine: sequential write and read of 1 GiB with dd where the claims live, an upload to MinIO;
# last, PostgreSQL dump formats on the largest database (the strategy uses -Fc -Z 1), and what the
# strategy's checksum of the dump costs.
#
# Usage: scripts/bench-size.sh        (needs `make sandbox-up`; about 40 minutes at full size)
# Environment: FRACTIONS (default "0.125 0.25 0.5 1"), PG_MB (1024), MARIA_MB (256), FILES_MB (1024).
set -euo pipefail
read -r -a fractions <<<"${FRACTIONS:-0.125 0.25 0.5 1}"
PG_MB=${PG_MB:-1024}
MARIA_MB=${MARIA_MB:-256}
FILES_MB=${FILES_MB:-1024}
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
vns=$SANDBOX_VELERO_NAMESPACE
sandbox="$repo/bin/styrmin-sandbox -repo $repo"
prefix=$(kubectl get backupstoragelocations.velero.io -n "$vns" "$SANDBOX_DEFAULT_BSL" -o jsonpath='{.spec.objectStorage.prefix}')
run=bench-size-$RANDOM
work=$(mktemp -d)
cleanup() {
  for d in "$work"/*/; do
    [ -f "$d/terraform.tfstate" ] && (cd "$d" && "$tf" destroy -auto-approve -input=false -no-color >/dev/null 2>&1 || true)
  done
  kubectl delete backups.velero.io,restores.velero.io -n "$vns" -l "styrmin.io/bench=$run" --wait=false >/dev/null 2>&1 || true
  for n in $(kubectl get namespaces -o name | grep "^namespace/$run" || true); do kubectl delete "$n" --wait=false >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

psql='psql -X -q -v ON_ERROR_STOP=1 -U app -d app -At'
maria='MYSQL_PWD="$MARIADB_ROOT_PASSWORD" mariadb -uroot -N -B app'
pod_of() { kubectl get pods -n "$1" -l "app.kubernetes.io/component=$2" -o jsonpath='{.items[0].metadata.name}'; }
# run_in NS COMPONENT SCRIPT [POD]: runs SCRIPT in the component's container.
run_in() { kubectl exec -n "$1" "${4:-$(pod_of "$1" "$2")}" -c "$2" -- /bin/sh -c "$3"; }
mib() { awk -v b="$1" 'BEGIN {printf "%.0f", b / 1048576}'; }
per_gib() { awk -v s="$1" -v b="$2" 'BEGIN {printf "%.1f", s / (b / 1073741824)}'; }

# The machine's limits, measured now: where the claims live, and MinIO on the bridge.
volumes="$SANDBOX_DIR/state/local-path"
mkdir -p "$volumes"
write=$(dd if=/dev/zero of="$volumes/dd.probe" bs=1M count=1024 conv=fdatasync 2>&1 | awk '/copied/ {print $(NF-1), $NF}')
sync && echo 3 >/proc/sys/vm/drop_caches
read=$(dd if="$volumes/dd.probe" of=/dev/null bs=1M 2>&1 | awk '/copied/ {print $(NF-1), $NF}')
rm -f "$volumes/dd.probe"
upload=$($sandbox upload-probe 512)
echo "machine: disk write $write, read $read (1 GiB, dd), upload to MinIO $upload (512 MiB, one object)"

# load NS F: data at fraction F of the full size in every component.
load() {
  local ns=$1 f=$2 scale rows large small
  scale=$(awk -v f="$f" -v mb="$PG_MB" 'BEGIN {s = int(f * mb / 15 + 0.5); print s < 1 ? 1 : s}')
  run_in "$ns" postgres "pgbench -i -q -s $scale -U app app 2>&1 | tail -1" >/dev/null
  rows=$(awk -v f="$f" -v mb="$MARIA_MB" 'BEGIN {print int(f * mb * 1024)}')
  # 1 KiB of hex per row, in batches of 100000 rows (the seq engine's sequences are in memory).
  run_in "$ns" mariadb "$maria -e 'create table blobs (id int auto_increment primary key, body text not null)'"
  for ((done = 0; done < rows; done += 100000)); do
    run_in "$ns" mariadb "$maria -e 'insert into blobs (body) select hex(random_bytes(512)) from seq_1_to_$((rows - done < 100000 ? rows - done : 100000))'"
  done
  large=$(awk -v f="$f" -v mb="$FILES_MB" 'BEGIN {print int(f * mb * 0.8 / 4)}')
  small=$(awk -v f="$f" -v mb="$FILES_MB" 'BEGIN {print int(f * mb * 0.2 * 64)}')
  run_in "$ns" files "mkdir -p /data/uploads/small && for i in 1 2 3 4; do dd if=/dev/urandom of=/data/uploads/large-\$i bs=1M count=$large 2>/dev/null; done &&
    i=0; while [ \$i -lt $small ]; do head -c 16384 /dev/urandom > /data/uploads/small/f\$i; i=\$((i + 1)); done" files-0
}

# raw NS: the data's size in bytes, as each component stores it.
raw() {
  local pg my fs
  pg=$(run_in "$1" postgres "$psql -c \"select pg_database_size('app')\"")
  my=$(run_in "$1" mariadb "$maria -e \"select sum(data_length + index_length) from information_schema.tables where table_schema = 'app'\"")
  fs=$(run_in "$1" files "du -sb /data | cut -f1" files-0)
  echo $((pg + my + fs))
}

rows=()
largest=""
for i in "${!fractions[@]}"; do
  f=${fractions[$i]}
  ns=$run-$i
  # Two copies of the data: a second backup of the same namespace would find its volumes' files
  # in the namespace's Kopia repository already and upload almost nothing.
  for copy in "$ns" "$ns-h"; do
    deploy_sample_app "$copy"
    load "$copy" "$f"
  done
  bytes=$(raw "$ns")

  dir=$work/backup-$i && mkdir -p "$dir" && backup_config "$ns" 1 "$run" >"$dir/main.tf"
  start=$(now)
  (cd "$dir" && "$tf" apply -auto-approve -input=false -no-color >/dev/null)
  sb=$(elapsed "$start" "$(now)")
  backup="$ns-tf-0"
  stored=$($sandbox du "$prefix/kopia/$ns/" "$prefix/backups/$backup/" | awk '{s += $1} END {print s}')

  # By hand, on the second copy: the volumes the provider chose (its pods' backup-volumes
  # annotation, set before the clock starts), the dumps by exec, the same Backup without hooks.
  for pod in $(kubectl get pods -n "$ns-h" -o name); do
    component=$(kubectl get -n "$ns-h" "$pod" -o jsonpath='{.metadata.labels.app\.kubernetes\.io/component}')
    volumes=$(kubectl get pods -n "$ns" -l "app.kubernetes.io/component=$component" \
      -o jsonpath='{.items[0].metadata.annotations.backup\.velero\.io/backup-volumes}')
    [ -z "$volumes" ] || kubectl annotate -n "$ns-h" "$pod" --overwrite "backup.velero.io/backup-volumes=$volumes" >/dev/null
  done
  start=$(now)
  run_in "$ns-h" postgres "rm -rf /backup/* && pg_dump -Fc -Z 1 -w -U app -f /backup/hand.dump app"
  run_in "$ns-h" mariadb "rm -rf /backup/* && $maria -e 'select 1' >/dev/null && MYSQL_PWD=\"\$MARIADB_ROOT_PASSWORD\" mariadb-dump -uroot --single-transaction --routines --events --triggers --databases app > /backup/hand.sql"
  copy_spec backup "$backup" "$ns-hand" "$run" "$ns-h" hooks >"$work/hand-backup.json"
  kubectl create -f "$work/hand-backup.json" >/dev/null
  velero_wait backup "$ns-hand" 60m
  hb=$(elapsed "$start" "$(now)")
  kubectl delete namespace "$ns-h" >/dev/null

  dir=$work/restore-$i && mkdir -p "$dir"
  restore_config "$backup" "$ns-tf" >"$dir/main.tf"
  start=$(now)
  (cd "$dir" && "$tf" apply -auto-approve -input=false -no-color >/dev/null)
  sr=$(elapsed "$start" "$(now)")
  made=$(cd "$dir" && "$tf" state show -no-color styrmin_restore.bench | awk -F'"' '/^ *id *=/ {print $2}')

  # By hand: the same Restore without hooks into another namespace, then the replays.
  start=$(now)
  copy_spec restore "$made" "$ns-hand" "$run" "$ns-hand" hooks resourceModifier >"$work/hand-restore.json"
  kubectl create -f "$work/hand-restore.json" >/dev/null
  velero_wait restore "$ns-hand" 60m
  for w in statefulset/postgres statefulset/mariadb; do kubectl rollout status -n "$ns-hand" "$w" --timeout=600s >/dev/null; done
  run_in "$ns-hand" postgres "until pg_isready -q -U app; do sleep 0.2; done; pg_restore -w -U app -d app --no-owner /backup/styrmin/postgres.dump"
  run_in "$ns-hand" mariadb "until $maria -e 'select 1' >/dev/null 2>&1; do sleep 0.2; done; $maria < /backup/styrmin/mariadb.sql"
  hr=$(elapsed "$start" "$(now)")

  rows+=("$(printf '%5s %8s %9s %8.1fs %8.1fs %6s %8.1fs %8.1fs %6s %9s %9s' "$f" "$(mib "$bytes")" "$(mib "$stored")" \
    "$sb" "$hb" "$(ratio "$sb" "$hb")" "$sr" "$hr" "$(ratio "$sr" "$hr")" "$(per_gib "$sb" "$bytes")" "$(per_gib "$sr" "$bytes")")")
  printf '%s\n' "${rows[-1]}"
  largest=$ns
  # The node's CPU fits only a few copies of the sample app; the last source stays for the
  # dump formats.
  kubectl delete namespace "$ns-tf" "$ns-hand" >/dev/null
  [ "$i" -lt $((${#fractions[@]} - 1)) ] && kubectl delete namespace "$ns" >/dev/null
done

echo
printf '%5s %8s %9s %9s %9s %6s %9s %9s %6s %9s %9s\n' f "raw MiB" "bucket" "backup" "by hand" ratio restore "by hand" ratio "bkp s/GiB" "rst s/GiB"
printf '%s\n' "${rows[@]}"
echo "targets: backup and restore ratios <= 1.10"

echo
# pgbench's rows are mostly blank padding (its dump compresses about 50:1): the formats are
# compared on a table of text as well, which compresses as real data does (about 4:1).
run_in "$largest" postgres "$psql -c \"create table notes as select i as id, md5(random()::text) || ' ' || md5(random()::text) || ' note ' || i as body
  from generate_series(1, $((PG_MB * 3000))) i\"" >/dev/null
echo "PostgreSQL dump formats on the largest database plus $((PG_MB * 3000)) rows of text (the strategy: -Fc -Z 1), and the checksum:"
for format in "-Fc -Z 6" "-Fc -Z 1" "-Fc -Z 0" "-Fd -j 2 -Z 6" "-Fd -j 2 -Z 1"; do
  start=$(now)
  run_in "$largest" postgres "rm -rf /backup/probe && pg_dump $format -w -U app -f /backup/probe app"
  took=$(elapsed "$start" "$(now)")
  size=$(run_in "$largest" postgres "du -sb /backup/probe | cut -f1")
  printf '  pg_dump %-14s %7.1f s  %6s MiB\n' "$format" "$took" "$(mib "$size")"
done
run_in "$largest" postgres "rm -rf /backup/probe && pg_dump -Fc -Z 1 -w -U app -f /backup/probe app"
start=$(now)
run_in "$largest" postgres "sha256sum /backup/probe >/dev/null"
printf '  sha256sum of the -Fc -Z 1 dump: %.1f s\n' "$(elapsed "$start" "$(now)")"
