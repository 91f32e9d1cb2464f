{{template "prelude.sh" . -}}
{{template "dump-begin.sh" . -}}
{{template "credentials.sh" . -}}
{{range .Dumps -}}
styrmin_db={{.DB}}
note "dumping database $styrmin_db to {{.Name}}"
pg_dump -Fc -Z 6 -w --username="$styrmin_user" -f {{q .Tmp}} "$styrmin_db"
pg_restore --list {{q .Tmp}} >/dev/null || fail "pg_restore cannot read the archive pg_dump wrote for database $styrmin_db"
{{end -}}
# Roles (without their passwords) and tablespaces, for disaster recovery: a
# restore does not need them (--no-owner --no-privileges).
pg_dumpall --globals-only --no-role-passwords -w --username="$styrmin_user" --database="$styrmin_db" -f 'postgres-globals.sql.tmp'
{{template "dump-end.sh" . -}}
