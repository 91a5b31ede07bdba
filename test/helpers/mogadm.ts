/** Runs the compiled `mogadm` as operators do: a real process, its output and exit code. */
import { spawn } from 'node:child_process';
import path from 'node:path';

export const MOGADM = path.resolve(__dirname, '..', '..', 'src', 'cli', 'mogadm.js');

export interface MogadmResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function mogadm(args: string[], env: NodeJS.ProcessEnv = {}): Promise<MogadmResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MOGADM, ...args], {
      env: { ...process.env, MOGFS_LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
