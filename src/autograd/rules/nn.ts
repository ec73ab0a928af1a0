import type { Value } from '../../onnx/graph.js';
import { ShapeError } from '../../onnx/errors.js';
import { normalizeAxis } from '../../onnx/shape.js';
import { registerGradient } from '../rule.js';
import { intAttribute } from './util.js';

registerGradient('Softmax', ({ g, node, outputs, dOutputs }) => {
  const y = outputs[0]!;
  const dy = dOutputs[0]!;
  const axis = normalizeAxis('Softmax', intAttribute(node, 'axis', -1), y.rank, y.shape);
  const dyy = g.mul(dy, y);
  return [g.sub(dyy, g.mul(y, g.reduceSum(dyy, [axis], true)))];
});

registerGradient('LogSoftmax', ({ g, node, outputs, dOutputs }) => {
  const y = outputs[0]!;
  const dy = dOutputs[0]!;
  const axis = normalizeAxis('LogSoftmax', intAttribute(node, 'axis', -1), y.rank, y.shape);
  return [g.sub(dy, g.mul(g.exp(y), g.reduceSum(dy, [axis], true)))];
});

registerGradient('LayerNormalization', ({ g, node, inputs, outputs, dOutputs, needs }) => {
  const [x, w, b] = inputs as [Value, Value, Value | undefined];
  const [, mean, invStd] = outputs as [Value, Value, Value];
  if (dOutputs[1] || dOutputs[2]) throw new ShapeError('LayerNormalization', 'gradients through the Mean/InvStdDev outputs are not supported');
  const dy = dOutputs[0]!;
  const axis = normalizeAxis('LayerNormalization', intAttribute(node, 'axis', -1), x.rank, x.shape);
  const normAxes = [...Array(x.rank - axis).keys()].map((i) => axis + i);
  const leadAxes = [...Array(axis).keys()];
  const [mu, inv] = [mean, invStd].map((v) => g.cast(v, x.dtype)) as [Value, Value];
  const xhat = g.mul(g.sub(x, mu), inv);
  let dx: Value | undefined;
  if (needs(0)) {
    const dxhat = g.mul(dy, w);
    const m1 = g.reduceMean(dxhat, normAxes, true);
    const m2 = g.reduceMean(g.mul(dxhat, xhat), normAxes, true);
    dx = g.mul(g.sub(g.sub(dxhat, m1), g.mul(xhat, m2)), inv);
  }
  const dw = needs(1) ? g.reduceSum(g.mul(dy, xhat), leadAxes, false) : undefined;
  const db = b && needs(2) ? g.reduceSum(dy, leadAxes, false) : undefined;
  return [dx, dw, db];
});

registerGradient('SoftmaxCrossEntropyLoss', ({ g, node, inputs, outputs, dOutputs }) => {
  const [logits, labels, weights] = inputs as [Value, Value, Value | undefined];
  if (weights) throw new ShapeError('SoftmaxCrossEntropyLoss', 'class weights are not differentiable here');
  const logProb = outputs[1]!;
  const [dLoss, dLogProb] = dOutputs;
  const reduction = node.attributes.reduction?.kind === 'string' ? node.attributes.reduction.value : 'mean';
  const ignore = node.attributes.ignore_index?.kind === 'int' ? node.attributes.ignore_index.value : undefined;
  const prob = g.exp(logProb);
  let dLogits: Value | undefined;
  if (dLoss) {
    const lab = g.cast(labels, 'int64');
    const valid = ignore === undefined ? undefined : g.not(g.equal(lab, g.scalar(ignore, 'int64')));
    const safe = valid ? g.where(valid, lab, g.scalar(0, 'int64')) : lab;
    const depth = g.squeeze(g.dimLike(logits, 1), [0]);
    // ONNX Runtime's OneHot kernel has no float64 variant: build it in float32 and cast.
    const onehot = g.cast(
      g.node('OneHot', [safe, depth, g.constant([0, 1], 'float32', [2])], [{ dtype: 'float32', shape: logits.shape }], {
        axis: { kind: 'int', value: 1 },
      })[0]!,
      logits.dtype,
    );
    let delta = g.sub(prob, onehot);
    let weight: Value | undefined = valid ? g.unsqueeze(g.cast(valid, logits.dtype), [1]) : undefined;
    if (reduction === 'none') {
      const up = g.unsqueeze(dLoss, [1]);
      weight = weight ? g.mul(weight, up) : up;
    } else {
      let scale = dLoss;
      if (reduction === 'mean') {
        const count = valid ? g.reduceSum(g.cast(valid, logits.dtype)) : g.cast(g.node('Size', [lab], [{ dtype: 'int64', shape: [] }])[0]!, logits.dtype);
        // An all-ignored batch has loss 0 and gradient 0.
        scale = g.div(dLoss, g.node('Max', [count, g.scalar(1, logits.dtype)], [{ dtype: logits.dtype, shape: [] }])[0]!);
      }
      weight = weight ? g.mul(weight, scale) : scale;
    }
    dLogits = g.mul(delta, weight);
    delta = dLogits;
  }
  if (dLogProb) {
    const viaLogProb = g.sub(dLogProb, g.mul(prob, g.reduceSum(dLogProb, [1], true)));
    dLogits = dLogits ? g.add(dLogits, viaLogProb) : viaLogProb;
  }
  return [dLogits, undefined, undefined];
});
