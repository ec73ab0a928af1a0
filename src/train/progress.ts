import cliProgress from 'cli-progress';
import type { ProgressMode } from './arguments.js';
import type { TrainerCallback, TrainerProgress } from './callbacks.js';

/** Where progress goes: a writable stream (a terminal when `isTTY`). */
export type ProgressStream = Pick<NodeJS.WriteStream, 'write'> & { readonly isTTY?: boolean };

/** Seconds as `1h02m03s`, `2m05s` or `7s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h) return `${h}h${String(m).padStart(2, '0')}m${String(r).padStart(2, '0')}s`;
  if (m) return `${m}m${String(r).padStart(2, '0')}s`;
  return `${r}s`;
}

function eta(p: TrainerProgress, startStep: number, startedAt: number): number {
  const done = p.globalStep - startStep;
  if (done <= 0) return Number.NaN;
  const perStep = (performance.now() - startedAt) / 1000 / done;
  return perStep * (p.maxSteps - p.globalStep);
}

function metricsText(record: Readonly<Record<string, number>>): string {
  return Object.entries(record)
    .filter(([k]) => k !== 'step' && k !== 'epoch')
    .map(([k, v]) => `${k} ${Number.isInteger(v) ? v : Math.abs(v) < 1e-3 ? v.toExponential(3) : v.toPrecision(4)}`)
    .join(', ');
}

/**
 * Shows training progress on `stream` (stderr by default): a redrawn bar with loss, learning
 * rate, throughput and ETA on a terminal; plain lines (one per log record) otherwise, so logs
 * piped to a file stay readable. `bar` asks for the bar, but a stream that is not a terminal
 * cannot redraw one, so it gets the plain lines too.
 */
export function progressCallback(mode: ProgressMode, stream: ProgressStream = process.stderr): TrainerCallback {
  const useBar = (mode === 'bar' || mode === 'auto') && stream.isTTY === true;
  if (mode === 'none') return {};
  let startStep = 0;
  let startedAt = performance.now();
  let lastPrinted = -Infinity;
  if (!useBar) {
    return {
      onTrainBegin(p) {
        startStep = p.globalStep;
        startedAt = performance.now();
        stream.write(`training: ${p.maxSteps} steps, ${p.numEpochs} epoch(s)${p.globalStep ? `, resuming at step ${p.globalStep}` : ''}\n`);
      },
      onLog(p, record) {
        // About 20 training lines per run whatever the logging interval; evaluations always print.
        const isTraining = 'loss' in record;
        if (isTraining && p.globalStep < p.maxSteps && p.globalStep - lastPrinted < Math.ceil(p.maxSteps / 20)) return;
        if (isTraining) lastPrinted = p.globalStep;
        const where = `step ${p.globalStep}/${p.maxSteps} epoch ${p.epoch.toFixed(2)}`;
        const speed = 'loss' in record ? `, ${p.samplesPerSecond.toFixed(1)} samples/s, ETA ${formatDuration(eta(p, startStep, startedAt))}` : '';
        stream.write(`${where}: ${metricsText(record)}${speed}\n`);
      },
      onSave(p, dir) {
        stream.write(`step ${p.globalStep}: saved ${dir}\n`);
      },
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream: stream as NodeJS.WriteStream,
      format: 'epoch {epochs} |{bar}| {value}/{total} steps | loss {loss} | lr {lr} | {speed} samples/s | ETA {etaText}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const payload = (p: TrainerProgress) => ({
    epochs: `${Math.min(p.numEpochs, Math.floor(p.epoch) + 1)}/${p.numEpochs}`,
    loss: Number.isFinite(p.loss) ? p.loss.toFixed(4) : '-',
    lr: p.learningRate.toExponential(2),
    speed: p.samplesPerSecond.toFixed(1),
    etaText: formatDuration(eta(p, startStep, startedAt)),
  });
  return {
    onTrainBegin(p) {
      startStep = p.globalStep;
      startedAt = performance.now();
      bar.start(p.maxSteps, p.globalStep, payload(p));
    },
    onStep(p) {
      bar.update(p.globalStep, payload(p));
    },
    onLog(p, record) {
      if (!('loss' in record)) {
        // Evaluation results go on their own line above the bar.
        stream.write(`\r\x1b[2K`);
        stream.write(`step ${p.globalStep} epoch ${p.epoch.toFixed(2)}: ${metricsText(record)}\n`);
        bar.render();
      }
    },
    onTrainEnd(p) {
      bar.update(p.globalStep, payload(p));
      bar.stop();
    },
  };
}
