// ONNX Runtime as the oracle of tests/test_import.py and of `make bench`: scores a CSV with
// an ONNX model and writes one output tensor as CSV (one row per input row).
//
//   node ort_predict.js MODEL.onnx ROWS.csv OUTPUT_NAME OUT.csv
//
// A model with one graph input takes every column as one [N, F] float tensor; otherwise each
// column feeds the graph input of its name, [N, 1]: numbers as float32 (an empty cell is NaN),
// text as strings. ZipMap outputs cannot be read from node: tests score a ZipMap-free twin.
//   node ort_predict.js --bench MODEL.onnx ROWS.csv BATCH ROUNDS   prints ns per row (median),
//   the time to load the model, and one-row latency.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function readCsv(path) {
  const lines = fs.readFileSync(path, 'utf8').split('\n').filter((l) => l.length);
  const names = lines[0].split(',');
  const rows = lines.slice(1).map((l) => l.split(','));
  return { names, rows };
}

function numeric(rows, j) {
  return rows.every((r) => r[j] === '' || !Number.isNaN(Number(r[j])));
}

function feeds(session, csv, from, to) {
  const n = to - from;
  const out = {};
  if (session.inputNames.length === 1 && csv.names.length > 1) {
    const data = new Float32Array(n * csv.names.length);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < csv.names.length; j++) {
        const v = csv.rows[from + i][j];
        data[i * csv.names.length + j] = v === '' ? NaN : Number(v);
      }
    out[session.inputNames[0]] = new ort.Tensor('float32', data, [n, csv.names.length]);
    return out;
  }
  for (const name of session.inputNames) {
    const j = csv.names.indexOf(name);
    if (j < 0) throw new Error(`the CSV has no column ${name}`);
    if (numeric(csv.rows, j)) {
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = csv.rows[from + i][j] === '' ? NaN : Number(csv.rows[from + i][j]);
      out[name] = new ort.Tensor('float32', data, [n, 1]);
    } else {
      out[name] = new ort.Tensor('string', csv.rows.slice(from, to).map((r) => r[j]), [n, 1]);
    }
  }
  return out;
}

const options = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' };

// ORT_ONE_ROW=1: one run a row, for a model whose inputs fix a batch of 1 ([1, F]), which
// ONNX Runtime runs on nothing larger.
async function predict(model, csvPath, outputName, outPath) {
  const session = await ort.InferenceSession.create(model, options);
  const csv = readCsv(csvPath);
  const step = process.env.ORT_ONE_ROW === '1' ? 1 : csv.rows.length;
  const lines = [];
  for (let from = 0; from < csv.rows.length; from += step) {
    const result = await session.run(feeds(session, csv, from, Math.min(from + step, csv.rows.length)));
    const t = result[outputName];
    if (!t) throw new Error(`no output ${outputName}; outputs: ${session.outputNames.join(', ')}`);
    const width = t.dims.length > 1 ? t.dims[t.dims.length - 1] : 1;
    for (let i = 0; i < Math.min(step, csv.rows.length - from); i++) {
      const row = [];
      for (let k = 0; k < width; k++) row.push(Number(t.data[i * width + k]).toPrecision(9));
      lines.push(row.join(','));
    }
  }
  fs.writeFileSync(outPath + '.tmp', lines.join('\n') + '\n');
  fs.renameSync(outPath + '.tmp', outPath);
}

function median(v) {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function bench(model, csvPath, batch, rounds) {
  const t0 = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(model, options);
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const csv = readCsv(csvPath);
  const n = Math.min(batch, csv.rows.length);
  const f = feeds(session, csv, 0, n);
  const one = feeds(session, csv, 0, 1);
  await session.run(f);
  const per = [], single = [];
  for (let r = 0; r < rounds; r++) {
    let s = process.hrtime.bigint();
    await session.run(f);
    per.push(Number(process.hrtime.bigint() - s) / n);
    s = process.hrtime.bigint();
    for (let i = 0; i < 200; i++) await session.run(one);
    single.push(Number(process.hrtime.bigint() - s) / 200);
  }
  console.log(JSON.stringify({ load_ms: loadMs, ns_per_row: median(per), one_row_ns: median(single) }));
}

const a = process.argv.slice(2);
(a[0] === '--bench' ? bench(a[1], a[2], Number(a[3]), Number(a[4])) : predict(a[0], a[1], a[2], a[3])).catch((e) => {
  console.error(e.message);
  process.exit(1);
});
