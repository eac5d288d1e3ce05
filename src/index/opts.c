/* opts.c -- parse and check mkv-index's arguments. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "opts.h"
#include "record.h"
#include "space.h"

const char *opts_usage(void) {
    return "usage: mkv-index [server] [--port 3000] [--index /tmp/indexdb] [-v]\n"
           "                 [--replicas N] [--subvolumes N] [--md5sum=BOOL]\n"
           "                 [--probe] [--fallback HOST:PORT] [--protect]\n"
           "                 [--sync] [--max-size BYTES] [--min-free BYTES]\n"
           "                 [--access-log FILE]\n"
           "                 [--threads N] [--max-connections N]\n"
           "                 [--client-timeout S] [--connect-timeout MS]\n"
           "                 [--voltimeout MS] [--stall-timeout MS] [--listen ADDR]\n"
           "                 [--s3-port N --s3-credentials FILE]\n"
           "                 [--s3-upload-expiry S] VOLUME...\n"
           "       mkv-index rebuild [--index PATH] [--replicas N]\n"
           "                 [--subvolumes N] VOLUME...\n"
           "       mkv-index rebalance [--index PATH] [--replicas N]\n"
           "                 [--subvolumes N] VOLUME...\n"
           "       mkv-index reconcile [--index PATH] [--dry-run] [--verify]\n"
           "                 [--grace SECONDS] VOLUME...\n"
           "  VOLUME is host:port of a volume server (mkv-volume); several\n"
           "  may also be given comma-separated.\n";
}

/* parse_long -- a decimal in [lo, hi], nothing else. */
static int parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    long v;
    if (*s < '0' || *s > '9') return MKV_ERR;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return MKV_ERR;
    *out = v;
    return MKV_OK;
}

/* parse_bytes -- a decimal number of bytes, optionally followed by K, M
 * or G (powers of 1024), at most 2^62. */
static int parse_bytes(const char *s, uint64_t *out) {
    char *end;
    unsigned long long v;
    unsigned shift = 0;
    if (*s < '0' || *s > '9') return MKV_ERR;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno) return MKV_ERR;
    if (*end == 'K' || *end == 'k') shift = 10;
    else if (*end == 'M' || *end == 'm') shift = 20;
    else if (*end == 'G' || *end == 'g') shift = 30;
    else if (*end != '\0') return MKV_ERR;
    if (shift && end[1] != '\0') return MKV_ERR;
    if (v > (1ULL << 62) >> shift) return MKV_ERR;
    *out = (uint64_t)v << shift;
    return MKV_OK;
}

/* volume_ok -- "host:port": a valid record volume with no '/', a host,
 * and a decimal port after the last ':'. */
static int volume_ok(const char *v) {
    const char *colon = strrchr(v, ':');
    long port;
    return record_volume_ok(v) && strlen(v) <= PLACEMENT_VOLUME_MAX &&
           strchr(v, '/') == NULL && colon != NULL &&
           colon != v && parse_long(colon + 1, 1, 65535, &port) == MKV_OK;
}

static int add_volume(struct opts *o, char *v, char *err) {
    if (!volume_ok(v)) {
        mkv_seterr(err, "bad volume '%s': expected host:port", v);
        return MKV_ERR;
    }
    for (int i = 0; i < o->nvolumes; i++) {
        if (strcmp(o->volumes[i], v) == 0) {
            mkv_seterr(err, "volume '%s' given twice", v);
            return MKV_ERR;
        }
    }
    if (o->nvolumes == OPTS_MAX_VOLUMES) {
        mkv_seterr(err, "at most %d volumes", OPTS_MAX_VOLUMES);
        return MKV_ERR;
    }
    o->volumes[o->nvolumes++] = v;
    return MKV_OK;
}

