#!/bin/sh
# Official behaviour: edit conf.d/default.conf to also listen on [::]:80, only when it can and
# only when the file is the packaged one (a mounted or edited file is left alone).
set -e
DEFAULT_CONF_FILE="/etc/nginx/conf.d/default.conf"
if [ ! -f "/proc/net/if_inet6" ]; then echo "$0: info: ipv6 not available"; exit 0; fi
[ -f "$DEFAULT_CONF_FILE" ] || { echo "$0: info: $DEFAULT_CONF_FILE is not a file or does not exist"; exit 0; }
touch $DEFAULT_CONF_FILE 2>/dev/null || { echo "$0: info: can not modify $DEFAULT_CONF_FILE (read-only file system?)"; exit 0; }
cmp -s "$DEFAULT_CONF_FILE" /usr/share/nginx/default.conf.packaged || { echo "$0: info: $DEFAULT_CONF_FILE differs from the packaged version"; exit 0; }
sed -i -E 's,listen       80;,listen       80;\n    listen  [::]:80;,' $DEFAULT_CONF_FILE
echo "$0: info: Enabled listen on IPv6 in $DEFAULT_CONF_FILE"
