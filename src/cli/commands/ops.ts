import '../../autograd/backward.js'; // registers the gradient rules
import { differentiableOps } from '../../autograd/rule.js';
import { type Output, toJson } from '../output.js';

/** One op with a gradient rule. */
export interface OpEntry {
  readonly opType: string;
  /** `ai.onnx` for the default ONNX domain. */
  readonly domain: string;
}

/** The ops the autodiff can differentiate, sorted by domain then name. */
export function listDifferentiableOps(): OpEntry[] {
  return differentiableOps()
    .map((key) => {
      const sep = key.lastIndexOf('::');
      return sep < 0 ? { opType: key, domain: 'ai.onnx' } : { opType: key.slice(sep + 2), domain: key.slice(0, sep) };
    })
    .sort((a, b) => a.domain.localeCompare(b.domain) || a.opType.localeCompare(b.opType));
}

/** `tuna ops [--json]`. */
export async function opsCommand(opts: { json?: boolean }, out: Output): Promise<void> {
  const ops = listDifferentiableOps();
  if (opts.json) {
    out.stdout(`${toJson({ count: ops.length, ops })}\n`);
    return;
  }
  for (const o of ops) out.stdout(`${o.domain === 'ai.onnx' ? o.opType : `${o.domain}::${o.opType}`}\n`);
}