int opts_parse(struct opts *o, int argc, char **argv, char *err) {
    static const struct option longopts[] = {
        {"port", required_argument, NULL, 'p'},
        {"index", required_argument, NULL, 'i'},
        {"threads", required_argument, NULL, 't'},
        {"workers", required_argument, NULL, 'w'},
        {"max-connections", required_argument, NULL, 'C'},
        {"client-timeout", required_argument, NULL, 'K'},
        {"connect-timeout", required_argument, NULL, 'c'},
        {"voltimeout", required_argument, NULL, 'T'},
        {"stall-timeout", required_argument, NULL, 'L'},
        {"verbose", no_argument, NULL, 'v'},
        {"replicas", required_argument, NULL, 'r'},
        {"subvolumes", required_argument, NULL, 's'},
        {"md5sum", optional_argument, NULL, 'm'},
        {"probe", no_argument, NULL, 'P'},
        {"protect", no_argument, NULL, 'X'},
        {"sync", no_argument, NULL, 'S'},
        {"max-size", required_argument, NULL, 'M'},
        {"min-free", required_argument, NULL, 'F'},
        {"fallback", required_argument, NULL, 'f'},
        {"access-log", required_argument, NULL, 'A'},
        {"listen", required_argument, NULL, 'l'},
        {"s3-port", required_argument, NULL, '3'},
        {"s3-credentials", required_argument, NULL, 'k'},
        {"s3-upload-expiry", required_argument, NULL, 'E'},
        {"dry-run", no_argument, NULL, 'n'},
        {"verify", no_argument, NULL, 'Y'},
        {"grace", required_argument, NULL, 'G'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    size_t used = 0;
    long v;
    int c, li;

    memset(o, 0, sizeof(*o));
    o->port = 3000;
    o->index = "/tmp/indexdb";
    v = sysconf(_SC_NPROCESSORS_ONLN);
    o->threads = v < 1 ? 1 : v > 64 ? 64 : (int)v;
    o->max_connections = 16384;
    o->client_timeout_s = 30;
    o->connect_timeout_ms = 1000;
    o->voltimeout_ms = 1000;
    o->stall_timeout_ms = 5000;
    o->replicas = 1;
    o->subvolumes = 1;
    o->md5sum = 1;
    o->min_free = SPACE_MIN_FREE_DEFAULT;
    o->s3_upload_expiry_s = 86400;
    o->grace_s = 3600;

    if (argc > 1 && strcmp(argv[1], "rebuild") == 0) o->command = OPTS_REBUILD;
    if (argc > 1 && strcmp(argv[1], "rebalance") == 0) o->command = OPTS_REBALANCE;
    if (argc > 1 && strcmp(argv[1], "reconcile") == 0) o->command = OPTS_RECONCILE;
    if (argc > 1 && (o->command != OPTS_SERVE || strcmp(argv[1], "server") == 0)) {
        argv++; /* getopt sees the command as the program name */
        argc--;
    }
    optind = 0; /* 0, not 1: glibc then forgets any earlier argv */
    opterr = 0;
    while ((li = -1, c = getopt_long(argc, argv, "vh", longopts, &li)) != -1) {
        switch (c) {
        case 'p':
            if (parse_long(optarg, 1, 65535, &v)) goto bad;
            o->port = (int)v;
            break;
        case 'i':
            if (*optarg == '\0') goto bad;
            o->index = optarg;
            break;
        case 't':
            if (parse_long(optarg, 1, 64, &v)) goto bad;
            o->threads = (int)v;
            break;
        case 'w':
            if (parse_long(optarg, 1, 4096, &v)) goto bad;
            o->workers_given = 1;
            break;
        case 'C':
            if (parse_long(optarg, 16, 1000000, &v)) goto bad;
            o->max_connections = v;
            break;
        case 'K':
            if (parse_long(optarg, 1, 86400, &v)) goto bad;
            o->client_timeout_s = v;
            break;
        case 'c':
            if (parse_long(optarg, 1, 600000, &v)) goto bad;
            o->connect_timeout_ms = v;
            break;
        case 'T':
            if (parse_long(optarg, 1, 3600000, &v)) goto bad;
            o->voltimeout_ms = v;
            break;
        case 'L':
            if (parse_long(optarg, 1000, 3600000, &v)) goto bad;
            o->stall_timeout_ms = v;
            break;
        case 'r':
            if (parse_long(optarg, 1, RECORD_MAX_VOLUMES, &v)) goto bad;
            o->replicas = (int)v;
            break;
        case 's':
            if (parse_long(optarg, 1, 256, &v)) goto bad;
            o->subvolumes = (int)v;
            break;
        case 'm':
            if (optarg == NULL || strcmp(optarg, "true") == 0) o->md5sum = 1;
            else if (strcmp(optarg, "false") == 0) o->md5sum = 0;
            else goto bad;
            break;
        case 'P': o->probe = 1; break;
        case 'X': o->protect = 1; break;
        case 'S': o->sync = 1; break;
        case 'M':
            if (parse_long(optarg, 1, LONG_MAX, &v)) goto bad;
            o->max_size = v;
            break;
        case 'F':
            if (parse_bytes(optarg, &o->min_free)) goto bad;
            break;
        case 'f':
            if (!volume_ok(optarg)) goto bad;
            o->fallback = optarg;
            break;
        case 'A':
            if (*optarg == '\0') goto bad;
            o->access_log = optarg;
            break;
        case 'l':
            if (*optarg == '\0') goto bad;
            o->listen = optarg;
            break;
        case '3':
            if (parse_long(optarg, 1, 65535, &v)) goto bad;
            o->s3_port = (int)v;
            break;
        case 'k':
            if (*optarg == '\0') goto bad;
            o->s3_credentials = optarg;
            break;
        case 'E':
            if (parse_long(optarg, 1, 365L * 86400, &v)) goto bad;
            o->s3_upload_expiry_s = v;
            break;
        case 'n':
        case 'Y':
        case 'G':
            if (o->command != OPTS_RECONCILE) {
                mkv_seterr(err, "--%s is an option of reconcile", longopts[li].name);
                return MKV_ERR;
            }
            if (c == 'n') o->dry_run = 1;
            else if (c == 'Y') o->verify = 1;
            else if (parse_long(optarg, 0, 100L * 365 * 86400, &v)) goto bad;
            else o->grace_s = v;
            break;
        case 'v': o->verbose = 1; break;
        case 'h': o->help = 1; return MKV_OK;
        case 'V': o->version = 1; return MKV_OK;
        default:
            if (optopt)
                mkv_seterr(err, "unknown option '-%c' or missing value", optopt);
            else
                mkv_seterr(err, "unknown option '%s' or missing value",
                           argv[optind - 1]);
            return MKV_ERR;
        }
    }
    for (int i = optind; i < argc; i++) {
        size_t len = strlen(argv[i]);
        char *s, *tok, *save = NULL;
        if (used + len + 1 > sizeof(o->buf)) {
            mkv_seterr(err, "volume list too long");
            return MKV_ERR;
        }
        s = memcpy(o->buf + used, argv[i], len + 1);
        used += len + 1;
        if (*s == '\0' || *s == ',' || s[len - 1] == ',' || strstr(s, ",,")) {
            mkv_seterr(err, "bad volume list '%s'", argv[i]);
            return MKV_ERR;
        }
        for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
            if (add_volume(o, tok, err)) return MKV_ERR;
    }
    if ((o->s3_port != 0) != (o->s3_credentials != NULL)) {
        mkv_seterr(err, "--s3-port and --s3-credentials go together");
        return MKV_ERR;
    }
    if (o->s3_port != 0 && o->s3_port == o->port) {
        mkv_seterr(err, "--s3-port must differ from --port");
        return MKV_ERR;
    }
    if (o->nvolumes == 0) {
        mkv_seterr(err, "no volumes given");
        return MKV_ERR;
    }
    if (o->nvolumes < o->replicas) {
        mkv_seterr(err, "%d replicas need at least %d volumes, %d given",
                   o->replicas, o->replicas, o->nvolumes);
        return MKV_ERR;
    }
    return MKV_OK;
bad:
    mkv_seterr(err, "bad value '%s' for --%s", optarg, li >= 0 ? longopts[li].name : "?");
    return MKV_ERR;
}
