import { parseDockerfile, wordsOf } from './parse.js';
import type { DockerfileSource, Instruction } from './parse.js';

/** One build stage: its `FROM` and the instructions up to the next `FROM`. */
export interface Stage {
  from: Instruction;
  /** The image reference as written (`node:${NODE_VERSION}`, `builder`, `scratch`). */
  image: string;
  /** `AS name`, lower-cased as BuildKit compares it. */
  name?: string;
  /** The earlier stage it starts from, when `image` names one. */
  parent?: Stage;
  instructions: Instruction[];
}

/** The final stage's `USER`, as the stage (or the stages it starts from) last set it. */
export interface StageUser {
  /** As written: `app`, `1001:1001`, `root`. */
  value: string;
  instruction: Instruction;
  root: boolean;
  /** The numeric uid, when written or found in a `useradd -u N` / `adduser -u N` of the stages. */
  uid?: number;
  gid?: number;
}

/** A Dockerfile read for what hardening needs. */
export interface Dockerfile {
  source: DockerfileSource;
  stages: Stage[];
  /** The stage that runs: the last one, or the build target. */
  final?: Stage;
  /** The image the final stage starts from, through earlier stages (`FROM base` → base's image). */
  baseImage?: string;
  /** The final stage's user; undefined when no stage on its chain sets one (the base image's user). */
  user?: StageUser;
  /** Ports the final stage (and its parents) expose. */
  expose: number[];
  /** `VOLUME` paths of the final stage and its parents. */
  volumes: string[];
}

/** Reads a Dockerfile; `target` selects the stage a Compose `build.target` names. */
export function readDockerfile(text: string, target?: string): Dockerfile {
  const source = parseDockerfile(text);
  const stages: Stage[] = [];
  for (const ins of source.instructions) {
    if (ins.keyword === 'FROM') {
      const words = wordsOf(ins.args, source.escape).map((w) => w.value);
      const image = words[0] ?? '';
      const name = words[1]?.toLowerCase() === 'as' ? words[2]?.toLowerCase() : undefined;
      const parent = stages.find((s) => s.name !== undefined && s.name === image.toLowerCase());
      stages.push({ from: ins, image, name, parent, instructions: [] });
    } else if (stages.length) stages[stages.length - 1].instructions.push(ins);
  }
  const final = target ? stages.find((s) => s.name === target.toLowerCase()) ?? stages[stages.length - 1] : stages[stages.length - 1];
  const chain: Stage[] = [];
  for (let s: Stage | undefined = final; s && !chain.includes(s); s = s.parent) chain.push(s);
  const all = [...chain].reverse().flatMap((s) => s.instructions);
  const last = (kw: string) => [...chain].flatMap((s) => [...s.instructions].reverse()).find((i) => i.keyword === kw);
  const userIns = last('USER');
  const expose: number[] = [];
  const volumes: string[] = [];
  for (const ins of all) {
    if (ins.keyword === 'EXPOSE') {
      for (const w of wordsOf(ins.args, source.escape)) {
        const port = /^(\d+)(-\d+)?(\/\w+)?$/.exec(w.value);
        if (port) expose.push(Number(port[1]));
      }
    } else if (ins.keyword === 'VOLUME') {
      for (const v of ins.json ?? wordsOf(ins.args, source.escape).map((w) => w.value)) if (v.startsWith('/')) volumes.push(v.replace(/\/+$/, '') || '/');
    }
  }
  return {
    source,
    stages,
    final,
    baseImage: chain.length ? chain[chain.length - 1].image : undefined,
    user: userIns ? userOf(userIns, all, source.escape) : undefined,
    expose: [...new Set(expose)],
    volumes: [...new Set(volumes)],
  };
}

function userOf(ins: Instruction, stageInstructions: Instruction[], escape: string): StageUser {
  const value = wordsOf(ins.args, escape)[0]?.value ?? '';
  const [name, group] = value.split(':');
  const numeric = /^\d+$/.test(name) ? Number(name) : undefined;
  const gid = group !== undefined && /^\d+$/.test(group) ? Number(group) : undefined;
  const root = name === 'root' || numeric === 0;
  const uid = numeric ?? (root ? 0 : createdUid(name, stageInstructions));
  return { value, instruction: ins, root, ...(uid !== undefined ? { uid } : {}), ...(gid !== undefined ? { gid } : {}) };
}

/** The uid a `useradd -u N name` / `adduser [-D] -u N name` (or `--uid N`) of the stages gives `name`. */
function createdUid(name: string, instructions: Instruction[]): number | undefined {
  if (!name || name.includes('$')) return undefined;
  for (const ins of instructions) {
    if (ins.keyword !== 'RUN') continue;
    const script = ins.json ? ins.json.join(' ') : [ins.args, ...ins.heredocs.map((h) => h.body)].join('\n');
    for (const command of script.split(/&&|\|\||;|\n|\|/)) {
      const words = wordsOf(command).map((w) => w.value);
      const at = words.findIndex((w) => /(^|\/)(useradd|adduser)$/.test(w));
      if (at < 0) continue;
      const rest = words.slice(at + 1);
      if (!rest.includes(name)) continue;
      for (let k = 0; k < rest.length; k++) {
        const m = /^(?:-u|--uid)(?:=(\d+))?$/.exec(rest[k]) ?? /^-u(\d+)$/.exec(rest[k]);
        if (!m) continue;
        const v = m[1] ?? rest[k + 1];
        if (v && /^\d+$/.test(v)) return Number(v);
      }
    }
  }
  return undefined;
}
