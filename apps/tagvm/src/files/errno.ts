/** What an errno means for a path tagvm reads or writes, in a few words (the errno itself when tagvm has no words for it). */
export function errnoMeaning(code: string, access: 'read' | 'write'): string {
  switch (code) {
    case 'ENOENT':
      return access === 'read' ? 'no such file' : 'no such directory'
    case 'EISDIR':
      return 'is a directory'
    case 'ENOTDIR':
      return 'a path component is not a directory'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'EROFS':
      return 'read-only file system'
    case 'ENOSPC':
      return 'no space left on device'
    case 'EDQUOT':
      return 'disk quota exceeded'
    case 'EEXIST':
      return 'already exists'
    case 'EIO':
      return 'input/output error'
    default:
      return code
  }
}

/** `ENOENT (no such directory)`: the errno and what it means. */
export function describeErrno(code: string, access: 'read' | 'write'): string {
  const meaning = errnoMeaning(code, access)
  return meaning === code ? code : `${code} (${meaning})`
}
