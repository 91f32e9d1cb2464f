{{- /* Removes what a dump leaves half written, on any exit. A kind whose
scripts make more to remove adds the commands in its extra-cleanup.sh. The
actions in the function trim on their left: a right trim would eat the
indent of the line after them. */ -}}
cleanup() {
	:
{{- if .Dumping}}
{{- range .Files}}
	rm -f -- "$styrmin_dir"/{{q (print . ".tmp")}}
{{- end}}
	rm -f -- "$styrmin_dir"/{{q .MarkerTmp}}
{{- end}}
{{block "extra-cleanup.sh" .}}{{end -}}
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
