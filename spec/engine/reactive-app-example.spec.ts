import { expect } from 'chai';
import { once } from 'node:events';
import { startExample } from '../support/run-example.js';

interface Status {
  readonly processed: number;
  readonly failed: number;
  readonly uptimeSeconds: number;
}

describe('examples/reactive-app.ts', () => {
  it('pushes a live status over server-sent events while orders flow, then stops gracefully', async function () {
    this.timeout(60_000);
    const child = startExample('reactive-app.ts', [], {
      env: { ...process.env, PORT: '0', DURATION_MS: '3000' },
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = once(child, 'close') as Promise<[number | null]>;
    try {
      while (!/status page on (http:\S+)/.test(stdout)) {
        await Promise.race([once(child.stdout, 'data'), exited]);
        if (child.exitCode !== null) throw new Error(`exited early: ${stdout}`);
      }
      const url = /status page on (http:\S+)/.exec(stdout)?.[1] ?? '';
      const page = await (await fetch(url)).text();
      expect(page).to.include("new EventSource('/events')");

      const events = await fetch(`${url}/events`);
      expect(events.headers.get('content-type')).to.equal('text/event-stream');
      const reader = events.body?.getReader() as
        ReadableStreamDefaultReader<Uint8Array> | undefined;
      const seen: Status[] = [];
      let buffer = '';
      while (seen.length < 3 && reader !== undefined) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += Buffer.from(value).toString();
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          seen.push(JSON.parse(buffer.slice(0, end).replace(/^data: /, '')) as Status);
          buffer = buffer.slice(end + 2);
        }
      }
      await reader?.cancel();
      expect(seen.length).to.equal(3);
      expect(seen.at(-1)?.processed, 'the counters move').to.be.greaterThan(
        seen[0]?.processed ?? 0,
      );

      const [code] = await exited;
      expect(code, stdout).to.equal(0);
      expect(stdout).to.match(/stopped gracefully: \{\n {2}processed: [1-9]\d*,/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
