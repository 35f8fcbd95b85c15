// Waits for a server's own teardown or bookkeeping, which runs after the client saw its last event and has no event
// of its own: checks the condition every 10 ms, bounded in time, and fails naming what it waited for.

export const waitUntil = async (
  condition: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 5000
): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await condition()) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}
