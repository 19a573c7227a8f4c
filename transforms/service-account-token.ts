import type { Transform } from '../src/types.js';
import { boolAt, nodeAt, scalarAt } from './support.js';

/** Pods that do not name a service account do not need its API token mounted. */
export default {
  id: 'service-account-token',
  owasp: '—',
  title: 'Do not mount the default service account token',
  why: 'A pod that does not talk to the Kubernetes API should not carry a token for it: a stolen token is API access.',
  changes: {
    kubernetes: 'automountServiceAccountToken: false when the pod does not name a service account',
  },
  breaks: 'Pods that call the Kubernetes API with the default service account lose access; name a service account to keep it.',
  severity: 'low',
  pod(pod, ctx) {
    if (scalarAt(pod.spec, ['serviceAccountName']) || scalarAt(pod.spec, ['serviceAccount'])) return;
    const value = boolAt(pod.spec, ['automountServiceAccountToken']);
    if (value === false) return;
    if (value === true) {
      ctx.report({
        at: nodeAt(pod.spec, ['automountServiceAccountToken']),
        field: `${pod.path}.automountServiceAccountToken`,
        message: 'the pod mounts the default service account token explicitly; name a dedicated service account',
      });
      return;
    }
    ctx.report({
      at: pod.spec,
      field: `${pod.path}.automountServiceAccountToken`,
      message: 'the pod mounts the default service account token without naming a service account',
      fix: (f) => f.ensure(pod.spec, ['automountServiceAccountToken'], false),
    });
  },
} satisfies Transform;
