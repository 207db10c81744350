export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `condition` holds, or throws once `timeoutMs` has passed. */
export async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Condition not met within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/**
 * Asks `probe` every `intervalMs` until `done` holds for its answer or `timeoutMs` passes, and
 * returns the last answer. For effects that travel between processes; it asserts nothing
 * about timing.
 */
export async function poll<T>(
  probe: () => Promise<T>,
  done: (answer: T) => boolean,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let answer = await probe();
  while (!done(answer) && Date.now() < deadline) {
    await sleep(intervalMs);
    answer = await probe();
  }

  return answer;
}
