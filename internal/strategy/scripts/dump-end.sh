{{- /* What every dump does once its files are written: move them into
place, name the backup the dump is for, then write the marker that vouches
for them all, and report the dump on stdout, which Velero writes into the
backup's log. */ -}}
sync
{{range .Files -}}
mv -f -- {{q (print . ".tmp")}} {{q .}}
{{end -}}
printf '%s\n' {{q .Backup}} >{{q .Identity}}
sha256sum --{{range .Files}} {{q .}}{{end}} {{q .Identity}} >{{q .MarkerTmp}}
sync
mv -f -- {{q .MarkerTmp}} {{q .Marker}}
sync
note "dump complete in $styrmin_dir:"
cat -- {{q .Marker}} >&2
# shellcheck disable=SC3028 # HOSTNAME is the container runtime's (the pod's name), from the environment
styrmin_pod=${HOSTNAME:-$(cat /proc/sys/kernel/hostname)}
while read -r styrmin_sum styrmin_file; do
	styrmin_bytes=$(wc -c <"$styrmin_file")
	printf '{{.ReportPrefix}} backup=%s component=%s pod=%s file=%s bytes=%s sha256=%s\n' \
		{{q .Backup}} {{q .Component}} "$styrmin_pod" "$styrmin_file" "${styrmin_bytes##* }" "$styrmin_sum"
done <{{q .Marker}}
