// ONNX Runtime's outputs for a model on one float32 .npy input, with every
// graph optimisation disabled so QuantizeLinear/DequantizeLinear run as
// written: the outside reference for the engine's float-simulated QDQ path.
//   node tests/gen/ort_onnx_reference.mjs MODEL.onnx INPUT.npy OUTPUT.npy
// Needs onnxruntime-node in the repository's node_modules (scripts/install-ort.sh).
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [model, inPath, outPath] = process.argv.slice(2);
if (!outPath) {
  process.stderr.write('usage: node tests/gen/ort_onnx_reference.mjs MODEL.onnx IN.npy OUT.npy\n');
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const ort = createRequire(path.join(here, '..', '..', 'package.json'))('onnxruntime-node');

function readNpy(p) {
  const b = fs.readFileSync(p);
  const hlen = b.readUInt16LE(8);
  const header = b.toString('latin1', 10, 10 + hlen);
  if (!header.includes("'<f4'") || header.includes("'fortran_order': True"))
    throw new Error(`${p}: only little-endian float32 C-order .npy`);
  const shape = header.match(/'shape': \(([^)]*)\)/)[1].split(',').filter((s) => s.trim()).map(Number);
  const data = new Float32Array(b.buffer.slice(b.byteOffset + 10 + hlen, b.byteOffset + b.length));
  return { shape, data };
}

function writeNpy(p, shape, data) {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  while ((10 + header.length + 1) % 64) header += ' ';
  header += '\n';
  const h = Buffer.alloc(10);
  h.write('\x93NUMPY', 0, 'latin1');
  h[6] = 1;
  h[7] = 0;
  h.writeUInt16LE(header.length, 8);
  fs.writeFileSync(p, Buffer.concat([h, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]));
}

const x = readNpy(inPath);
const session = await ort.InferenceSession.create(model, {
  intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'disabled',
});
const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', x.data, x.shape) });
const y = out[session.outputNames[0]];
writeNpy(outPath, y.dims, y.data);
