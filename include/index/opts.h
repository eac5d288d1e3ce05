/* opts.h -- mkv-index's command line. */
#ifndef MKV_OPTS_H
#define MKV_OPTS_H

#include <stdint.h>

#include "mkv.h"
#include "placement.h"

#define OPTS_MAX_VOLUMES PLACEMENT_MAX_VOLUMES

/* What mkv-index was asked to do: the first argument may name it. */
enum opts_command { OPTS_SERVE = 0, OPTS_REBUILD, OPTS_REBALANCE, OPTS_RECONCILE };

struct opts {
    enum opts_command command; /* "server" (default), "rebuild", "rebalance",
                                  "reconcile" */
    int port;                   /* --port, default 3000 */
    const char *index;          /* --index, default /tmp/indexdb */
    int verbose;                /* -v: one log line per request */
    int threads;                /* --threads: event loops, default one per CPU */
    int workers_given;          /* --workers seen: obsolete, ignored */
    long max_connections;       /* --max-connections: clients at once, 16384 */
    long client_timeout_s;      /* --client-timeout (s): an idle or stalled
                                   client is closed, default 30 */
    long connect_timeout_ms;    /* --connect-timeout (ms), default 1000 */
    long voltimeout_ms;         /* --voltimeout (ms): a probe, DELETE or
                                   listing in all, default 1000 */
    long stall_timeout_ms;      /* --stall-timeout (ms): longest a volume may
                                   stall a PUT or copy, default 5000 */
    int replicas;               /* --replicas: copies of each value, default 1 */
    int subvolumes;             /* --subvolumes: /svXX dirs per volume, default 1 */
    int md5sum;                 /* --md5sum[=true|false], default on */
    int probe;                  /* --probe: HEAD a replica before redirecting */
    int protect;                /* --protect: DELETE needs an UNLINK first */
    int sync;                   /* --sync: fsync the index before answering */
    int64_t max_size;           /* --max-size: largest value, 0 = no limit */
    uint64_t min_free;          /* --min-free: room kept on the index's
                                   filesystem, 0 = no check (64 MiB) */
    const char *fallback;       /* --fallback host:port for absent keys */
    const char *access_log;     /* --access-log FILE, "-" for stderr */
    const char *listen;         /* --listen ADDR: the one address to serve on */
    int s3_port;                /* --s3-port N: the S3 endpoint, 0 = off */
    const char *s3_credentials; /* --s3-credentials FILE (needed with --s3-port) */
    long s3_upload_expiry_s;    /* --s3-upload-expiry S, default 86400 */
    int dry_run;                /* reconcile --dry-run: report, change nothing */
    int verify;                 /* reconcile --verify: check every md5 */
    long grace_s;               /* reconcile --grace S: an unnamed file this
                                   young is left alone, default 3600 */
    int help, version;          /* --help / --version seen */
    int nvolumes;
    char *volumes[OPTS_MAX_VOLUMES]; /* point into argv or into buf */
    char buf[4096];             /* room for volumes split from "a,b,c" */
};

/* opts_parse -- fill o from argv. Volumes may be given as separate
 * arguments or comma-separated (minikeyvalue style); each must be a
 * "host:port" of at most PLACEMENT_VOLUME_MAX bytes and appear once, and
 * there must be at least --replicas of them. Returns MKV_OK, or
 * MKV_ERR with err saying what is wrong (the caller prints usage and
 * exits 2). With --help or --version, returns MKV_OK and sets the flag
 * without checking the volumes. */
int opts_parse(struct opts *o, int argc, char **argv, char *err);

/* opts_usage -- the usage text. */
const char *opts_usage(void);

#endif
