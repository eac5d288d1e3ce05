/* nginxbin.c -- find nginx and probe its build with `nginx -V` (nginxbin.h). */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mkv.h"
#include "nginxbin.h"

/* Largest `nginx -V` output read; a few KiB in practice. */
#define NGINXBIN_PROBE_MAX (64 * 1024)

/* executable -- true if path names a regular file we may execute. */
static int executable(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
           access(path, X_OK) == 0;
}

/* copy_out -- copy s into out[outlen], failing if it does not fit. */
static int copy_out(char *out, size_t outlen, const char *s, char *err) {
    size_t n = strlen(s);
    if (n >= outlen) {
        mkv_seterr(err, "path too long: %s", s);
        return MKV_ERR;
    }
    memcpy(out, s, n + 1);
    return MKV_OK;
}

int nginxbin_find(char *out, size_t outlen, char *err) {
    const char *env = getenv("NGINX");
    const char *dirs, *p, *end;
    char cand[PATH_MAX];

    if (env != NULL && env[0] != '\0') {
        if (!executable(env)) {
            mkv_seterr(err, "NGINX=%s is not an executable file", env);
            return MKV_ERR;
        }
        return copy_out(out, outlen, env, err);
    }
    dirs = getenv("PATH");
    for (p = dirs; p != NULL && *p != '\0'; p = *end ? end + 1 : end) {
        size_t n;
        end = strchr(p, ':');
        if (end == NULL) end = p + strlen(p);
        n = (size_t)(end - p);
        /* An empty entry would mean the current directory; running
         * whatever ./nginx happens to be there is not worth supporting. */
        if (n == 0 || n + sizeof("/nginx") > sizeof(cand)) continue;
        snprintf(cand, sizeof(cand), "%.*s/nginx", (int)n, p);
        if (executable(cand)) return copy_out(out, outlen, cand, err);
    }
    if (executable("/usr/sbin/nginx"))
        return copy_out(out, outlen, "/usr/sbin/nginx", err);
    mkv_seterr(err, "nginx not found on PATH or at /usr/sbin/nginx; install "
               "it (apt-get install nginx-light) or set NGINX=/path/to/nginx");
    return MKV_ERR;
}

/* has_token -- true if the whitespace-separated word tok occurs in text.
 * Whole words only, so a flag is never mistaken for a longer one. */
static int has_token(const char *text, const char *tok) {
    size_t n = strlen(tok);
    const char *p = text;
    while ((p = strstr(p, tok)) != NULL) {
        int starts = p == text || p[-1] == ' ' || p[-1] == '\n' ||
                     p[-1] == '\t';
        int ends = p[n] == '\0' || p[n] == ' ' || p[n] == '\n' ||
                   p[n] == '\t' || p[n] == '\r';
        if (starts && ends) return 1;
        p += n;
    }
    return 0;
}

int nginxbin_probe(const char *nginx, struct nginxbin_build *b, char *err) {
    char *out;
    size_t len = 0;
    int fds[2], status;
    pid_t pid;
    ssize_t r;
    char scratch[512];

    memset(b, 0, sizeof(*b));
    out = malloc(NGINXBIN_PROBE_MAX + 1);
    if (out == NULL) {
        mkv_seterr(err, "out of memory probing nginx");
        return MKV_ERR;
    }
    if (pipe(fds) != 0) {
        mkv_seterr(err, "pipe: %s", strerror(errno));
        free(out);
        return MKV_ERR;
    }
    pid = fork();
    if (pid < 0) {
        mkv_seterr(err, "fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        free(out);
        return MKV_ERR;
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        close(fds[0]);
        if (dup2(fds[1], STDOUT_FILENO) < 0 || dup2(fds[1], STDERR_FILENO) < 0)
            _exit(127);
        if (fds[1] > STDERR_FILENO) close(fds[1]);
        execl(nginx, nginx, "-V", (char *)NULL);
        /* Tell the parent why; it shows this output on exit status 127. */
        dprintf(STDERR_FILENO, "%s", strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    /* Read everything so the child never blocks on a full pipe; keep only
     * the first NGINXBIN_PROBE_MAX bytes. */
    for (;;) {
        char *dst = len < NGINXBIN_PROBE_MAX ? out + len : scratch;
        size_t room = len < NGINXBIN_PROBE_MAX ? NGINXBIN_PROBE_MAX - len
                                                : sizeof(scratch);
        r = read(fds[0], dst, room);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        if (dst != scratch) len += (size_t)r;
    }
    close(fds[0]);
    out[len] = '\0';
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            mkv_seterr(err, "waitpid: %s", strerror(errno));
            free(out);
            return MKV_ERR;
        }
    }
    if (memchr(out, '\0', len) != NULL) len = strlen(out); /* binary junk */
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
            mkv_seterr(err, "cannot run %s: %.120s", nginx, out);
        else if (WIFEXITED(status))
            mkv_seterr(err, "%s -V failed with exit status %d", nginx,
                       WEXITSTATUS(status));
        else
            mkv_seterr(err, "%s -V was killed by signal %d", nginx,
                       WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        free(out);
        return MKV_ERR;
    }
    if (strstr(out, "nginx version:") == NULL) {
        mkv_seterr(err, "%s -V did not print an nginx version; is it nginx?",
                   nginx);
        free(out);
        return MKV_ERR;
    }
    b->dav = has_token(out, "--with-http_dav_module");
    b->proxy = !has_token(out, "--without-http_proxy_module");
    b->fastcgi = !has_token(out, "--without-http_fastcgi_module");
    b->uwsgi = !has_token(out, "--without-http_uwsgi_module");
    b->scgi = !has_token(out, "--without-http_scgi_module");
    free(out);
    if (!b->dav) {
        mkv_seterr(err, "%s was built without the DAV module "
                   "(--with-http_dav_module); install nginx-light or "
                   "another build that has it", nginx);
        return MKV_ERR;
    }
    return MKV_OK;
}
