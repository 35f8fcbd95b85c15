// Benchmark-only preload (`node --expose-gc --import ./bench/gcHook.ts …`): on SIGUSR2 it forces a full garbage
// collection and prints one `BENCH_MEM {json}` line with memory and open-handle counts. Never loaded in production.
const gc = (globalThis as { gc?: () => void }).gc

process.on("SIGUSR2", () => {
  gc?.()
  gc?.()
  const memory = process.memoryUsage()
  const handles = process.getActiveResourcesInfo().length
  process.stdout.write(`BENCH_MEM ${JSON.stringify({ ...memory, handles, gc: gc !== undefined })}\n`)
})
