	[ -z "${styrmin_config:-}" ] || rm -f -- "$styrmin_config"
{{- /* A line of cleanup.sh's cleanup function, last so that the trim
markers of a comment above cannot eat its indent: removes the config file
that credentials.sh writes the password to. */}}
