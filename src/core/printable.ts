/**
 * Characters that must never reach a terminal or a log line as they are: C0 and C1 control
 * characters and DEL (escape sequences, carriage returns and newlines that forge lines), the
 * line and paragraph separators, bidirectional marks and overrides (text that reads differently
 * from what it is), and lone surrogates (not valid UTF-8).
 */
const UNPRINTABLE =
  '[\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]' +
  '|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]';

const UNPRINTABLE_CHARACTER = new RegExp(UNPRINTABLE);
const UNPRINTABLE_CHARACTERS = new RegExp(UNPRINTABLE, 'g');
/** The same, and the backslash, which {@link escapeReversibly} escapes too. */
const UNPRINTABLE_OR_BACKSLASH = new RegExp(`\\\\|${UNPRINTABLE}`, 'g');

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\\': '\\\\',
};
/** `n` -> newline, …: the letter after the backslash of each short escape, and what it stands for. */
const ESCAPED_SHORT: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(SHORT_ESCAPES).map(([character, escape]) => [escape[1], character]),
);

function unicodeEscape(character: string): string {
  return `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

function escapeOne(character: string): string {
  return SHORT_ESCAPES[character] ?? unicodeEscape(character);
}

/** Whether `text` holds a character {@link escapeUnprintable} would escape. */
export function hasUnprintable(text: string): boolean {
  return UNPRINTABLE_CHARACTER.test(text);
}

/**
 * `text` safe to print: each unprintable character becomes an escape (`\n`, `\t`, `\r`,
 * `\u001b`, …), everything else stays as it is. For display only: a backslash in `text` stays
 * one, so two texts may print alike.
 */
export function escapeUnprintable(text: string): string {
  return text.replace(UNPRINTABLE_CHARACTERS, escapeOne);
}

/**
 * `text` safe to print, and one-to-one: as {@link escapeUnprintable}, and a backslash becomes
 * `\\`, so {@link unescapeReversibly} gives `text` back.
 */
export function escapeReversibly(text: string): string {
  return text.replace(UNPRINTABLE_OR_BACKSLASH, escapeOne);
}

/**
 * JSON text (as `JSON.stringify` writes it) safe to print: it leaves DEL, C1 controls, line
 * separators and bidirectional marks raw inside strings, and they become `\u` escapes, which
 * JSON reads back as the same characters. Its own newlines (indentation) stay.
 */
export function escapeUnprintableJson(json: string): string {
  return json.replace(UNPRINTABLE_CHARACTERS, (character) =>
    character === '\n' ? character : unicodeEscape(character),
  );
}

/** The inverse of {@link escapeReversibly}; undefined when `escaped` is not one of its results. */
export function unescapeReversibly(escaped: string): string | undefined {
  let out = '';
  for (let i = 0; i < escaped.length; i++) {
    const character = escaped[i];
    if (character !== '\\') {
      out += character;
      continue;
    }
    const next = escaped[++i];
    const short = ESCAPED_SHORT[next];
    if (short !== undefined) {
      out += short;
      continue;
    }
    const hex = escaped.slice(i + 1, i + 5);
    if (next !== 'u' || !/^[0-9a-f]{4}$/.test(hex)) return undefined;
    out += String.fromCharCode(parseInt(hex, 16));
    i += 4;
  }
  return escapeReversibly(out) === escaped ? out : undefined;
}
