/**
 * Terminal width of a string, for yargs' help layout (the bundle aliases `string-width` to
 * this). The upstream package builds an Intl.Segmenter and Unicode-property regexps when it
 * loads: about 40 ms on every `mlb-ts` start, for help text that is plain ASCII.
 * Good enough for help text: escape sequences and zero-width marks count 0, East Asian
 * wide and fullwidth characters 2, everything else 1.
 */
import { eastAsianWidth } from 'get-east-asian-width';

// eslint-disable-next-line no-control-regex
const ANSI = /\u001B(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001B]*(?:\u0007|\u001B\\)|[@-Z\\-_])|\u009B[0-?]*[ -/]*[@-~]/g;

function isZeroWidth(cp: number): boolean {
  return (
    cp < 0x20 ||
    (cp >= 0x7f && cp <= 0x9f) ||
    (cp >= 0x300 && cp <= 0x36f) ||
    (cp >= 0x200b && cp <= 0x200f) ||
    (cp >= 0xfe00 && cp <= 0xfe0f) ||
    cp === 0xfeff
  );
}

export default function textWidth(text: string): number {
  if (typeof text !== 'string' || text.length === 0) return 0;
  const plain = text.includes('\u001B') || text.includes('\u009B') ? text.replace(ANSI, '') : text;
  let width = 0;
  for (const ch of plain) {
    const cp = ch.codePointAt(0) as number;
    if (cp >= 0x20 && cp < 0x7f) width += 1;
    else if (!isZeroWidth(cp)) width += eastAsianWidth(cp);
  }
  return width;
}
