// Runs an ONNX model in ONNX Runtime on a float32 .npy input and writes the
// first output as a float32 .npy, so tests can compare ORT with wakewordd.
// One thread, all graph optimisations by default (ORT fuses QDQ groups into its
// int8 kernels at this level); --opt disabled runs the graph as written (ORT's
// reference semantics of QuantizeLinear/DequantizeLinear in float).
//   node tests/ort/run_npy.mjs MODEL.onnx IN.npy OUT.npy [--batch N] [--opt all|disabled]
// --batch runs the input in slices of N along the first axis (default: all).
// Needs onnxruntime-node in the repository's node_modules (scripts/install-ort.sh);
// exits 77 when it is missing so callers can skip.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(path.join(root, 'package.json'));

function fail(msg, code = 1) {
  process.stderr.write(`run_npy: ${msg}\n`);
  process.exit(code);
}

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') fail(`${file}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const off = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', off, off + hlen);
  if (!/'descr':\s*'<f4'/.test(header)) fail(`${file}: not float32 (${header.trim()})`);
  if (/'fortran_order':\s*True/.test(header)) fail(`${file}: Fortran order`);
  const m = header.match(/'shape':\s*\(([^)]*)\)/);
  const shape = m[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const start = off + hlen;
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length));
  return { shape, data };
}

function writeNpy(file, shape, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

const args = process.argv.slice(2);
let batch = 0;
let opt = 'all';
const pos = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--batch') batch = Number(args[++i]);
  else if (args[i] === '--opt') opt = args[++i];
  else pos.push(args[i]);
}
if (!['all', 'disabled', 'basic', 'extended'].includes(opt)) fail(`--opt ${opt}: all, extended, basic or disabled`, 2);
if (pos.length !== 3) fail('usage: node tests/ort/run_npy.mjs MODEL.onnx IN.npy OUT.npy [--batch N]', 2);
let ort;
try {
  ort = require('onnxruntime-node');
} catch (e) {
  fail('onnxruntime-node is not installed (scripts/install-ort.sh)', 77);
}
const [modelPath, inPath, outPath] = pos;
const input = readNpy(inPath);
const session = await ort.InferenceSession.create(modelPath, {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: opt,
});
const n = input.shape[0];
const per = input.data.length / n;
const step = batch > 0 ? batch : n;
const parts = [];
let outShape = null;
for (let i = 0; i < n; i += step) {
  const k = Math.min(step, n - i);
  const shape = [k, ...input.shape.slice(1)];
  const t = new ort.Tensor('float32', input.data.slice(i * per, (i + k) * per), shape);
  const res = await session.run({ [session.inputNames[0]]: t });
  const o = res[session.outputNames[0]];
  if (o.type !== 'float32') fail(`output ${session.outputNames[0]} is ${o.type}`);
  parts.push(o.data);
  outShape = o.dims.slice(1);
}
const total = parts.reduce((s, p) => s + p.length, 0);
const out = new Float32Array(total);
let at = 0;
for (const p of parts) {
  out.set(p, at);
  at += p.length;
}
writeNpy(outPath, [n, ...outShape], out);
