{{template "prelude.sh" . -}}
{{template "credentials.sh" . -}}
if command -v mariadb >/dev/null 2>&1; then
	styrmin_client=mariadb
	styrmin_admin=mariadb-admin
else
	styrmin_client=mysql
	styrmin_admin=mysqladmin
fi
{{template "restore-begin.sh" . -}}
# The image's first start runs a temporary server without networking, then
# restarts it: wait for the real one, on TCP. ping succeeds even when the
# login is refused; the restore itself reports that.
wait_ready mariadb "$styrmin_admin" --protocol=tcp --host=127.0.0.1 --user="$styrmin_user" ping
note "restoring mariadb.sql"
"$styrmin_client" --binary-mode --user="$styrmin_user" <'mariadb.sql'
note "restore complete"
