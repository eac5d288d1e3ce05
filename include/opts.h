/* opts.h -- mkv-index's command line. */
#ifndef MKV_OPTS_H
#define MKV_OPTS_H

#include "mkv.h"

#define OPTS_MAX_VOLUMES 64

struct opts {
    int port;                   /* --port, default 3000 */
    const char *index;          /* --index, default /tmp/indexdb */
    int verbose;                /* -v: one log line per request */
    int threads;                /* --threads: HTTP event threads, default 2 */
    int workers;                /* --workers: most volume transfers at once */
    long connect_timeout_ms;    /* --connect-timeout (ms), default 1000 */
    long voltimeout_ms;         /* --voltimeout (ms): DELETE/HEAD total and
                                   the longest stall of a PUT, default 10000 */
    int help, version;          /* --help / --version seen */
    int nvolumes;
    char *volumes[OPTS_MAX_VOLUMES]; /* point into argv or into buf */
    char buf[4096];             /* room for volumes split from "a,b,c" */
};

/* opts_parse -- fill o from argv. Volumes may be given as separate
 * arguments or comma-separated (minikeyvalue style); each must be a
 * valid record volume ("host:port") and appear once. Returns MKV_OK, or
 * MKV_ERR with err saying what is wrong (the caller prints usage and
 * exits 2). With --help or --version, returns MKV_OK and sets the flag
 * without checking the volumes. */
int opts_parse(struct opts *o, int argc, char **argv, char *err);

/* opts_usage -- the usage text. */
const char *opts_usage(void);

#endif
