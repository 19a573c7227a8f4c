#!/usr/bin/env bash
# The shape of the official mariadb entrypoint, reduced to what hardening touches.
set -Eeo pipefail
file_env() {
  local var="$1" fileVar="${1}_FILE" def="${2:-}"
  local mysqlVar="${var/MARIADB/MYSQL}" mysqlFileVar="${var/MARIADB/MYSQL}_FILE"
  local val="$def"
  if [ "${!var:-}" ]; then val="${!var}"; elif [ "${!fileVar:-}" ]; then val="$(< "${!fileVar}")";
  elif [ "${!mysqlVar:-}" ]; then val="${!mysqlVar}"; elif [ "${!mysqlFileVar:-}" ]; then val="$(< "${!mysqlFileVar}")"; fi
  export "$var"="$val"; unset "$fileVar" "$mysqlFileVar"
}
# options only (`command: --some-option`): they are the server's
if [ "${1:0:1}" = '-' ]; then set -- mariadbd "$@"; fi
if [ "$1" = 'mariadbd' ] || [ "$1" = 'mysqld' ]; then
  if [ "$(id -u)" = '0' ]; then
    find /var/lib/mysql /run/mysqld \! -user mysql -exec chown mysql: '{}' +
    exec gosu mysql "$BASH_SOURCE" "$@"
  fi
  if [ ! -d /var/lib/mysql/mysql ]; then
    file_env MARIADB_ROOT_PASSWORD; file_env MARIADB_DATABASE; file_env MARIADB_USER; file_env MARIADB_PASSWORD; file_env MARIADB_ROOT_HOST '%'
    if [ -z "$MARIADB_ROOT_PASSWORD" ]; then echo >&2 'error: database is uninitialized and MARIADB_ROOT_PASSWORD (or _FILE) is not set'; exit 1; fi
    mariadb-install-db --datadir=/var/lib/mysql --skip-test-db --auth-root-authentication-method=normal --rpm >/dev/null
    mariadbd --skip-networking --socket=/run/mysqld/mysqld.sock &
    pid=$!
    for i in $(seq 60); do mariadb-admin --socket=/run/mysqld/mysqld.sock ping >/dev/null 2>&1 && break; sleep 0.5; done
    sql="ALTER USER 'root'@'localhost' IDENTIFIED BY '${MARIADB_ROOT_PASSWORD}';"
    # root from other hosts too, unless MARIADB_ROOT_HOST says otherwise (the official default is '%')
    [ "$MARIADB_ROOT_HOST" != localhost ] && sql+="CREATE USER 'root'@'${MARIADB_ROOT_HOST}' IDENTIFIED BY '${MARIADB_ROOT_PASSWORD}';GRANT ALL ON *.* TO 'root'@'${MARIADB_ROOT_HOST}' WITH GRANT OPTION;"
    [ -n "$MARIADB_DATABASE" ] && sql+="CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`;"
    if [ -n "$MARIADB_USER" ]; then
      sql+="CREATE USER '$MARIADB_USER'@'%' IDENTIFIED BY '${MARIADB_PASSWORD}';"
      [ -n "$MARIADB_DATABASE" ] && sql+="GRANT ALL ON \`$MARIADB_DATABASE\`.* TO '$MARIADB_USER'@'%';"
    fi
    mariadb --socket=/run/mysqld/mysqld.sock -uroot -e "$sql"
    kill "$pid"; wait "$pid" || :
    echo 'MariaDB init process done. Ready for start up.'
  fi
fi
exec "$@"
