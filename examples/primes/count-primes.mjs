// A Colony task: count the primes in [from, from + width). Default export: async (input, ctx) => output.
function isPrime(n) {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

export default async function countPrimes({ from, width }, ctx) {
  let count = 0;
  for (let n = from; n < from + width; n++) {
    if (isPrime(n)) count++;
    if (ctx.signal.aborted) throw new Error('cancelled');
  }
  ctx.progress(1);
  return { from, to: from + width, primes: count };
}
