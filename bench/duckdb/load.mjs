// load.mjs - DuckDB's side of Kizuna's import benchmark.
// node load.mjs <q1.sql> <data_dir> <db_file>
// Runs the reference Q1 (create the four tables, COPY the CSV files, CHECKPOINT)
// on a fresh database file and prints "seconds <s>".
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync, rmSync } from 'node:fs';

const [sqlFile, data, dbFile] = process.argv.slice(2);
const sql = readFileSync(sqlFile, 'utf8')
  .split('\n').filter((l) => !l.startsWith('--')).join('\n')
  .replaceAll('{{DATA}}', data);
rmSync(dbFile, { force: true });
rmSync(dbFile + '.wal', { force: true });
const inst = await DuckDBInstance.create(dbFile);
const con = await inst.connect();
const t0 = process.hrtime.bigint();
for (const stmt of sql.split(';').map((s) => s.trim()).filter(Boolean)) await con.run(stmt);
const t1 = process.hrtime.bigint();
con.closeSync();
inst.closeSync();
console.log(`seconds ${(Number(t1 - t0) / 1e9).toFixed(3)}`);
