// one.mjs - one reference query on a loaded DuckDB file, as a whole process
// (the cold side of Kizuna's metrics benchmark).
// node one.mjs <bench_ref_dir> <duck.db> <qN> <out.csv>
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync } from 'node:fs';

const [ref, db, q, out] = process.argv.slice(2);
const sql = readFileSync(`${ref}/sql/duckdb/${q}.sql`, 'utf8')
  .split('\n').filter((l) => !l.startsWith('--')).join('\n').trim().replace(/;$/, '');
const inst = await DuckDBInstance.create(db);
const con = await inst.connect();
await con.run(`COPY (${sql}) TO '${out}' (HEADER, DELIMITER ',')`);
con.closeSync();
inst.closeSync();
