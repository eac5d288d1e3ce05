/* index_main.c -- mkv-index: parse arguments, wire the modules, serve. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "opts.h"
#include "store.h"
#include "volclient.h"
#include "workers.h"

int main(int argc, char **argv) {
    static struct opts o;
    char err[MKV_ERRLEN];
    struct http_config hc;
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
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (store_open(o.index, err) != MKV_OK) {
        log_msg("%s", err);
        return 1;
    }
    if (vol_init(o.connect_timeout_ms, o.voltimeout_ms, err) != MKV_OK ||
        workers_start(o.workers, err) != MKV_OK) {
        log_msg("%s", err);
        store_close();
        return 1;
    }
    hc.port = o.port;
    hc.threads = o.threads;
    hc.volumes = o.volumes;
    hc.nvolumes = o.nvolumes;
    if (http_start(&hc, err) != MKV_OK) {
        log_msg("%s", err);
        workers_stop();
        store_close();
        return 1;
    }
    log_msg("serving on port %d, index %s, %d volume%s", o.port, o.index,
            o.nvolumes, o.nvolumes == 1 ? "" : "s");

    sigwait(&sigs, &sig);
    log_msg("%s: shutting down", strsignal(sig));
    http_stop();      /* no new requests; open ones are closed */
    workers_stop();   /* transfers under way finish and are recorded */
    vol_cleanup();
    store_close();
    log_msg("index closed");
    return 0;
}
