import type { Transform } from '../src/types.js';
import noDockerSocket from './no-docker-socket.js';
import runAsNonRoot from './run-as-non-root.js';
import dropCapabilities from './drop-capabilities.js';
import noPrivileged from './no-privileged.js';
import noHostNamespaces from './no-host-namespaces.js';
import noNewPrivileges from './no-new-privileges.js';
import networkSegmentation from './network-segmentation.js';
import seccomp from './seccomp.js';
import resourceLimits from './resource-limits.js';
import readOnlyRoot from './read-only-root.js';
import secretsFromEnv from './secrets-from-env.js';
import serviceAccountToken from './service-account-token.js';
import hostVolumes from './host-volumes.js';
import imagePinning from './image-pinning.js';
import namespacePss from './namespace-pss.js';
import daemonLogLevel from './daemon-log-level.js';
import rootlessMode from './rootless-mode.js';
import dockerfileHygiene from './dockerfile-hygiene.js';

/** Every transform, in the SPEC's table order. Each id equals its file name (checked by a test). */
export const TRANSFORMS: readonly Transform[] = [
  noDockerSocket,
  runAsNonRoot,
  dropCapabilities,
  noPrivileged,
  noHostNamespaces,
  noNewPrivileges,
  networkSegmentation,
  seccomp,
  resourceLimits,
  readOnlyRoot,
  secretsFromEnv,
  serviceAccountToken,
  hostVolumes,
  imagePinning,
  namespacePss,
  daemonLogLevel,
  rootlessMode,
  dockerfileHygiene,
];
