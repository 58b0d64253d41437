/*
 * serve_cmd.c - `profil serve`: the HTTP scoring service (docs/serve.md).
 *
 * Parses the options, starts the server (serve/http_server.c) and then
 * only waits for signals: SIGHUP reloads model, policy and tokens, SIGTERM
 * and SIGINT drain the requests in flight and exit. The handler only
 * writes the signal's number to a pipe that the main thread reads, so it
 * may run on any thread, also those that libraries start before main
 * (OpenBLAS, sanitizers) with the signals unblocked; the server's own
 * threads start with them blocked.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "http_server.h"
#include "profil/outfile.h"
#include "profil/prefetch.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: profil serve [OPTIONS]\n"
            "\n"
            "Serve decisions over HTTP: POST /v1/score takes one profile (a JSON object of\n"
            "column values) or an array of them and answers with the decisions exactly as\n"
            "'profil score --format jsonl' gives them; POST /v1/whatif the what-if card,\n"
            "sweep, comparison or counterfactual. Also GET /v1/model, /v1/policy,\n"
            "/healthz, /readyz, /metrics (Prometheus) and /openapi.yaml (docs/serve.md).\n"
            "SIGHUP reloads the model, the policy and the tokens; SIGTERM drains and exits.\n"
            "\n"
            "Options:\n"
            "  -l, --listen ADDR         address to listen on (default 127.0.0.1)\n"
            "  -P, --port N              port (default 8080; 0: any free port)\n"
            "      --port-file FILE      write the port listened on to FILE\n"
            "  -m, --model FILE          model (default: the bundled %s)\n"
            "  -p, --policy FILE|NAME    policy file or bundled name (krom-2020, ...)\n"
            "  -d, --date YYYY-MM-DD     the policy in force on this day (default: the day\n"
            "                            of each load)\n"
            "      --service S           %s (default) or stod_och_matchning\n"
            "      --policy-dir DIR      where --date looks (default: the bundled policies)\n"
            "  -s, --schema FILE         schema (default: the bundled one)\n"
            "      --reasons K           reasons per decision, 0-%d (default 3)\n"
            "      --token-file FILE     require 'Authorization: Bearer TOKEN' on /v1/ with one\n"
            "                            of the tokens in FILE (one a line)\n"
            "      --tls-cert FILE       serve HTTPS with this PEM certificate ...\n"
            "      --tls-key FILE        ... and this PEM private key\n"
            "      --audit-log FILE      append one JSON line per decision (id as a salted\n"
            "                            hash, never in clear)\n"
            "      --audit-salt-file F   salt of the id hashes (default: random per start)\n"
            "      --whatif-settings FILE  what-if settings (default: the bundled ones)\n"
            "      --whatif-max-profiles N  profiles one counterfactual search (POST\n"
            "                            /v1/whatif with 'reach') may score (default 100000)\n"
            "  -t, --threads N           worker threads (default: all cores)\n"
            "      --max-body BYTES      largest request body (default 1048576)\n"
            "      --max-profiles N      most profiles in one request (default 1000)\n"
            "      --max-connections N   most open connections (default 1024)\n"
            "      --timeout SECONDS     close a connection idle this long (default 30)\n"
            "      --drain-timeout SECONDS  longest wait for requests in flight on SIGTERM\n"
            "                            (default 30)\n"
            "  -q, --quiet               print only errors\n"
            "  -h, --help                show this help and exit\n"
            "  -V, --version             show version information and exit\n"
            "\n"
            "Exit status: 0 after a complete drain; 1 when requests were cut off at the\n"
            "drain timeout; 2 usage or setup error (nothing to serve, the port taken).\n",
            PF_DEFAULT_MODEL, PF_DEFAULT_SERVICE, PF_DECISION_MAX_REASONS);
}

static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char c = (unsigned char) sig;
    if (write(sig_pipe[1], &c, 1) < 0) {
        /* the pipe is full: signals are pending already */
    }
    errno = saved;
}

