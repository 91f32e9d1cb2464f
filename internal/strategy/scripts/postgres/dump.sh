{{template "prelude.sh" . -}}
{{template "dump-begin.sh" . -}}
{{template "credentials.sh" . -}}
{{range .Dumps -}}
styrmin_db={{.DB}}
note "dumping database $styrmin_db to {{.Name}}"
# gzip level 1: scripts/bench-size.sh measured it 2.3 times faster than level 6 on 850 MB of
# text, for a 2 % larger archive.
pg_dump -Fc -Z 1 -w --username="$styrmin_user" -f {{q .Tmp}} "$styrmin_db"
pg_restore --list {{q .Tmp}} >/dev/null || fail "pg_restore cannot read the archive pg_dump wrote for database $styrmin_db"
{{end -}}
# Roles and tablespaces: a restore replays the roles, so that owners and grants
# replay too. With their password hashes when the dump user may read them (a
# superuser), so that a clone's application roles log in as in production.
if ! pg_dumpall --globals-only -w --username="$styrmin_user" --database="$styrmin_db" -f 'postgres-globals.sql.tmp' 2>/dev/null; then
	note "the dump user may not read role passwords: roles are dumped without them"
	pg_dumpall --globals-only --no-role-passwords -w --username="$styrmin_user" --database="$styrmin_db" -f 'postgres-globals.sql.tmp'
fi
{{template "dump-end.sh" . -}}
