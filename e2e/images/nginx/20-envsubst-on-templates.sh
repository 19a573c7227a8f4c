#!/bin/sh
# Official behaviour: render /etc/nginx/templates/*.template into conf.d when conf.d is writable.
set -e
template_dir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
output_dir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
[ -d "$template_dir" ] || exit 0
if [ ! -w "$output_dir" ]; then echo "$0: ERROR: $template_dir exists, but $output_dir is not writable"; exit 0; fi
defined_envs=$(printf '${%s} ' $(env | cut -d= -f1))
find "$template_dir" -follow -type f -name "*.template" -print | while read -r template; do
  relative_path="${template#"$template_dir/"}"; output_path="$output_dir/${relative_path%.template}"
  echo "$0: Running envsubst on $template to $output_path"
  envsubst "$defined_envs" < "$template" > "$output_path"
done
