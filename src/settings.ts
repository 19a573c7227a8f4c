/** Hardening level: `restricted` applies everything, `baseline` only adds what is missing. */
export type Level = 'baseline' | 'restricted';

/** Values cuirass writes when a manifest says nothing (SPEC section 5, `defaults`). */
export interface Settings {
  uid: number;
  gid: number;
  limits: { memory: string; cpu: string; pids: number };
  requests: { memory: string; cpu: string };
  tmpfs: string[];
  /** Substrings of environment variable names whose literal values are credentials. */
  secretPatterns: string[];
  /**
   * What local images declare (`--inspect-images`): their config as the engine holds it, by the
   * reference as written in the files. Absent unless asked for.
   */
  images?: Record<string, { user: string; exposedPorts: string[]; volumes: string[] }>;
}

/** The built-in defaults; a config file overrides them. */
export const DEFAULT_SETTINGS: Settings = {
  uid: 10001,
  gid: 10001,
  limits: { memory: '512Mi', cpu: '500m', pids: 200 },
  requests: { memory: '128Mi', cpu: '100m' },
  tmpfs: ['/tmp'],
  secretPatterns: ['PASSWORD', 'PASSWD', 'SECRET', 'TOKEN', 'API_KEY', 'PRIVATE_KEY', 'ACCESS_KEY', 'CREDENTIALS'],
};

/** Rewrites that change an application's design, so they only run when asked for. */
export interface Flags {
  /** Replace docker.sock mounts in Compose by a read-only socket proxy service. */
  fixDockerSocket?: boolean;
  /** daemon.json: add `"userns-remap": "default"` (shifts volume ownership, so only on request). */
  fixUsernsRemap?: boolean;
  /** Kubernetes: generated policies also deny egress (DNS allowed). */
  egress?: boolean;
}
