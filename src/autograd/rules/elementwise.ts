import { MS_DOMAIN, type Value } from '../../onnx/graph.js';
import { isFloat } from '../../onnx/dtype.js';
import { registerGradient } from '../rule.js';
import { unbroadcast } from './util.js';

registerGradient('Identity', ({ dOutputs }) => [dOutputs[0]]);

registerGradient('Add', ({ g, inputs, dOutputs, needs }) => {
  const dy = dOutputs[0]!;
  return [needs(0) ? unbroadcast(g, dy, inputs[0]!) : undefined, needs(1) ? unbroadcast(g, dy, inputs[1]!) : undefined];
});

registerGradient('Sum', ({ g, inputs, dOutputs, needs }) => inputs.map((x, i) => (needs(i) ? unbroadcast(g, dOutputs[0]!, x!) : undefined)));

registerGradient('Sub', ({ g, inputs, dOutputs, needs }) => {
  const dy = dOutputs[0]!;
  return [needs(0) ? unbroadcast(g, dy, inputs[0]!) : undefined, needs(1) ? unbroadcast(g, g.neg(dy), inputs[1]!) : undefined];
});

registerGradient('Mul', ({ g, inputs, dOutputs, needs }) => {
  const [a, b] = inputs as [Value, Value];
  const dy = dOutputs[0]!;
  return [needs(0) ? unbroadcast(g, g.mul(dy, b), a) : undefined, needs(1) ? unbroadcast(g, g.mul(dy, a), b) : undefined];
});

registerGradient('Div', ({ g, inputs, outputs, dOutputs, needs }) => {
  const [a, b] = inputs as [Value, Value];
  const dy = dOutputs[0]!;
  const da = needs(0) || needs(1) ? g.div(dy, b) : undefined;
  // d(a/b)/db = -(a/b)/b, so db = -(dy/b) * y.
  return [needs(0) ? unbroadcast(g, da!, a) : undefined, needs(1) ? unbroadcast(g, g.neg(g.mul(da!, outputs[0]!)), b) : undefined];
});

registerGradient('Pow', ({ g, inputs, outputs, dOutputs, needs }) => {
  const [a, b] = inputs as [Value, Value];
  const y = outputs[0]!;
  const dy = dOutputs[0]!;
  let da: Value | undefined;
  if (needs(0)) da = unbroadcast(g, g.mul(dy, g.mul(b, g.pow(a, g.sub(b, 1)))), a);
  let db: Value | undefined;
  if (needs(1) && isFloat(b.dtype)) db = unbroadcast(g, g.mul(dy, g.mul(y, g.log(a))), b);
  return [da, db];
});

registerGradient('Neg', ({ g, dOutputs }) => [g.neg(dOutputs[0]!)]);

registerGradient('Abs', ({ g, inputs, dOutputs }) => {
  const x = inputs[0]!;
  return [g.where(g.less(x, 0), g.neg(dOutputs[0]!), dOutputs[0]!)];
});

registerGradient('Sqrt', ({ g, outputs, dOutputs }) => [g.div(g.mul(dOutputs[0]!, 0.5), outputs[0]!)]);

registerGradient('Exp', ({ g, outputs, dOutputs }) => [g.mul(dOutputs[0]!, outputs[0]!)]);

registerGradient('Log', ({ g, inputs, dOutputs }) => [g.div(dOutputs[0]!, inputs[0]!)]);

registerGradient('Tanh', ({ g, outputs, dOutputs }) => {
  const y = outputs[0]!;
  return [g.mul(dOutputs[0]!, g.sub(1, g.mul(y, y)))];
});

registerGradient('Sigmoid', ({ g, outputs, dOutputs }) => {
  const y = outputs[0]!;
  return [g.mul(dOutputs[0]!, g.mul(y, g.sub(1, y)))];
});

registerGradient('Relu', ({ g, inputs, dOutputs }) => [g.where(g.greater(inputs[0]!, 0), dOutputs[0]!, 0)]);

registerGradient('Erf', ({ g, inputs, dOutputs }) => {
  const x = inputs[0]!;
  // d erf(x)/dx = 2/sqrt(pi) * exp(-x^2)
  return [g.mul(dOutputs[0]!, g.mul(g.exp(g.neg(g.mul(x, x))), 2 / Math.sqrt(Math.PI)))];
});

const gelu = ({ g, inputs, dOutputs }: Parameters<Parameters<typeof registerGradient>[1]>[0]) => {
  const x = inputs[0]!;
  // gelu'(x) = Phi(x) + x phi(x) = 0.5 * (1 + erf(t) + x * sqrt(2/pi) * exp(-t^2)), t = x / sqrt(2).
  // The constant sqrt(2/pi) rides inside the exponent so each term costs one pass.
  const t = g.mul(x, Math.SQRT1_2);
  const erf = g.erf(t);
  const gauss = g.exp(g.sub(g.scalar(Math.log(Math.sqrt(2 / Math.PI)), x.dtype), g.mul(t, t)));
  const slope = g.add(g.add(erf, g.mul(x, gauss)), 1);
  return [g.mul(g.mul(dOutputs[0]!, slope), 0.5)];
};
registerGradient('Gelu', gelu, MS_DOMAIN);

registerGradient('Where', ({ g, inputs, dOutputs, needs }) => {
  const [cond, a, b] = inputs as [Value, Value, Value];
  const dy = dOutputs[0]!;
  return [undefined, needs(1) ? unbroadcast(g, g.where(cond, dy, 0), a) : undefined, needs(2) ? unbroadcast(g, g.where(cond, 0, dy), b) : undefined];
});

registerGradient('Cast', ({ g, inputs, dOutputs }) => {
  const x = inputs[0]!;
  return [isFloat(x.dtype) ? g.cast(dOutputs[0]!, x.dtype) : undefined];
});

registerGradient('Dropout', ({ g, inputs, outputs, dOutputs }) => {
  const x = inputs[0]!;
  const mask = outputs[1]!;
  const ratio = inputs[1]!;
  // y = x * mask / (1 - ratio)
  const scale = g.div(g.scalar(1, x.dtype), g.sub(g.scalar(1, x.dtype), ratio));
  return [g.mul(g.where(mask, dOutputs[0]!, 0), scale)];
});
