#!/bin/sh
# Official behaviour: edit conf.d/default.conf to also listen on [::]:80, only when it can.
set -e
DEFAULT_CONF_FILE="/etc/nginx/conf.d/default.conf"
if [ ! -f "/proc/net/if_inet6" ]; then echo "$0: info: ipv6 not available"; exit 0; fi
touch $DEFAULT_CONF_FILE 2>/dev/null || { echo "$0: info: can not modify $DEFAULT_CONF_FILE (read-only file system?)"; exit 0; }
grep -q 'listen  \[::\]:80;' $DEFAULT_CONF_FILE || sed -i -E 's,listen       80;,listen       80;\n    listen  [::]:80;,' $DEFAULT_CONF_FILE
