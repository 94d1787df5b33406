// queries.mjs - DuckDB's side of Kizuna's metrics benchmark.
// node queries.mjs <bench_ref_dir> <duck.db> <reps> <out_dir>
// Warm: opens the loaded database once, runs each reference query (q2..q5) reps
// times as COPY (query) TO out_dir/qN.csv, and prints "duckdb warm qN <median s>".
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync } from 'node:fs';

const [ref, db, repsArg, out] = process.argv.slice(2);
const reps = Number(repsArg || 5);
const sqlOf = (q) => readFileSync(`${ref}/sql/duckdb/${q}.sql`, 'utf8')
  .split('\n').filter((l) => !l.startsWith('--')).join('\n').trim().replace(/;$/, '');
const inst = await DuckDBInstance.create(db);
const con = await inst.connect();
for (const q of ['q2', 'q3', 'q4', 'q5']) {
  const times = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    await con.run(`COPY (${sqlOf(q)}) TO '${out}/${q}.csv' (HEADER, DELIMITER ',')`);
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  times.sort((a, b) => a - b);
  console.log(`duckdb warm ${q} ${times[Math.floor(times.length / 2)].toFixed(6)}`);
}
con.closeSync();
inst.closeSync();
