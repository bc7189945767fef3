/* ds01d-main.c - ds01d's main.c with its main() renamed ds01d_main(), so that
 * fuzz-control.c can run the whole daemon on a thread of the fuzzer's own
 * process (libFuzzer then sees the coverage of the daemon's code). Nothing
 * else changes: the daemon's sources are compiled as they are. */
int ds01d_main(int argc, char **argv);
#define main ds01d_main
#include "daemon/main.c" // NOLINT(bugprone-suspicious-include): the point of this file
