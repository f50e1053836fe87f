import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { absolutePaths } from '../../src/cli/forward';

// A command sent to the running server over the admin channel runs in the server's working directory: every
// path the operator typed is made absolute first, URLs and other values are left as typed.
describe('paths in a forwarded command', () => {
  it('makes path flags absolute, in both spellings', () => {
    expect(absolutePaths(['review', '--out', 'rev', '--policies=pol', '--since', '30d'])).toEqual(['review', '--out', resolve('rev'), `--policies=${resolve('pol')}`, '--since', '30d']);
    expect(absolutePaths(['matrix', '--config', 'c.yaml', '--out', '/abs/m.csv'])).toEqual(['matrix', '--config', resolve('c.yaml'), '--out', '/abs/m.csv']);
    expect(absolutePaths(['audit', 'anchor', '--file', 'a.jsonl'])).toEqual(['audit', 'anchor', '--file', resolve('a.jsonl')]);
    expect(absolutePaths(['policy', 'rollout', 'promote', '--candidate', 'cand', '--checkpoint', 'alpha'])).toEqual(['policy', 'rollout', 'promote', '--candidate', resolve('cand'), '--checkpoint', 'alpha']);
  });

  it('leaves URLs, stdin and flag values that are not paths alone', () => {
    expect(absolutePaths(['audit', 'verify', '--anchors', 'h.jsonl', '--keys', 'https://cs.example/.well-known/keys'])).toEqual(['audit', 'verify', '--anchors', resolve('h.jsonl'), '--keys', 'https://cs.example/.well-known/keys']);
    expect(absolutePaths(['audit', 'export', '--since', '1h', '--out', '-'])).toEqual(['audit', 'export', '--since', '1h', '--out', '-']);
    expect(absolutePaths(['kill', 'bot', '--reason', 'out'])).toEqual(['kill', 'bot', '--reason', 'out']);
  });

  it('makes the positional bundle of policy replay and the file of config check absolute', () => {
    expect(absolutePaths(['policy', 'replay', 'cand', '--since', '1d'])).toEqual(['policy', 'replay', resolve('cand'), '--since', '1d']);
    expect(absolutePaths(['config', 'check', 'next.yaml'])).toEqual(['config', 'check', resolve('next.yaml')]);
    expect(absolutePaths(['policy', 'lint', 'dir'])).toEqual(['policy', 'lint', 'dir']);
  });
});
