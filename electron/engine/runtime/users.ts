// Resolves Docker's User field ("name", "uid", "name:group", "uid:gid") against the
// image's /etc/passwd and /etc/group, as Docker does before the container starts.
import { invalid } from '../errors.ts';

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

/** The text of the container's /etc/passwd and /etc/group ('' where there is none). */
export interface UserFiles {
  passwd: string;
  group: string;
}

export function parsePasswd(text: string) {
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
    const [name, , uid, gid, , home] = l.split(':');
    return { name, uid: Number(uid), gid: Number(gid), home: home || '/' };
  }).filter((u) => Number.isInteger(u.uid));
}

export function parseGroup(text: string) {
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
    const [name, , gid, members = ''] = l.split(':');
    return { name, gid: Number(gid), members: members.split(',').filter(Boolean) };
  }).filter((g) => Number.isInteger(g.gid));
}

export function resolveUser(files: UserFiles, spec: string | undefined, groupAdd: string[] = []): ResolvedUser {
  const passwd = parsePasswd(files.passwd);
  const groups = parseGroup(files.group);
  const [userPart = '', groupPart] = (spec || 'root').split(':');
  const isNum = (s: string) => /^\d+$/.test(s);
  let entry = passwd.find((u) => u.name === userPart);
  if (!entry && isNum(userPart)) entry = passwd.find((u) => u.uid === Number(userPart));
  if (!entry && !isNum(userPart)) {
    if (userPart === 'root') entry = { name: 'root', uid: 0, gid: 0, home: '/root' };
    else throw invalid(`unable to find user ${userPart}: no matching entries in passwd file`);
  }
  const uid = entry ? entry.uid : Number(userPart);
  let gid = entry ? entry.gid : 0;
  if (groupPart !== undefined) {
    const g = groups.find((x) => x.name === groupPart) ?? (isNum(groupPart) ? { gid: Number(groupPart) } : undefined);
    if (!g) throw invalid(`unable to find group ${groupPart}: no matching entries in group file`);
    gid = g.gid;
  }
  const name = entry?.name;
  const additional = groupPart === undefined && name ? groups.filter((g) => g.members.includes(name) && g.gid !== gid).map((g) => g.gid) : [];
  for (const g of groupAdd) {
    const found = groups.find((x) => x.name === g) ?? (isNum(g) ? { gid: Number(g) } : undefined);
    if (!found) throw invalid(`Unable to find group ${g}: no matching entries in group file`);
    additional.push(found.gid);
  }
  return { uid, gid, additionalGids: [...new Set(additional)], home: entry?.home ?? '/' };
}
