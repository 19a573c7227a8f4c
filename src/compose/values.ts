/**
 * A Compose boolean field as compose-go v2 reads it: its loader parses YAML 1.2 (`yes` is a
 * string), then casts every string at a boolean field (`privileged`, `read_only`, `init`, `tty`,
 * volumes' `read_only`, …) with `toBoolean` (`loader/interpolate.go`): `true`/`false` and, with a
 * warning, `y`/`yes`/`on`/`n`/`no`/`off`, in any letter case, quoted or not. Undefined for
 * anything else (absent, an interpolation left to the deployment, a word Compose refuses).
 */
export function composeBool(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return undefined;
  const word = value.toLowerCase();
  if (word === 'true' || word === 'y' || word === 'yes' || word === 'on') return true;
  if (word === 'false' || word === 'n' || word === 'no' || word === 'off') return false;
  return undefined;
}
