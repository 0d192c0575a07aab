import { BreakerRegistry } from '../../src/core/registry';
import { originBreakersOf } from '../../src/http/origin-breakers';

describe('OriginBreakers: the breaker of the origin a URL goes to', () => {
  it('finds, for any spelling of a URL, the breaker of the origin URL parsing gives it', () => {
    const origins = originBreakersOf(new BreakerRegistry());
    const urls = [
      'http://Example.COM:80/a',
      'http://example.com',
      'http://example.com?q=1',
      'http://example.com#top',
      'http://user:secret@example.com/a',
      'http://example.com\\evil.test/a',
      'http://example.com\\@evil.test/a',
      'http://evil.test@example.com/a',
      'https://example.com:8443/a',
      'https://example.com:443/a',
      'http://[::1]:8080/a',
    ];
    // Twice: the second lookup of each comes from what the first one learnt.
    for (const url of [...urls, ...urls]) {
      expect(origins.forUrl(url)?.name).toBe(`http:${new URL(url).origin}`);
    }
    expect(origins.forUrl('ftp://example.com/a')).toBeUndefined();
    expect(origins.forUrl('http://exa mple.com/a')).toBeUndefined();
  });

  it('looks a URL up anew when it only starts like the one before (the last origin is remembered)', () => {
    const origins = originBreakersOf(new BreakerRegistry());
    // Each URL right after one whose authority its own begins with.
    const urls = [
      'http://example.com/a',
      'http://example.com.evil.test/a',
      'http://example.com',
      'http://example.com:8080/',
      'http://example.com:80/a',
      'http://example.com:8080/a',
      'http://example.com/b',
      'http://example.com@evil.test/',
      'http://example.com?q=1',
      'https://example.com/a',
      'https://example.com\\@evil.test/a',
    ];
    for (const url of urls) expect(origins.forUrl(url)?.name).toBe(`http:${new URL(url).origin}`);
  });

  it('keeps least recently used order when the same origin is asked for again and again', () => {
    const registry = new BreakerRegistry();
    const origins = originBreakersOf(registry, { maxOrigins: 2 });
    origins.forUrl('http://a.test/1');
    origins.forUrl('http://a.test/2');
    origins.forUrl('http://b.test/');
    origins.forUrl('http://a.test/3');
    origins.forUrl('http://a.test/4');

    origins.forUrl('http://c.test/');

    expect(registry.all().map((b) => b.name)).toEqual(['http:http://a.test', 'http:http://c.test']);
    origins.forUrl('http://c.test/');
    origins.forUrl('http://b.test/');
    expect(registry.all().map((b) => b.name)).toEqual(['http:http://c.test', 'http:http://b.test']);
  });

  it('never drops a configured origin: the others share what maxOrigins leaves', () => {
    const registry = new BreakerRegistry();
    const origins = originBreakersOf(registry, {
      maxOrigins: 3,
      origins: { 'http://a.test': { failureThreshold: 9 }, 'http://b.test': {} },
    });
    const configured = origins.forUrl('http://a.test/1');

    for (const other of ['c', 'd', 'e', 'f']) origins.forUrl(`http://${other}.test/`);

    expect(registry.all().map((b) => b.name)).toEqual([
      'http:http://a.test',
      'http:http://b.test',
      'http:http://f.test',
    ]);
    expect(origins.forUrl('http://a.test/2')).toBe(configured);
    expect(configured?.options.failureThreshold).toBe(9);
  });
});

describe('OriginBreakers: never judges one origin by another’s breaker', () => {
  // Spellings a URL parser reads past: more slashes or backslashes before the host, tabs and
  // newlines it strips, userinfo, upper case. Each URL must get the breaker of its own origin.
  const spellings: Array<(host: string) => string> = [
    (host) => `http:///${host}/a`,
    (host) => `https:///${host}/a`,
    (host) => `http:////${host}/a`,
    (host) => `http://\\${host}/a`,
    (host) => `http://\\/${host}/a`,
    (host) => `http:/\\${host}/a`,
    (host) => `http://\t/${host}/a`,
    (host) => `http://\n/${host}?q=1`,
    (host) => `http://\r\n/${host}#top`,
    (host) => `http://${host}\t/a`,
    (host) => `http://${host} `,
    (host) => `HTTP:///${host}/a`,
    (host) => `http://user@${host}/a`,
    (host) => `http://${host.toUpperCase()}/a`,
  ];
  const hosts = ['a.test', 'b.test:8080', '127.0.0.1:1', 'a.test:8080'];

  it.each(spellings.map((spell) => [spell('<host>'), spell]))(
    'finds the breaker of each host written as %j',
    (_, spell) => {
      const origins = originBreakersOf(new BreakerRegistry());
      // Twice over: the second round comes from what the first one learnt.
      for (const url of [...hosts, ...hosts].map(spell)) {
        expect(origins.forUrl(url)?.name).toBe(`http:${new URL(url).origin}`);
      }
    },
  );

  it('finds the right breaker with every spelling mixed, each URL right after another origin’s', () => {
    const origins = originBreakersOf(new BreakerRegistry());
    const urls = hosts.flatMap((host) => spellings.map((spell) => spell(host)));
    for (const url of [...urls, ...urls.reverse()]) {
      expect(origins.forUrl(url)?.name).toBe(`http:${new URL(url).origin}`);
    }
  });
});
