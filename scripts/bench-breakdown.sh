#!/usr/bin/env bash
# Where the time of a small backup or restore goes, on one timeline.
#
# backup (the default): one `terraform apply` of styrmin_backup on the sample app (four components,
# a few kilobytes), with every change of its Backup, its PodVolumeBackups and the node-agent's
# data-mover pods recorded by watches as it happens. Prints the timeline and the phases it splits
# into: terraform and the provider before the Backup exists, Velero's pick-up, the hooks and items
# before the first volume, each volume's pick-up, data-mover pod start and transfer, the
# finalization, and the provider's wait and proof after Velero finished.
#
# restore: one `terraform apply` of styrmin_restore of that backup into a fresh namespace (five
# volumes, two dump replays), with the provider's Kubernetes API requests and log lines (its TRACE
# log, which slows it a little) and every change of the Restore, its PodVolumeRestores and the
# target's pods. Prints the timeline and the phases: terraform and the provider's checks before the
# Restore exists, Velero's restore, and the provider's proof and release after it.
#
# Usage: scripts/bench-breakdown.sh [backup|restore] [RUNS]     (needs `make sandbox-up`; RUNS=1)
set -euo pipefail
mode=backup
if [ "${1:-}" = backup ] || [ "${1:-}" = restore ]; then
  mode=$1
  shift
