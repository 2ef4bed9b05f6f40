// Moves most of SQLite's checkpoint work off the event loop. The connection that commits runs a
// checkpoint whenever the WAL passes 1000 pages: it copies pages into the database file, stalling
// every policy answer meanwhile. Here a worker thread with its own connection runs PASSIVE
// checkpoints on a timer (they never block the writer), so by the time the committing connection's
// own checkpoint triggers, little is left to copy (sqlite-store.ts explains why that one stays).

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// Plain CommonJS evaluated in the worker: it works the same from the TypeScript sources, the tests
// and the bundle, which a worker *file* would not (it would need its own loader and bundle entry).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
const checkpoint = (mode) => {
  try { db.pragma('wal_checkpoint(' + mode + ')'); }
  catch (error) { parentPort.postMessage({ error: String(error && error.message || error) }); }
};
const timer = setInterval(() => checkpoint('PASSIVE'), workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  checkpoint('PASSIVE');
  db.close();
  parentPort.postMessage({ stopped: true });
});
parentPort.postMessage({ ready: true });
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

export interface CheckpointerOptions {
  file: string;
  intervalMs?: number;
  /** Called when the worker cannot run (diagnostics: checkpoints then all happen in commits). */
  onFailure: (message: string) => void;
}

/** Resolves once the worker has opened the database, or rejects if it cannot. */
export function startCheckpointer({ file, intervalMs = 1000, onFailure }: CheckpointerOptions): Promise<Checkpointer> {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, intervalMs, driver } });
  // A checkpointer must never keep the process alive on its own.
  worker.unref();
  let stopping = false;
  let exited = false;
  return new Promise((resolve, reject) => {
    let started = false;
    worker.on('message', (message: { ready?: boolean; error?: string; stopped?: boolean }) => {
      if (message.ready && !started) {
        started = true;
        resolve({
          stop: () =>
            new Promise<void>((done) => {
              if (stopping || exited) return done();
              stopping = true;
              worker.once('message', () => void worker.terminate().then(() => done()));
              worker.once('exit', () => done());
              worker.postMessage('stop');
            }),
        });
      } else if (message.error) {
        onFailure(message.error);
      }
    });
    worker.on('error', (error) => {
      if (!started) reject(error);
      else onFailure(error.message);
    });
    worker.on('exit', (code) => {
      exited = true;
      if (!started) reject(new Error(`the checkpoint worker exited with code ${code}`));
      else if (!stopping) onFailure(`the checkpoint worker exited with code ${code}`);
    });
  });
}
