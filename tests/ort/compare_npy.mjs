// Compares two float32 .npy files element by element.
//   node tests/ort/compare_npy.mjs A.npy B.npy TOL
// Prints the shapes' element count, the max abs difference and how many
// elements differ by more than TOL; exits 1 if any do (or the sizes differ).
import fs from 'node:fs';

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const off = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', off, off + hlen);
  if (!/'descr':\s*'<f4'/.test(header)) throw new Error(`${file}: not float32`);
  const start = off + hlen;
  return new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length));
}

const [a, b, tolArg] = process.argv.slice(2);
if (!a || !b || tolArg === undefined) {
  process.stderr.write('usage: node tests/ort/compare_npy.mjs A.npy B.npy TOL\n');
  process.exit(2);
}
const x = readNpy(a), y = readNpy(b), tol = Number(tolArg);
if (x.length !== y.length) {
  console.log(`sizes differ: ${x.length} vs ${y.length}`);
  process.exit(1);
}
let max = 0, bad = 0;
for (let i = 0; i < x.length; i++) {
  const d = Math.abs(x[i] - y[i]);
  if (!(d <= max)) max = d;
  if (!(d <= tol)) bad++;
}
console.log(`elements ${x.length}, max abs diff ${max}, over tolerance ${tol}: ${bad}`);
process.exit(bad ? 1 : 0);
