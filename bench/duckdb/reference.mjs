// reference.mjs - the reference results of ../shared/bench on a data folder.
// node reference.mjs <bench_ref_dir> <data_dir> <out_dir>
// Loads the four CSV files with the reference Q1 into an in-memory DuckDB and
// writes q2.csv .. q5.csv (the reference queries, unchanged) into out_dir.
// Used to make the expected results that Kizuna's tests compare against, and by
// the metrics benchmark; never by the product.
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdirSync, readFileSync } from 'node:fs';

const [ref, data, out] = process.argv.slice(2);
const sqlOf = (q) => readFileSync(`${ref}/sql/duckdb/${q}.sql`, 'utf8')
  .split('\n').filter((l) => !l.startsWith('--')).join('\n').replaceAll('{{DATA}}', data).trim().replace(/;$/, '');
mkdirSync(out, { recursive: true });
const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
for (const stmt of sqlOf('q1').split(';').map((s) => s.trim()).filter(Boolean)) {
  if (stmt.toUpperCase() !== 'CHECKPOINT') await con.run(stmt);
}
for (const q of ['q2', 'q3', 'q4', 'q5']) {
  await con.run(`COPY (${sqlOf(q)}) TO '${out}/${q}.csv' (HEADER, DELIMITER ',')`);
}
con.closeSync();
inst.closeSync();
