// The "declared equals used" check of test/model-core.test.ts for any family: every head's graph
// (inference and training) uses exactly the parameters the family declares for it.
import assert from 'node:assert/strict';
import { HEADS, type HeadKind, familyOf } from '../../src/models/registry.js';
import { ParameterScope, ParameterStore, Rng } from '../../src/nn/parameters.js';
import { Graph } from '../../src/onnx/graph.js';

/** Checks every head `modelType` names an architecture for, with and without the loss. */
export function checkDeclaredEqualsUsed(modelType: string, rawConfig: Record<string, unknown>): void {
  const family = familyOf(modelType);
  const config = family.parseConfig(rawConfig, 'config');
  for (const head of Object.keys(family.architectures) as HeadKind[]) {
    const declared = family.parameters(config, head);
    for (const withLoss of [false, true]) {
      if (withLoss && HEADS[head].labelInputs.length === 0) continue;
      const store = new ParameterStore(new Rng(0), { allocate: false });
      for (const s of declared) store.create(s.name, s.shape, s.init, s.decay);
      store.seal(head);
      const scope = new ParameterScope(new Graph('g'), store);
      family.build({ scope, training: withLoss, nextSeed: () => 0, initStd: 0.02 }, config, head, { withLoss });
      assert.deepEqual(
        scope
          .used()
          .map((u) => u.param.name)
          .sort(),
        declared.map((s) => s.name).sort(),
        `${modelType} ${head} withLoss=${withLoss}`,
      );
    }
  }
}
