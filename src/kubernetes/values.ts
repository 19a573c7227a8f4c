import { isScalar } from 'yaml';

/**
 * The plain scalars sigs.k8s.io/yaml (its go-yaml v2 fork, `resolve.go`) reads as booleans: the
 * YAML 1.1 words in exactly these three spellings each. `yEs`, `"yes"` and `!!str yes` are strings
 * (the API server rejects a string where it wants a boolean).
 */
const YAML11_TRUE = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']);
const YAML11_FALSE = new Set(['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']);
const BOOL_TAG = 'tag:yaml.org,2002:bool';

/**
 * A Kubernetes boolean field as the API server reads it: `privileged: yes` and `hostNetwork: on`
 * are true, `readOnlyRootFilesystem: no` is false. Undefined for anything that is not a boolean
 * there (absent, quoted, another word, a collection).
 */
export function kubernetesBool(node: unknown): boolean | undefined {
  if (!isScalar(node)) return undefined;
  const { value } = node;
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return undefined;
  const plain = node.type === 'PLAIN' && !node.tag;
  if (!plain && node.tag !== BOOL_TAG) return undefined;
  return YAML11_TRUE.has(value) ? true : YAML11_FALSE.has(value) ? false : undefined;
}

/**
 * The same reading of a plain value (`doc.toJS()`, for the run-wide steps). The plain value has
 * lost the quotes, so a quoted "no" reads false too: the API server rejects a string there, so
 * either reading describes no object that runs.
 */
export function kubernetesBoolValue(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return undefined;
  return YAML11_TRUE.has(value) ? true : YAML11_FALSE.has(value) ? false : undefined;
}