fi
RUNS=${1:-1}
# shellcheck source=scripts/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh"
vns=$SANDBOX_VELERO_NAMESPACE
ns=bench-breakdown-$RANDOM
work=$(mktemp -d)
watchers=()
cleanup() {
  for w in "${watchers[@]}"; do kill "$w" 2>/dev/null || true; done
  for d in "$work"/*/; do
    [ -f "$d/terraform.tfstate" ] && { (cd "$d" && "$tf" destroy -auto-approve -input=false -no-color >/dev/null 2>&1) || true; }
  done
  for n in $(kubectl get namespaces -o name | grep "^namespace/$ns" || true); do kubectl delete "$n" --wait=false >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
deploy_sample_app "$ns"
mkdir -p "$work/backup"

# watch KIND FILE: every change of KIND in any namespace ("namespace/name phase
# deletionTimestamp"), stamped when it arrives.
watch() {
  kubectl get "$1" -A --watch-only -o jsonpath='{.metadata.namespace}/{.metadata.name}{" "}{.status.phase}{" "}{.metadata.deletionTimestamp}{"\n"}' |
    while IFS= read -r line; do printf '%s %s %s\n' "$(date +%s.%N)" "$1" "$line"; done >"$2" &
  watchers+=($!)
}

stop_watches() {
  sleep 1
  for w in "${watchers[@]}"; do kill "$w" 2>/dev/null || true; done
  watchers=()
}

if [ "$mode" = backup ]; then
  for run in $(seq 1 "$RUNS"); do
    backup="$ns-tf-$((run - 1))"
    backup_config "$ns" "$run" "$ns" >"$work/backup/main.tf"
    watch backups.velero.io "$work/backups.log"
    watch podvolumebackups.velero.io "$work/pvbs.log"
    watch pods "$work/pods.log"
    sleep 2 # the watches are established
    start=$(now)
    (cd "$work/backup" && "$tf" apply -auto-approve -input=false -no-color >/dev/null)
    end=$(now)
    stop_watches

    echo "run $run: backup $backup, apply $(elapsed "$start" "$end") s"
    # Velero names a backup's PodVolumeBackups after it, and each data-mover pod after its PVB.
    cat "$work/backups.log" "$work/pvbs.log" "$work/pods.log" | sort -n |
      awk -v t0="$start" -v t1="$end" -v b="$backup" -v vns="$vns" '
        index($3, vns "/") != 1 { next }
        { $3 = substr($3, length(vns) + 2) }
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
  exit 0
fi

# restore: one backup, then RUNS restores of it.
backup_config "$ns" 1 "$ns" >"$work/backup/main.tf"
(cd "$work/backup" && "$tf" apply -auto-approve -input=false -no-color >/dev/null)
for run in $(seq 1 "$RUNS"); do
  target=$ns-r$run
  dir=$work/restore-$run && mkdir -p "$dir"
  restore_config "$ns-tf-0" "$target" >"$dir/main.tf"
  watch restores.velero.io "$work/restores.log"
  watch podvolumerestores.velero.io "$work/pvrs.log"
  watch pods "$work/pods.log"
  sleep 2 # the watches are established
  start=$(now)
  (cd "$dir" && TF_LOG_PROVIDER=TRACE TF_LOG_PATH="$work/provider.log" "$tf" apply -auto-approve -input=false -no-color >/dev/null)
  end=$(now)
  stop_watches

  echo "run $run: restore into $target, apply $(elapsed "$start" "$end") s"
  python3 - "$start" "$end" "$work" "$vns" "$target" <<'PY'
import datetime, re, sys
t0, t1, work, vns, target = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
events = []  # (time, source, text)
line_re = re.compile(r'^(\S+) \[(\w+)\]\s+provider\.terraform-provider-styrmin: (.*)$')
for line in open(f"{work}/provider.log", errors="replace"):
    m = line_re.match(line)
    if not m:
        continue
    stamp, level, rest = m.groups()
    t = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    if rest.startswith("Sending Kubernetes API request"):
        method = re.search(r'\bmethod="?([A-Z]+)', rest)
        url = re.search(r'\burl="?([^"\s]+)', rest)
        path = re.sub(r'^https?://[^/]+', '', url.group(1) if url else '?')
        path = re.sub(r'^/apis?/(velero\.io/v1/|v1/)?', '', path).split('&')[0]
        events.append((t, "api", f"{method.group(1) if method else '?'} {path[:90]}"))
    elif level in ("INFO", "WARN", "ERROR") and not rest.startswith(("Received", "Served", "configuring server")):
        events.append((t, "log", rest.split(": @")[0][:100]))
for name in ("restores", "pvrs", "pods"):
    for line in open(f"{work}/{name}.log"):
        parts = line.split()
        if len(parts) < 3 or not parts[2].startswith((vns + "/", target + "/")):
            continue
        if name == "pods" and not parts[2].startswith(target + "/"):
            continue
        events.append((float(parts[0]), {"restores": "restore", "pvrs": "pvr", "pods": "pod"}[name],
                       f"{parts[2].split('/', 1)[1]} {parts[3] if len(parts) > 3 else 'New'}"))
events.sort()
seen, first, last = set(), {}, {}
for t, source, text in events:
    if source != "api" and (source, text) in seen:
        continue
    seen.add((source, text))
    rel = t - t0
    print(f"  {rel:7.2f} s  {source:8} {text}")
    state = text.split()[-1]
    first.setdefault((source, state), rel)
    last[(source, state)] = rel
posts = [t - t0 for t, s, x in events if s == "api" and x.startswith("POST") and "/restores" in x]
created = posts[0] if posts else float("nan")
done = first.get(("restore", "Completed"), float("nan"))
api = [t - t0 for t, s, _ in events if s == "api"]
print("  phases:")
for label, value in [
    ("terraform and the provider start, before its first request", api[0] if api else float("nan")),
    ("the provider's checks, before the Restore exists", created - (api[0] if api else 0)),
    ("Restore created -> Completed (Velero: items, volumes, hooks)", done - created),
    ("  first PodVolumeRestore -> last Completed", last.get(("pvr", "Completed"), float("nan")) - first.get(("pvr", "New"), float("nan"))),
    ("Restore Completed -> apply returns (proof, markers, release)", (t1 - t0) - done),
    ("apply", t1 - t0),
]:
    print(f"    {label:62} {value:6.2f} s")
print(f"  API requests: {len(api)} ({sum(1 for a in api if a < created)} before the Restore, {sum(1 for a in api if a > done)} after it completed)")
PY
  (cd "$dir" && "$tf" destroy -auto-approve -input=false -no-color >/dev/null)
  kubectl delete namespace "$target" >/dev/null
  rm -f "$work"/*.log
done
