/* The shim's per-call cost on non-tailnet sockets, measured inside one
 * process (see hookcost.c). */
#ifndef TSRUN_BENCH_HOOKCOST_H
#define TSRUN_BENCH_HOOKCOST_H

/* tsbench worker hookcost rw|poll CHUNKS PER: CHUNKS pairs of PER-call
 * chunks, each pair once through the symbols the program resolves (the
 * shim's wrappers when it is preloaded) and once through libc's own, in
 * alternating order. Prints one line: the median, 25th and 75th percentile
 * of the pairs' time ratios (wrapped ÷ libc), e.g. "1.0041 0.9987 1.0093".
 * Returns 0, or exits 1 with a message on a failed call. */
int worker_hookcost(const char *loop, int chunks, int per);

#endif
