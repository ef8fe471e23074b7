/** The part of fs-native-extensions (a CommonJS package without types) that otsd uses. */
declare module 'fs-native-extensions' {
  /**
   * Asks for a lock on the whole file behind `fd` without waiting: exclusive unless `shared`. True
   * when granted, false when another open file holds a conflicting lock. On Linux an open file
   * description lock (fcntl F_OFD_SETLK), elsewhere flock(2): released when the file is closed.
   */
  export function tryLock(fd: number, options?: { shared?: boolean }): boolean;
}
