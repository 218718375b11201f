// .dockerignore as moby/patternmatcher reads it: `#` comments, trimmed lines, `!` exceptions,
// cleaned patterns without a leading `/`; the last matching line wins, a pattern also matches
// everything under a directory it matches, `*` and `?` stay within a segment and `**` spans any
// number of them.

function patternRegExp(p: string): RegExp {
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*' && p[i + 1] === '*') {
      i++;
      if (p[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else {
        re += '.*';
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < p.length) re += p[++i].replace(/[.+^${}()|[\]\\*?]/g, '\\$&');
    else if (c === '[') {
      const end = p.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${p.slice(i + 1, end).replace(/^!/, '^')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}(?:/.*)?$`);
}

function clean(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (!part || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

/** Whether a context path (relative, no leading /) is excluded. */
export function ignoreMatcher(text: string): (path: string) => boolean {
  const rules = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => {
    const exception = l.startsWith('!');
    const pat = clean((exception ? l.slice(1).trim() : l).replace(/^\/+/, ''));
    return { exception, re: patternRegExp(pat), empty: !pat };
  }).filter((r) => !r.empty);
  return (path: string) => {
    const p = clean(path);
    let ignored = false;
    for (const r of rules) if (r.re.test(p)) ignored = !r.exception;
    return ignored;
  };
}
