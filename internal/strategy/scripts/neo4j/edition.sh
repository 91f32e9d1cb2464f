{{- /* Only Enterprise edition stops one database while the DBMS runs. The
official image says its edition in NEO4J_EDITION; without it, the server
does. */ -}}
styrmin_edition=${NEO4J_EDITION:-}
if [ -z "$styrmin_edition" ]; then
	styrmin_answer=$(cypher 'CALL dbms.components() YIELD edition RETURN edition;' 2>&1) ||
		fail "NEO4J_EDITION is not set and the server did not tell its edition: $styrmin_answer"
	styrmin_edition=$(printf '%s\n' "$styrmin_answer" | sed -n 's/^"\(.*\)"$/\1/p' | sed -n 1p)
fi
case $styrmin_edition in
enterprise) ;;
community) fail "Neo4j Community edition cannot dump a running database: its neo4j-admin dumps only while the whole DBMS is stopped, and this hook runs inside the server's own container, which it cannot stop (Enterprise stops one database at a time, with STOP DATABASE); refusing to dump. Use Enterprise edition, or back this component up another way (see the styrmin strategy documentation)" ;;
*) fail "unknown Neo4j edition '$styrmin_edition' (from NEO4J_EDITION, or dbms.components())" ;;
esac
