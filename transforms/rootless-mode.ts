import type { Transform } from '../src/types.js';

const SETUP = 'https://docs.docker.com/engine/security/rootless/';

/** OWASP rule 11: run the Docker daemon itself without root (a host concern). */
export default {
  id: 'rootless-mode',
  owasp: '11',
  title: 'Run the Docker daemon in rootless mode',
  why: 'A rootful dockerd is root on the host: any escape from a container, or any access to its API, is root. A rootless daemon runs as an ordinary user, so an escape is that user.',
  changes: {
    daemon: 'report only: rootless mode is how the host starts dockerd (dockerd-rootless-setuptool.sh install), not a daemon.json key',
  },
  breaks: 'Nothing (report only). Rootless mode cannot bind ports below 1024 without a sysctl, has no AppArmor, limits overlay and cgroup features on older kernels.',
  severity: 'low',
  daemon(config, ctx) {
    ctx.report({
      at: config.node,
      field: 'rootless',
      message:
        'rootless mode cannot be set in daemon.json: it is how the host starts dockerd; check that `docker info -f {{.SecurityOptions}}` lists name=rootless ' +
        `(set up with dockerd-rootless-setuptool.sh install, ${SETUP})` +
        (typeof config.value['userns-remap'] === 'string' ? '; userns-remap already keeps container root from being host root, the daemon itself still is' : ''),
    });
  },
} satisfies Transform;