static int write_port_file(const char *path, int port)
{
    pf_error err = {0};
    pf_outfile *o;
    if (pf_outfile_open(&o, path, &err) == 0) {
        pf_outfile_printf(o, "%d\n", port);
        if (pf_outfile_commit(o, &err) == 0)
            return 0;
    }
    pf_cli_error("serve", "%s", err.message);
    return -1;
}

static int count_option(const char *cmd, const char *name, const char *arg, long long lo,
                        long long hi, long long *out)
{
    if (pf_cli_parse_count(arg, out) || *out < lo || *out > hi)
        return pf_cli_usage_error(cmd, "--%s takes %lld to %lld", name, lo, hi);
    return 0;
}

int pf_cmd_serve(int argc, char **argv)
{
    enum {
        O_PORT_FILE = 256,
        O_SERVICE,
        O_POLICY_DIR,
        O_REASONS,
        O_TOKENS,
        O_CERT,
        O_KEY,
        O_AUDIT,
        O_SALT,
        O_MAX_BODY,
        O_MAX_PROFILES,
        O_MAX_CONN,
        O_TIMEOUT,
        O_DRAIN,
        O_WHATIF,
        O_WHATIF_MAX
    };
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"port", required_argument, NULL, 'P'},
        {"port-file", required_argument, NULL, O_PORT_FILE},
        {"model", required_argument, NULL, 'm'},
        {"policy", required_argument, NULL, 'p'},
        {"date", required_argument, NULL, 'd'},
        {"service", required_argument, NULL, O_SERVICE},
        {"policy-dir", required_argument, NULL, O_POLICY_DIR},
        {"schema", required_argument, NULL, 's'},
        {"reasons", required_argument, NULL, O_REASONS},
        {"token-file", required_argument, NULL, O_TOKENS},
        {"tls-cert", required_argument, NULL, O_CERT},
        {"tls-key", required_argument, NULL, O_KEY},
        {"audit-log", required_argument, NULL, O_AUDIT},
        {"audit-salt-file", required_argument, NULL, O_SALT},
        {"threads", required_argument, NULL, 't'},
        {"max-body", required_argument, NULL, O_MAX_BODY},
        {"max-profiles", required_argument, NULL, O_MAX_PROFILES},
        {"max-connections", required_argument, NULL, O_MAX_CONN},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"drain-timeout", required_argument, NULL, O_DRAIN},
        {"whatif-settings", required_argument, NULL, O_WHATIF},
        {"whatif-max-profiles", required_argument, NULL, O_WHATIF_MAX},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    const char *cmd = "serve";
    pf_server_config c = {.listen = "127.0.0.1",
                          .port = 8080,
                          .max_body = 1 << 20,
                          .timeout = 30,
                          .max_connections = 1024,
                          .whatif_max_profiles = 100000,
                          .bundle = {.reasons = 3, .max_profiles = 1000}};
    c.threads = pf_default_threads();
    const char *port_file = NULL;
    double drain = 30;
    long long v;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "l:P:m:p:d:s:t:qhV", longopts, NULL)) != -1) {
        int bad = 0;
        switch (ch) {
        case 'l':
            c.listen = optarg;
            break;
        case 'P':
            if (!(bad = count_option(cmd, "port", optarg, 0, 65535, &v)))
                c.port = (int) v;
            break;
        case O_PORT_FILE:
            port_file = optarg;
            break;
        case 'm':
            c.bundle.model = optarg;
            break;
        case 'p':
            c.bundle.policy.policy = optarg;
            break;
        case 'd':
            c.bundle.policy.date = optarg;
            break;
        case O_SERVICE:
            c.bundle.policy.service = optarg;
            break;
        case O_POLICY_DIR:
            c.bundle.policy.dir = optarg;
            break;
        case 's':
            c.bundle.schema = optarg;
            break;
        case O_REASONS:
            if (!(bad = count_option(cmd, "reasons", optarg, 0, PF_DECISION_MAX_REASONS, &v)))
                c.bundle.reasons = (int) v;
            break;
        case O_TOKENS:
            c.bundle.tokens = optarg;
            break;
        case O_CERT:
            c.tls_cert = optarg;
            break;
        case O_KEY:
            c.tls_key = optarg;
            break;
        case O_AUDIT:
            c.audit_log = optarg;
            break;
        case O_SALT:
            c.audit_salt = optarg;
            break;
        case 't':
            if (!(bad = count_option(cmd, "threads", optarg, 1, 256, &v)))
                c.threads = (int) v;
            break;
        case O_MAX_BODY:
            if (!(bad = count_option(cmd, "max-body", optarg, 64, 1LL << 30, &v)))
                c.max_body = (size_t) v;
            break;
        case O_MAX_PROFILES:
            if (!(bad = count_option(cmd, "max-profiles", optarg, 1, 100000, &v)))
                c.bundle.max_profiles = (size_t) v;
            break;
        case O_MAX_CONN:
            if (!(bad = count_option(cmd, "max-connections", optarg, 1, 100000, &v)))
                c.max_connections = (unsigned) v;
            break;
        case O_TIMEOUT:
            if (!(bad = count_option(cmd, "timeout", optarg, 1, 86400, &v)))
                c.timeout = (unsigned) v;
            break;
        case O_DRAIN:
            if (!(bad = count_option(cmd, "drain-timeout", optarg, 0, 86400, &v)))
                drain = (double) v;
            break;
        case O_WHATIF:
            c.bundle.whatif = optarg;
            break;
        case O_WHATIF_MAX:
            if (!(bad = count_option(cmd, "whatif-max-profiles", optarg, 1, 100000000, &v)))
                c.whatif_max_profiles = (size_t) v;
            break;
        case 'q':
            c.quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return PF_EXIT_OK;
        case 'V':
            pf_cli_print_version(stdout);
            return PF_EXIT_OK;
        default:
            return pf_cli_usage_error(cmd, "invalid option");
        }
        if (bad)
            return bad;
    }
    if (optind < argc)
        return pf_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!c.tls_cert != !c.tls_key)
        return pf_cli_usage_error(cmd, "--tls-cert and --tls-key go together");
    if (c.audit_salt && !c.audit_log)
        return pf_cli_usage_error(cmd, "--audit-salt-file needs --audit-log");

    if (pipe2(sig_pipe, O_CLOEXEC)) {
        pf_cli_error(cmd, "pipe: %s", strerror(errno));
        return PF_EXIT_USAGE;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* The server's threads start with the signals blocked. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    pf_server *S;
    int started = pf_server_start(&S, &c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (started)
        return PF_EXIT_USAGE;
    int port = pf_server_port(S);
    if (port_file && write_port_file(port_file, port)) {
        pf_server_drain_and_stop(S, 0);
        return PF_EXIT_USAGE;
    }
    if (!c.quiet)
        fprintf(stderr, "profil serve: listening on %s://%s%s%s:%d (%d threads)\n",
                c.tls_cert ? "https" : "http", strchr(c.listen, ':') ? "[" : "", c.listen,
                strchr(c.listen, ':') ? "]" : "", port, c.threads);
    for (;;) {
        unsigned char sig;
        ssize_t got = read(sig_pipe[0], &sig, 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got != 1) {
            pf_cli_error(cmd, "signal pipe: %s", got ? strerror(errno) : "closed");
            pf_server_drain_and_stop(S, drain);
            return PF_EXIT_FAIL;
        }
        if (sig == SIGHUP) {
            pf_server_reload(S);
            continue;
        }
        if (!c.quiet)
            fprintf(stderr, "profil serve: %s: draining\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        long left = pf_server_drain_and_stop(S, drain);
        if (left) {
            pf_cli_error(cmd, "%ld request%s cut off at the drain timeout", left,
                         left == 1 ? "" : "s");
            return PF_EXIT_FAIL;
        }
        if (!c.quiet)
            fprintf(stderr, "profil serve: stopped\n");
        return PF_EXIT_OK;
    }
}
