/*
 * zabd.c -- the program: `zabd [-v] CONFIG` reads a ZooKeeper zoo.cfg and
 * the myid file, recovers from dataDir, and serves until SIGTERM/SIGINT.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sasl.h"
#include "server.h"

static srv_t server;

static void on_signal(int sig)
{
    (void)sig;
    server.stopping = true;
}

static void warn(void *ud, const char *line)
{
    (void)ud;
    fprintf(stderr, "zabd: %s\n", line);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: zabd [-v]... CONFIG\n"
               "  CONFIG  a ZooKeeper zoo.cfg (see zabd.cfg(5))\n"
               "  -v      more logging (libzab's trace lines)\n"
               "  -V      print the version and exit\n");
}

int main(int argc, char **argv)
{
    static cfg_t cfg;
    const char *path = NULL;
    int verbose = 0;
    char err[1024];

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v")) {
            verbose++;
        } else if (!strcmp(argv[i], "-vv")) {
            verbose += 2;
        } else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
            printf("zabd %s (ZooKeeper 3.8 client protocol)\n",
                   zab_version_string());
            return 0;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' || path) {
            usage(stderr);
            return 2;
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    if (cfg_load(path, &cfg, err, sizeof err, warn, NULL) != 0) {
        fprintf(stderr, "zabd: %s\n", err);
        return 2;
    }

    /* The JAAS file is part of the configuration: refused like it. */
    sasl_server_t *sasl = NULL;
    if (sasl_server_load(&cfg, &sasl, err, sizeof err, warn, NULL) != 0) {
        fprintf(stderr, "zabd: %s\n", err);
        return 2;
    }

    if (!cfg.force_sync)
        fprintf(stderr, "zabd: %s: warning: forceSync=no is ignored: zabd "
                        "always syncs the log before acknowledging\n",
                path);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (srv_init(&server, &cfg, verbose, err, sizeof err) != 0) {
        fprintf(stderr, "zabd: %s\n", err);
        srv_destroy(&server);
        sasl_server_free(sasl);
        return 1;
    }
    server.sasl = sasl;
    if (sasl)
        srv_log(&server, "SASL: DIGEST-MD5 for %zu user%s of section '%s' "
                         "of %s", sasl->nusers, sasl->nusers == 1 ? "" : "s",
                cfg.sasl_section, cfg.jaas_path);
    srv_log(&server, "zabd %s started (%s, %zu members)",
            zab_version_string(), cfg.standalone ? "standalone" : "ensemble",
            cfg.standalone ? (size_t)1 : cfg.nservers);
    int rc = srv_run(&server);
    srv_log(&server, "shutting down");
    srv_destroy(&server);
    sasl_server_free(sasl);
    return rc == 0 ? 0 : 1;
}
