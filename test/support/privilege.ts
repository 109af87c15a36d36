// Tests that need root (raw ICMP sockets, setcap, running as another user) skip with a printed reason
// when not root, and fail instead when WANWATCH_REQUIRE_LAB=1 (CI), so a missing privilege can never
// pass quietly there.
//
//   const root = requireRoot('ICMP probes open raw sockets');
//   it.runIf(root)('…', …);
export function requireRoot(why: string): boolean {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot) return true;
  const reason = `needs root: ${why} (running as uid ${process.getuid?.() ?? 'unknown'})`;
  if (process.env.WANWATCH_REQUIRE_LAB === '1') {
    throw new Error(`${reason}; WANWATCH_REQUIRE_LAB=1 forbids skipping: run the tests as root`);
  }
  process.stderr.write(`skipping: ${reason}\n`);
  return false;
}
