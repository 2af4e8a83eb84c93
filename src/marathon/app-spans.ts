/**
 * Where the apps of an apps document lie in its bytes (UTF-8), found without parsing it, so
 * that the document can be decoded and parsed a stretch at a time and what mlb-ts doesn't read
 * dropped while it is young. Bytes, not a string: a 16 MB document never becomes a 16 MB
 * string. (In UTF-8 no byte of a multi-byte character is ASCII, so quotes and brackets are exact.)
 *
 * Two ways, both only for the layout Marathon sends, `{"apps": [ {…}, {…} ]}` with JSON
 * whitespace anywhere: appChunks guesses cuts between apps with a native search (fast; a wrong
 * guess shows as a stretch that doesn't parse), appSpans follows strings and brackets byte by
 * byte to find each app exactly. Either gives undefined for any other layout, and the caller
 * parses the whole text instead, which is also what reports a broken document exactly.
 * JSON.parse of each stretch checks everything the cuts don't.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** JSON whitespace: space, line feed, carriage return, tab. */
function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(text: Uint8Array, i: number): number {
  while (isSpace(text[i])) i++;
  return i;
}

/** Index of the quote that closes the string opened at `open`, or -1. */
function stringEnd(text: Buffer, open: number): number {
  for (let q = text.indexOf(QUOTE, open + 1); q >= 0; q = text.indexOf(QUOTE, q + 1)) {
    let b = q - 1;
    while (text[b] === BACKSLASH) b--;
    if ((q - 1 - b) % 2 === 0) return q;
  }
  return -1;
}

/** Index just after the bracket that closes the object opened at `open`, or -1. */
function valueEnd(text: Buffer, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === QUOTE) {
      i = stringEnd(text, i);
      if (i < 0) return -1;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
    } else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --depth === 0) {
      return i + 1;
    }
  }
  return -1;
}

const APPS_KEY = Buffer.from('"apps"');

/** Index just after `{"apps":[` (JSON whitespace allowed), or -1. */
function appsStart(text: Buffer): number {
  let i = skipSpace(text, 0);
  if (text[i] !== OPEN_BRACE) return -1;
  i = skipSpace(text, i + 1);
  if (i + APPS_KEY.length > text.length || text.compare(APPS_KEY, 0, APPS_KEY.length, i, i + APPS_KEY.length) !== 0) return -1;
  i = skipSpace(text, i + APPS_KEY.length);
  if (text[i] !== COLON) return -1;
  i = skipSpace(text, i + 1);
  return text[i] === OPEN_BRACKET ? i + 1 : -1;
}

/** Index of the `]` of a text that ends in `]}` (JSON whitespace allowed), or -1. */
function appsEnd(text: Buffer): number {
  let i = text.length - 1;
  while (i >= 0 && isSpace(text[i])) i--;
  if (text[i] !== CLOSE_BRACE) return -1;
  i--;
  while (i >= 0 && isSpace(text[i])) i--;
  return text[i] === CLOSE_BRACKET ? i : -1;
}

/** Where Marathon's compact output starts an app: `},{"id":"/` (app ids start with a slash). */
const APP_BOUNDARY = Buffer.from('},{"id":"/');
const CHUNK_BYTES = 256 * 1024;

/**
 * The text of `apps` cut into stretches of about CHUNK_BYTES, each a comma-separated list of
 * apps: [start, end, start, end, …]. The cuts are guessed, not found by reading every byte:
 * the first APP_BOUNDARY after each CHUNK_BYTES. That byte sequence can't occur inside a JSON
 * string (its quote after `{` would end the string), so it is always a boundary between two
 * objects, though maybe two inside an app (tasks whose ids start with a slash): then a
 * stretch has unbalanced brackets, doesn't parse, and the caller falls back to appSpans.
 * undefined if the text isn't `{"apps":[…]}`.
 */
export function appChunks(text: Buffer): number[] | undefined {
  const start = appsStart(text);
  const end = appsEnd(text);
  if (start < 0 || end < start) return undefined;
  if (skipSpace(text, start) === end) return [];
  const chunks: number[] = [start];
  for (let at = start + CHUNK_BYTES; at < end; at += CHUNK_BYTES) {
    const cut = text.indexOf(APP_BOUNDARY, at);
    if (cut < 0 || cut >= end) break;
    // The stretch ends after the `}`; the next starts after the comma.
    chunks.push(cut + 1, cut + 2);
    at = cut;
  }
  chunks.push(end);
  return chunks;
}

/** [start, end, start, end, …] of each element of `apps`, or undefined (see above). */
export function appSpans(text: Buffer): number[] | undefined {
  const first = appsStart(text);
  if (first < 0) return undefined;
  let i = skipSpace(text, first);
  const spans: number[] = [];
  if (text[i] === CLOSE_BRACKET) {
    i++;
  } else {
    for (;;) {
      if (text[i] !== OPEN_BRACE) return undefined;
      const end = valueEnd(text, i);
      if (end < 0) return undefined;
      spans.push(i, end);
      i = skipSpace(text, end);
      const c = text[i];
      if (c === CLOSE_BRACKET) {
        i++;
        break;
      }
      if (c !== COMMA) return undefined;
      i = skipSpace(text, i + 1);
    }
  }
  i = skipSpace(text, i);
  if (text[i] !== CLOSE_BRACE) return undefined;
  return skipSpace(text, i + 1) === text.length ? spans : undefined;
}
