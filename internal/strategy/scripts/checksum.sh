{{- /* The checksum command: prints the marker, or fails when no dump
completed. It runs with the Plan: .Marker is the marker's full path. */ -}}
styrmin_marker={{q .Marker}}
if [ ! -f "$styrmin_marker" ]; then
	printf 'styrmin %s: error: %s is missing: no dump completed\n' {{q .Component}} "$styrmin_marker" >&2
	exit 1
fi
cat -- "$styrmin_marker"
