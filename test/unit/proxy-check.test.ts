import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createProxyCheck } from '../../src/http/proxy-check.js';

describe('proxy check', () => {
  it('warns once, however many untrusted forwarded requests arrive', () => {
    const lines: { level: number; msg: string }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
        done();
      },
    });
    const check = createProxyCheck(pino({ level: 'info' }, sink));
    for (let i = 0; i < 5; i++)
      check.observe({ forwardedFor: '198.51.100.1', peer: '10.0.0.2', trusted: false });
    check.observe({ forwardedFor: undefined, peer: '10.0.0.3', trusted: false });
    check.observe({ forwardedFor: '198.51.100.1', peer: '10.0.0.4', trusted: true });
    expect(lines.filter((l) => l.level === 40)).toHaveLength(1);
    expect(lines[0]?.msg).toMatch(/TRUST_PROXY/);
    expect(check.status()).toMatchObject({ untrustedForwardedFor: true, requests: 5 });
  });
});
