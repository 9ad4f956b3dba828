/* A connected loopback TCP pair for the non-tailnet microbenchmarks
 * (127.0.0.1 is never tunnelled): fds[0] the connecting end, fds[1] the
 * accepted one. Defined in tsbench.c; exits 1 with a message on failure. */
#ifndef TSRUN_BENCH_TCP_PAIR_H
#define TSRUN_BENCH_TCP_PAIR_H

void tcp_pair(int fds[2]);

#endif
