/* index_main.c -- mkv-index: parse arguments, wire the modules, serve. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "bio.h"
#include "http.h"
#include "maint.h"
#include "log.h"
#include "opts.h"
#include "s3.h"
#include "server.h"
#include "store.h"
#include "volclient.h"

int main(int argc, char **argv) {
    static struct opts o;
    char err[MKV_ERRLEN], state[2 * MKV_ERRLEN];
    static struct http_config hc;
    static char meta_path[4096];
    sigset_t sigs;
    int sig;

    log_setprog("mkv-index");
    if (opts_parse(&o, argc, argv, err) != MKV_OK) {
        fprintf(stderr, "mkv-index: %s\n%s", err, opts_usage());
        return 2;
    }
    if (o.help) {
        fputs(opts_usage(), stdout);
        return 0;
    }
    if (o.version) {
        puts("mkv-index " MKV_VERSION);
        return 0;
    }
    log_verbose = o.verbose;

    /* Signals are taken synchronously by this thread; every thread
     * started below inherits the mask. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Past RLIMIT_FSIZE a write must fail with EFBIG, which the store
     * recovers from, rather than kill the process. */
    signal(SIGXFSZ, SIG_IGN);

    if (o.command == OPTS_REBUILD) return rebuild_run(&o);
    if (o.command == OPTS_REBALANCE) return rebalance_run(&o);
    if (o.command == OPTS_RECONCILE) return reconcile_run(&o);

    if (o.access_log && log_access_open(o.access_log, err) != MKV_OK) {
        log_msg("%s", err);
        return 1;
    }
    if (o.workers_given)
        log_msg("--workers is obsolete and ignored: volume transfers run on the "
                "event loops (--threads)");
    /* --sync's fsyncs are the helper thread's (bio.c), not the store's. */
    if (store_open(o.index, STORE_SERVE, 0, err) != MKV_OK) {
        log_msg("%s", err);
        return 1;
    }
    if (store_reserve(o.min_free, err) != MKV_OK) {
        log_msg("%s", err);
        store_close();
        return 1;
    }
    if (vol_init(o.connect_timeout_ms, o.voltimeout_ms, o.stall_timeout_ms,
                 err) != MKV_OK ||
        bio_start(o.sync, err) != MKV_OK) {
        log_msg("%s", err);
        store_close();
        return 1;
    }
    hc.port = o.port;
    hc.threads = o.threads;
    hc.max_connections = (unsigned)o.max_connections;
    hc.client_timeout_s = (unsigned)o.client_timeout_s;
    hc.volumes = o.volumes;
    hc.nvolumes = o.nvolumes;
    hc.replicas = o.replicas;
    hc.subvolumes = o.subvolumes;
    hc.md5sum = o.md5sum;
    hc.probe = o.probe;
    hc.protect = o.protect;
    hc.max_size = o.max_size;
    hc.fallback = o.fallback;
    hc.listen = o.listen;
    hc.s3_port = o.s3_port;
    hc.s3_upload_expiry_s = o.s3_upload_expiry_s;
    if (o.s3_port) {
        snprintf(meta_path, sizeof(meta_path), "%s.s3", o.index);
        if (s3_init(meta_path, o.s3_credentials, err) != MKV_OK) {
            log_msg("%s", err);
            bio_stop();
            store_close();
            return 1;
        }
    }
    if (server_start(&hc, err) != MKV_OK) {
        log_msg("%s", err);
        bio_stop();
        if (o.s3_port) s3_cleanup();
        store_close();
        return 1;
    }
    if (o.s3_port)
        log_msg("S3 endpoint on port %d, %zu access key%s from %s, metadata %s", o.s3_port,
                creds_count(), creds_count() == 1 ? "" : "s", o.s3_credentials, meta_path);
    store_state(state, sizeof(state));
    log_msg("serving on port %d, index %s (%zu keys; %s), %d volume%s, %d replica%s, "
            "%d event loop%s",
            o.port, o.index, store_count(), state, o.nvolumes, o.nvolumes == 1 ? "" : "s",
            o.replicas, o.replicas == 1 ? "" : "s", o.threads, o.threads == 1 ? "" : "s");

    for (;;) {
        sigwait(&sigs, &sig);
        if (sig != SIGHUP) break;
        if (o.s3_port && creds_load(o.s3_credentials, err) != MKV_OK)
            log_msg("SIGHUP: %s; the access keys in force are kept", err);
        else if (o.s3_port)
            log_msg("SIGHUP: %zu S3 access key%s loaded from %s", creds_count(),
                    creds_count() == 1 ? "" : "s", o.s3_credentials);
        if (!log_access_on()) log_msg("SIGHUP: no access log to reopen");
        else if (log_access_reopen(err) != MKV_OK) log_msg("%s", err);
        else log_msg("SIGHUP: access log reopened");
    }
    log_msg("%s: shutting down", strsignal(sig));
    server_stop(10000); /* no new requests; those under way get 10 s */
    vol_cleanup();
    if (o.s3_port) s3_cleanup();
    store_close();
    log_msg("index closed");
    return 0;
}
