import { TunaError } from '../errors.js';
import type { Graph, Node, Value } from '../onnx/graph.js';

/** What a gradient rule sees of the node it differentiates. */
export interface GradContext {
  readonly g: Graph;
  readonly node: Node;
  /** The node's inputs (an omitted optional input is `undefined`). */
  readonly inputs: readonly (Value | undefined)[];
  readonly outputs: readonly Value[];
  /** Gradient of the loss with respect to each output, `undefined` where no gradient flows. */
  readonly dOutputs: readonly (Value | undefined)[];
  /** Whether the loss needs the gradient of input `i`; rules emit nothing for the others. */
  needs(i: number): boolean;
}

/**
 * A gradient rule: returns the gradient of each input (in input order), `undefined` for inputs
 * that are not differentiable or not needed. Rules emit ordinary ONNX ops through `ctx.g`.
 */
export type GradientRule = (ctx: GradContext) => (Value | undefined)[];

/** Error raised when the backward pass meets an op with no gradient rule (code `unsupported_gradient`). */
export class UnsupportedGradientError extends TunaError {
  override name = 'UnsupportedGradientError';
  constructor(
    readonly opType: string,
    readonly domain: string,
    readonly nodeName: string,
  ) {
    super(
      'unsupported_gradient',
      `no gradient rule for op ${domain ? `${domain}::` : ''}${opType} (node ${nodeName}); ` +
        'register one with registerGradient() or keep this op off the path from the parameters to the loss',
    );
  }
}

const rules = new Map<string, GradientRule>();

function key(opType: string, domain: string): string {
  return domain ? `${domain}::${opType}` : opType;
}

/** Registers the gradient rule of an op (replacing any earlier one). */
export function registerGradient(opType: string, rule: GradientRule, domain = ''): void {
  rules.set(key(opType, domain), rule);
}

/** The rule for an op, if one is registered. */
export function gradientRule(opType: string, domain = ''): GradientRule | undefined {
  return rules.get(key(opType, domain));
}

/** Ops that have a gradient rule, as `domain::opType` (or `opType` for the default domain). */
export function differentiableOps(): string[] {
  return [...rules.keys()].sort();
}
