{{- /* cypher-shell logs in with NEO4J_AUTH ("user/password", or "none"),
from which the official image sets the password, and gets both through its
environment (NEO4J_USERNAME, NEO4J_PASSWORD), never argv. Administration
commands go to the system database. */ -}}
styrmin_auth=$(first_env NEO4J_AUTH) || exit 1
case $styrmin_auth in
'' | none)
	styrmin_neo4j_user=
	styrmin_neo4j_password=
	;;
*/*)
	styrmin_neo4j_user=${styrmin_auth%%/*}
	styrmin_neo4j_password=${styrmin_auth#*/}
	;;
*) fail "NEO4J_AUTH is neither none nor user/password" ;;
esac
unset styrmin_auth
# cypher STATEMENT runs STATEMENT against the system database.
cypher() {
	printf '%s\n' "$1" | NEO4J_USERNAME=$styrmin_neo4j_user NEO4J_PASSWORD=$styrmin_neo4j_password cypher-shell -d system --format plain
}
# cypher_name NAME prints NAME as a quoted Cypher name.
cypher_name() {
	printf '\140%s\140' "$(printf '%s' "$1" | sed "s/\`/\`\`/g")"
}
