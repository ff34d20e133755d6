import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isJsonText } from '../../../daemon/serving/router/json-syntax.js';

const parses = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};
const check = (text: string) => assert.equal(isJsonText(text), parses(text), JSON.stringify(text));

describe('JSON syntax check', () => {
  it('agrees with JSON.parse on hand-picked texts', () => {
    for (const t of [
      '{}',
      '[]',
      ' {"a":1} ',
      '{"a":[1,2,{"b":null}],"c":"x\\u00e9\\n"}',
      '"s"',
      '0',
      '-0.5e+10',
      '1E5',
      'true',
      'false',
      'null',
      '',
      ' ',
      '{',
      '}',
      '[1,]',
      '{"a":1,}',
      '{"a"}',
      '{a:1}',
      "{'a':1}",
      '01',
      '1.',
      '.5',
      '-',
      '+1',
      '1e',
      'tru',
      'nul',
      'True',
      '"\\x"',
      '"\\u12g4"',
      '"a\tb"',
      '"\u00ff"',
      '[1 2]',
      '{"a":1 "b":2}',
      '1 2',
      '[[[[[[]]]]]]',
      '[[[',
      '\ufeff{}',
      'NaN',
      'Infinity',
      '{"a":1}x',
      '{"a":-01}',
      '[-]',
      '["\\/"]',
      '{"":""}',
    ])
      check(t);
    check('['.repeat(500) + ']'.repeat(500));
  });

  it('agrees with JSON.parse on mutated texts', () => {
    const seeds = ['{"city":"london","week":12,"features":[1.5,-2e3,true,null,{"x":"y\\"z"}]}', '[{"a":[]},{"b":{}},"\\u0041",0.0]'];
    const alphabet = '{}[]",:\\ -+.0123456789eEtrufalsn\tx';
    for (let n = 0; n < 20_000; n++) {
      const chars = seeds[n % seeds.length]!.split('');
      for (let k = 0; k < 1 + (n % 3); k++) {
        const at = Math.floor(Math.random() * chars.length);
        const op = Math.random();
        const c = alphabet[Math.floor(Math.random() * alphabet.length)]!;
        if (op < 0.4) chars[at] = c;
        else if (op < 0.7) chars.splice(at, 1);
        else chars.splice(at, 0, c);
      }
      check(chars.join(''));
    }
  });
});
