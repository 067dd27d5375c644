// ONNX Runtime's float latency on a model, the yardstick for our own engine:
// one intra-op and one inter-op thread, all graph optimisations, random input.
// Prints wall-clock median/p95/p99/min and the median CPU time per run.
//   node bench/ort_bench.mjs MODEL.onnx [--runs N] [--warmup N] [--shape 1,1,64,101] [--json]
// Needs onnxruntime-node in the repository's node_modules (scripts/install-ort.sh).
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const usage =
  'usage: node bench/ort_bench.mjs MODEL.onnx [--runs N] [--warmup N] [--shape 1,1,64,101] [--json]';

function fail(msg, code = 1) {
  process.stderr.write(`ort_bench: ${msg}\n`);
  process.exit(code);
}

function parseArgs(argv) {
  const opt = { model: null, runs: 200, warmup: 20, shape: null, json: false };
  const positive = (name, v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) fail(`${name} wants a non-negative integer, got '${v}'`, 2);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      process.stdout.write(usage + '\n');
      process.exit(0);
    } else if (a === '--runs' || a === '--warmup' || a === '--shape') {
      if (i + 1 >= argv.length) fail(`${a} needs a value\n${usage}`, 2);
      const v = argv[++i];
      if (a === '--runs') opt.runs = Math.max(1, positive(a, v));
      else if (a === '--warmup') opt.warmup = positive(a, v);
      else {
        opt.shape = v.split(',').map((d) => positive('--shape', d));
        if (opt.shape.some((d) => d === 0)) fail(`--shape has a zero dimension: '${v}'`, 2);
      }
    } else if (a === '--json') {
      opt.json = true;
    } else if (a.startsWith('-')) {
      fail(`unknown option '${a}'\n${usage}`, 2);
    } else if (opt.model === null) {
      opt.model = a;
    } else {
      fail(`unexpected argument '${a}'\n${usage}`, 2);
    }
  }
  if (opt.model === null) fail(`no model given\n${usage}`, 2);
  return opt;
}

function loadOrt() {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const require = createRequire(path.join(here, '..', 'package.json'));
  try {
    return require('onnxruntime-node');
  } catch (e) {
    fail(`onnxruntime-node is not installed (run scripts/install-ort.sh): ${e.message}`);
  }
}

function quantile(sorted, q) {
  const at = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[at];
}

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  let session;
  try {
    session = await ort.InferenceSession.create(opt.model, {
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (e) {
    fail(`${opt.model}: ${e.message.split('\n')[0]}`);
  }
  const inputName = session.inputNames[0];
  let shape = opt.shape;
  if (!shape) {
    const meta = session.inputMetadata && session.inputMetadata[0];
    const dims = meta && meta.shape;
    if (!dims || dims.some((d) => typeof d !== 'number' || d <= 0))
      fail(`${opt.model}: input '${inputName}' has symbolic dimensions; give --shape`, 2);
    shape = dims;
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count);
  let seed = 12345;
  for (let i = 0; i < count; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    data[i] = (seed / 4294967296) * 2 - 1;
  }
  const feeds = { [inputName]: new ort.Tensor('float32', data, shape) };

  for (let i = 0; i < opt.warmup; i++) await session.run(feeds);
  const times = [];
  const cpu = [];
  for (let i = 0; i < opt.runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  times.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  const r = {
    model: opt.model,
    input: inputName,
    shape,
    runs: opt.runs,
    median_ms: quantile(times, 0.5),
    p95_ms: quantile(times, 0.95),
    p99_ms: quantile(times, 0.99),
    min_ms: times[0],
    // the process's CPU time per run: what the run cost when other work on
    // a shared machine also wanted the core (ORT runs on one thread here)
    cpu_median_ms: quantile(cpu, 0.5),
    ort_version: ort.env && ort.env.versions ? ort.env.versions.common : undefined,
  };
  if (opt.json) {
    process.stdout.write(JSON.stringify(r) + '\n');
  } else {
    const f = (v) => v.toFixed(3);
    process.stdout.write(
      `onnxruntime ${r.ort_version ?? ''} ${path.basename(opt.model)} input ${inputName} ` +
        `[${shape.join(',')}], 1 thread, ${opt.runs} runs: median ${f(r.median_ms)} ms, ` +
        `p95 ${f(r.p95_ms)} ms, p99 ${f(r.p99_ms)} ms, min ${f(r.min_ms)} ms; ` +
        `CPU time median ${f(r.cpu_median_ms)} ms\n`,
    );
  }
}

main().catch((e) => fail(e.message.split('\n')[0]));
