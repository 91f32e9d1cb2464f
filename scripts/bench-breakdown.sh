#!/usr/bin/env bash
# Where the time of a small backup goes: one `terraform apply` of styrmin_backup on the sample app
# (four components, a few kilobytes), with every change of its Backup, its PodVolumeBackups and the
# node-agent's data-mover pods recorded by watches as it happens. Prints the timeline and the
# phases it splits into: terraform and the provider before the Backup exists, Velero's pick-up, the
# hooks and items before the first volume, each volume's pick-up, data-mover pod start and
# transfer, the finalization, and the provider's wait and proof after Velero finished.
#
# Usage: scripts/bench-breakdown.sh [RUNS]     (needs `make sandbox-up`; default RUNS=1)
set -euo pipefail
RUNS=${1:-1}
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
vns=$SANDBOX_VELERO_NAMESPACE
ns=bench-breakdown-$RANDOM
work=$(mktemp -d)
watchers=()
cleanup() {
  for w in "${watchers[@]}"; do kill "$w" 2>/dev/null || true; done
  (cd "$work" && "$tf" destroy -auto-approve -input=false -no-color >/dev/null 2>&1) || true
  kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
deploy_sample_app "$ns"

# watch KIND FILE: every change of KIND in Velero's namespace, stamped when it arrives.
watch() {
  kubectl get "$1" -n "$vns" --watch-only -o jsonpath='{.metadata.name}{" "}{.status.phase}{" "}{.metadata.deletionTimestamp}{"\n"}' |
    while IFS= read -r line; do printf '%s %s %s\n' "$(date +%s.%N)" "$1" "$line"; done >"$2" &
  watchers+=($!)
}

for run in $(seq 1 "$RUNS"); do
  backup="$ns-tf-$((run - 1))"
  backup_config "$ns" "$run" "$ns" >"$work/main.tf"
  watch backups.velero.io "$work/backups.log"
  watch podvolumebackups.velero.io "$work/pvbs.log"
  watch pods "$work/pods.log"
  sleep 2 # the watches are established
  start=$(now)
  (cd "$work" && "$tf" apply -auto-approve -input=false -no-color >/dev/null)
  end=$(now)
  sleep 1
  for w in "${watchers[@]}"; do kill "$w" 2>/dev/null || true; done
  watchers=()

  echo "run $run: backup $backup, apply $(elapsed "$start" "$end") s"
  # Velero names a backup's PodVolumeBackups after it, and each data-mover pod after its PVB.
  cat "$work/backups.log" "$work/pvbs.log" "$work/pods.log" | sort -n |
    awk -v t0="$start" -v t1="$end" -v b="$backup" '
      $3 != b && index($3, b "-") != 1 { next }
      {
        kind = $2 == "pods" ? "pod" : ($2 ~ /^backups/ ? "backup" : "pvb")
        state = $5 != "" ? "Deleting" : ($4 == "" ? "New" : $4)
        key = kind " " $3 " " state
        if (key in seen) next
        seen[key] = 1
        t = $1 - t0
        printf "  %7.2f s  %-6s %-40s %s\n", t, kind, $3, state
        first[kind, state] = (first[kind, state] == "" || t < first[kind, state]) ? t : first[kind, state]
        last[kind, state] = t > last[kind, state] ? t : last[kind, state]
        if (kind == "pvb") { pvbs[$3] = 1; at[$3, state] = t }
      }
      END {
        n = 0; pickup = 0; expose = 0; transfer = 0
        for (p in pvbs) {
          n++
          pickup += at[p, "Accepted"] - at[p, "New"]
          expose += at[p, "Prepared"] - at[p, "Accepted"]
          transfer += at[p, "Completed"] - at[p, "Prepared"]
        }
        t_end = t1 - t0
        printf "  phases:\n"
        printf "    %-58s %6.2f s\n", "terraform and the provider, before the Backup exists", first["backup", "New"]
        printf "    %-58s %6.2f s\n", "Backup New -> InProgress (Velero picks it up)", first["backup", "InProgress"] - first["backup", "New"]
        printf "    %-58s %6.2f s\n", "InProgress -> first volume (hooks, items)", first["pvb", "New"] - first["backup", "InProgress"]
        printf "    %-58s %6.2f s\n", "first volume -> last volume Completed (" n " volumes)", last["pvb", "Completed"] - first["pvb", "New"]
        printf "      %-56s %6.2f s\n", "sum of pick-ups (New -> Accepted)", pickup
        printf "      %-56s %6.2f s\n", "sum of data-mover pod starts (Accepted -> Prepared)", expose
        printf "      %-56s %6.2f s\n", "sum of transfers (Prepared -> Completed)", transfer
        printf "    %-58s %6.2f s\n", "last volume -> Backup Completed (hooks, finalization)", first["backup", "Completed"] - last["pvb", "Completed"]
        printf "    %-58s %6.2f s\n", "Backup Completed -> apply returns (wait, proof)", t_end - first["backup", "Completed"]
        printf "    %-58s %6.2f s\n", "apply", t_end
      }'
done
