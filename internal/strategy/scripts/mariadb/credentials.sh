{{- /* The mariadb scripts follow the official MariaDB and MySQL images'
environment contract and use mysqldump, mysql and mysqladmin where the
mariadb-* tools are absent (MySQL images). They connect over the local
socket; MYSQL_PWD carries the password. */ -}}
styrmin_password=$(first_env MARIADB_ROOT_PASSWORD MYSQL_ROOT_PASSWORD) || exit 1
if [ -n "$styrmin_password" ]; then
	styrmin_user=root
else
	styrmin_user=$(first_env MARIADB_USER) || exit 1
	if [ -n "$styrmin_user" ]; then
		styrmin_password=$(first_env MARIADB_PASSWORD) || exit 1
	else
		styrmin_user=$(first_env MYSQL_USER) || exit 1
		styrmin_password=$(first_env MYSQL_PASSWORD) || exit 1
	fi
	if [ -z "$styrmin_user" ]; then
		styrmin_user=root
		note "none of MARIADB_ROOT_PASSWORD, MYSQL_ROOT_PASSWORD, MARIADB_USER, MYSQL_USER is set: connecting as root without a password"
	fi
fi
if [ -n "$styrmin_password" ]; then
	MYSQL_PWD=$styrmin_password
	export MYSQL_PWD
fi
unset styrmin_password
