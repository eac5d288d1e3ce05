/* nginxconf.c -- prepare a volume directory, find and probe nginx, render its config. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mkv.h"
#include "nginxconf.h"

/* Largest template accepted from $MKV_VOLUME_TEMPLATE, and largest
 * `nginx -V` output read; both are a few KiB in practice. */
#define NGINXCONF_TEMPLATE_MAX (1024 * 1024)
#define NGINXCONF_PROBE_MAX (64 * 1024)

/* ---------------------------------------------------------------- paths */

/* quotable -- MKV_OK if s can sit between double quotes in nginx config
 * unchanged. Backslash and double quote would need escaping, `$` would be
 * read as a variable by `root`, and control bytes (newline above all)
 * have no business in a path; rather than escape, refuse them. what names
 * s in the message. */
static int quotable(const char *what, const char *s, char *err) {
    const unsigned char *p;
    for (p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\' || *p == '$' || *p < 0x20 || *p == 0x7f) {
            mkv_seterr(err, "%s %s contains a character nginx config cannot "
                       "hold (double quote, backslash, $ or a control "
                       "character); choose another", what, s);
            return MKV_ERR;
        }
    }
    return MKV_OK;
}

/* mkdir_p -- create path and any missing parents with mode 0755, like
 * mkdir -p. MKV_OK when path exists as a directory afterwards. */
static int mkdir_p(const char *path, char *err) {
    char buf[PATH_MAX];
    struct stat st;
    size_t i, n = strlen(path);

    if (n == 0) {
        mkv_seterr(err, "the volume path is empty");
        return MKV_ERR;
    }
    if (n >= sizeof(buf)) {
        mkv_seterr(err, "the volume path is too long (%zu bytes)", n);
        return MKV_ERR;
    }
    memcpy(buf, path, n + 1);
    /* Create every prefix ending before a slash, then the whole path. */
    for (i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        if (buf[i - 1] == '/') continue; /* "a//b": nothing new here */
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            mkv_seterr(err, "cannot create %s: %s", buf, strerror(errno));
            return MKV_ERR;
        }
        if (i < n) buf[i] = '/';
    }
    if (stat(path, &st) != 0) {
        mkv_seterr(err, "cannot use %s: %s", path, strerror(errno));
        return MKV_ERR;
    }
    if (!S_ISDIR(st.st_mode)) {
        mkv_seterr(err, "%s exists and is not a directory", path);
        return MKV_ERR;
    }
    return MKV_OK;
}

/* owner_names -- the user and group names owning st, for nginx's `user`
 * directive; "root" stands in for an id without a passwd/group entry. */
static int owner_names(const struct stat *st, struct nginxconf_volume *v,
                       char *err) {
    struct passwd *pw = getpwuid(st->st_uid);
    struct group *gr = getgrgid(st->st_gid);
    const char *u = pw != NULL ? pw->pw_name : "root";
    const char *g = gr != NULL ? gr->gr_name : "root";

    if (strlen(u) >= sizeof(v->user) || strlen(g) >= sizeof(v->group)) {
        mkv_seterr(err, "the owner name of %s is too long", v->root);
        return MKV_ERR;
    }
    strcpy(v->user, u);
    strcpy(v->group, g);
    if (quotable("user name", v->user, err) != MKV_OK) return MKV_ERR;
    return quotable("group name", v->group, err);
}

int nginxconf_prepare(const char *path, int port, struct nginxconf_volume *v,
                      char *err) {
    struct stat st;
    int n;

    memset(v, 0, sizeof(*v));
    v->port = port;
    /* Refuse an unusable name before creating anything; the resolved path
     * is checked again below, since a symlink may bring in new names. */
    if (quotable("volume path", path, err) != MKV_OK) return MKV_ERR;
    if (mkdir_p(path, err) != MKV_OK) return MKV_ERR;
    if (realpath(path, v->root) == NULL) {
        mkv_seterr(err, "cannot resolve %s: %s", path, strerror(errno));
        return MKV_ERR;
    }
    if (quotable("volume path", v->root, err) != MKV_OK) return MKV_ERR;
    if (access(v->root, W_OK | X_OK) != 0) {
        mkv_seterr(err, "volume path %s is not writable: %s", v->root,
                   strerror(errno));
        return MKV_ERR;
    }
    n = snprintf(v->state, sizeof(v->state), "%s/.nginx",
                 strcmp(v->root, "/") == 0 ? "" : v->root);
    /* Room for the longest name put under state: "/fastcgi". */
    if (n < 0 || (size_t)n + sizeof("/fastcgi") > sizeof(v->state)) {
        mkv_seterr(err, "volume path %s is too long", v->root);
        return MKV_ERR;
    }
    if (mkdir(v->state, 0755) != 0 && errno != EEXIST) {
        mkv_seterr(err, "cannot create %s: %s", v->state, strerror(errno));
        return MKV_ERR;
    }
    if (lstat(v->state, &st) != 0 || !S_ISDIR(st.st_mode)) {
        mkv_seterr(err, "%s exists and is not a directory", v->state);
        return MKV_ERR;
    }
    if (stat(v->root, &st) != 0) {
        mkv_seterr(err, "cannot stat %s: %s", v->root, strerror(errno));
        return MKV_ERR;
    }
    if (geteuid() == 0) {
        /* Workers will run as the volume's owner; hand them the state
         * directory too, so a later run as that user can write its pid
         * file there. nginx chowns the temp dirs it creates itself. */
        if (owner_names(&st, v, err) != MKV_OK) return MKV_ERR;
        if (chown(v->state, st.st_uid, st.st_gid) != 0) {
            mkv_seterr(err, "cannot chown %s: %s", v->state, strerror(errno));
            return MKV_ERR;
        }
    } else if (access(v->state, W_OK | X_OK) != 0) {
        mkv_seterr(err, "%s is not writable: %s", v->state, strerror(errno));
        return MKV_ERR;
    }
    return MKV_OK;
}

/* ---------------------------------------------------------------- nginx */

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

int nginxconf_find(char *out, size_t outlen, char *err) {
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

int nginxconf_probe(const char *nginx, struct nginxconf_build *b, char *err) {
    char *out;
    size_t len = 0;
    int fds[2], status;
    pid_t pid;
    ssize_t r;
    char scratch[512];

    memset(b, 0, sizeof(*b));
    out = malloc(NGINXCONF_PROBE_MAX + 1);
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
     * the first NGINXCONF_PROBE_MAX bytes. */
    for (;;) {
        char *dst = len < NGINXCONF_PROBE_MAX ? out + len : scratch;
        size_t room = len < NGINXCONF_PROBE_MAX ? NGINXCONF_PROBE_MAX - len
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

/* ------------------------------------------------------------- template */

int nginxconf_template(const char **text, char **owned, char *err) {
    const char *file = getenv("MKV_VOLUME_TEMPLATE");
    struct stat st;
    char *buf;
    size_t len = 0;
    int fd;

    *text = nginx_template;
    *owned = NULL;
    if (file == NULL || file[0] == '\0') return MKV_OK;
    fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        mkv_seterr(err, "MKV_VOLUME_TEMPLATE=%s: %s", file, strerror(errno));
        return MKV_ERR;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size > NGINXCONF_TEMPLATE_MAX) {
        mkv_seterr(err, "MKV_VOLUME_TEMPLATE=%s is not a regular file of at "
                   "most %d bytes", file, NGINXCONF_TEMPLATE_MAX);
        close(fd);
        return MKV_ERR;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        mkv_seterr(err, "out of memory reading %s", file);
        close(fd);
        return MKV_ERR;
    }
    while (len < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break; /* the file shrank: use what was there */
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    if (memchr(buf, '\0', len) != NULL) {
        mkv_seterr(err, "MKV_VOLUME_TEMPLATE=%s contains a NUL byte", file);
        free(buf);
        return MKV_ERR;
    }
    *text = buf;
    *owned = buf;
    return MKV_OK;
}

/* A growing output buffer. Once an allocation fails, failed stays set and
 * further appends do nothing, so callers check once at the end. */
struct outbuf {
    char *p;
    size_t len;
    size_t cap;
    int writers_done;             /* @WRITERS@ was rendered */
    int failed;
};

/* out_add -- append n bytes of s to o. */
static void out_add(struct outbuf *o, const char *s, size_t n) {
    if (o->failed) return;
    if (o->p == NULL || o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        char *np;
        while (o->len + n + 1 > cap) cap *= 2;
        np = realloc(o->p, cap);
        if (np == NULL) {
            o->failed = 1;
            return;
        }
        o->p = np;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
    o->p[o->len] = '\0';
}

/* out_str -- append the string s to o. */
static void out_str(struct outbuf *o, const char *s) {
    out_add(o, s, strlen(s));
}

/* out_quoted -- append "DIR/NAME" (or "DIR" when name is NULL), double
 * quoted; every part has already passed quotable(). */
static void out_quoted(struct outbuf *o, const char *dir, const char *name) {
    out_str(o, "\"");
    out_str(o, dir);
    if (name != NULL) {
        out_str(o, "/");
        out_str(o, name);
    }
    out_str(o, "\"");
}

/* out_temp_path -- append one `NAME_temp_path "STATE/NAME";` line. */
static void out_temp_path(struct outbuf *o, const char *state,
                          const char *name) {
    out_str(o, "    ");
    out_str(o, name);
    out_str(o, "_temp_path ");
    out_quoted(o, state, name);
    out_str(o, ";\n");
}

/* placeholder -- append the value of placeholder name (len bytes, not
 * NUL-terminated) to o. MKV_ERR if the name is not known. */
static int placeholder(struct outbuf *o, const char *name, size_t len,
                       const struct nginxconf_volume *v,
                       const struct nginxconf_build *b) {
#define IS(s) (len == sizeof(s) - 1 && memcmp(name, s, len) == 0)
    char num[16];
    if (IS("PID_FILE")) {
        out_quoted(o, v->state, "nginx.pid");
    } else if (IS("USER_DIRECTIVE")) {
        if (v->user[0] != '\0') {
            out_str(o, "user ");
            out_quoted(o, v->user, NULL);
            out_str(o, " ");
            out_quoted(o, v->group, NULL);
            out_str(o, ";");
        } else {
            out_str(o, "# not run as root: workers keep the launcher's user");
        }
    } else if (IS("BODY_TEMP")) {
        out_quoted(o, v->state, "body");
    } else if (IS("OTHER_TEMP_PATHS")) {
        if (b->proxy) out_temp_path(o, v->state, "proxy");
        if (b->fastcgi) out_temp_path(o, v->state, "fastcgi");
        if (b->uwsgi) out_temp_path(o, v->state, "uwsgi");
        if (b->scgi) out_temp_path(o, v->state, "scgi");
    } else if (IS("PORT")) {
        snprintf(num, sizeof(num), "%d", v->port);
        out_str(o, num);
    } else if (IS("ROOT")) {
        out_quoted(o, v->root, NULL);
    } else if (IS("WRITERS")) {
        o->writers_done = 1;
        if (v->writers[0] == '\0') {
            out_str(o, "# Anyone may PUT and DELETE (mkv-volume --writers limits that).");
        } else {
            const char *w = v->writers;
            out_str(o, "# Only --writers may PUT and DELETE; GET and HEAD are open.\n"
                       "            limit_except GET {\n");
            while (*w) {
                size_t n = strcspn(w, ",");
                out_str(o, "                allow ");
                out_add(o, w, n);
                out_str(o, ";\n");
                w += n + (w[n] == ',');
            }
            out_str(o, "                deny all;\n            }");
        }
    } else {
        return MKV_ERR;
    }
    return MKV_OK;
#undef IS
}

/* expand -- fill every @NAME@ in tmpl into o. An '@' not starting an
 * upper-case name closed by another '@' is copied as it is, so nginx's own
 * named locations (location @fallback) pass through. */
static int expand(struct outbuf *o, const char *tmpl,
                  const struct nginxconf_volume *v,
                  const struct nginxconf_build *b, char *err) {
    const char *p = tmpl;
    while (*p != '\0') {
        const char *at = strchr(p, '@');
        const char *q;
        if (at == NULL) {
            out_str(o, p);
            break;
        }
        out_add(o, p, (size_t)(at - p));
        for (q = at + 1; (*q >= 'A' && *q <= 'Z') || *q == '_'; q++) {
        }
        if (*q != '@' || q == at + 1) {
            out_add(o, "@", 1);
            p = at + 1;
            continue;
        }
        if (placeholder(o, at + 1, (size_t)(q - at - 1), v, b) != MKV_OK) {
            mkv_seterr(err, "unknown placeholder %.*s in the nginx template",
                       (int)(q - at + 1), at);
            return MKV_ERR;
        }
        p = q + 1;
    }
    return MKV_OK;
}

int nginxconf_render(const char *tmpl, const struct nginxconf_volume *v,
                     const struct nginxconf_build *b, char *out,
                     size_t outlen, char *err) {
    struct outbuf o = {NULL, 0, 0, 0, 0};
    const char *tmpdir = getenv("TMPDIR");
    char path[PATH_MAX];
    size_t off = 0;
    int fd, n, werr = 0;

    if (v->port < 1 || v->port > 65535) {
        mkv_seterr(err, "port %d is out of range", v->port);
        return MKV_ERR;
    }
    if (quotable("volume path", v->root, err) != MKV_OK ||
        quotable("state path", v->state, err) != MKV_OK ||
        quotable("user name", v->user, err) != MKV_OK ||
        quotable("group name", v->group, err) != MKV_OK)
        return MKV_ERR;
    if (expand(&o, tmpl, v, b, err) != MKV_OK) {
        free(o.p);
        return MKV_ERR;
    }
    if (v->writers[0] != '\0' && !o.writers_done) {
        mkv_seterr(err, "the nginx template has no @WRITERS@, so --writers cannot be applied");
        free(o.p);
        return MKV_ERR;
    }
    if (o.failed || o.p == NULL) {
        mkv_seterr(err, "out of memory rendering the nginx config");
        free(o.p);
        return MKV_ERR;
    }
    if (tmpdir == NULL || tmpdir[0] == '\0') tmpdir = "/tmp";
    n = snprintf(path, sizeof(path), "%s/mkv-volume-XXXXXX.conf", tmpdir);
    if (n < 0 || (size_t)n >= sizeof(path) || (size_t)n >= outlen) {
        mkv_seterr(err, "TMPDIR=%s is too long", tmpdir);
        free(o.p);
        return MKV_ERR;
    }
    fd = mkostemps(path, 5, O_CLOEXEC);
    if (fd < 0) {
        mkv_seterr(err, "cannot create a config file in %s: %s", tmpdir,
                   strerror(errno));
        free(o.p);
        return MKV_ERR;
    }
    while (off < o.len && werr == 0) {
        ssize_t w = write(fd, o.p + off, o.len - off);
        if (w < 0 && errno != EINTR) werr = errno;
        if (w == 0) werr = EIO; /* cannot happen for a regular file */
        if (w > 0) off += (size_t)w;
    }
    free(o.p);
    if (close(fd) != 0 && werr == 0) werr = errno;
    if (werr != 0) {
        mkv_seterr(err, "cannot write %s: %s", path, strerror(werr));
        unlink(path);
        return MKV_ERR;
    }
    memcpy(out, path, (size_t)n + 1);
    return MKV_OK;
}

/* cidr_ok -- one IPv4 or IPv6 address with an optional /prefix. */
static int cidr_ok(const char *s, size_t n) {
    char addr[64];
    unsigned char bin[16];
    const char *slash = memchr(s, '/', n);
    size_t al = slash ? (size_t)(slash - s) : n;
    int v6, max;
    if (al == 0 || al >= sizeof(addr)) return 0;
    memcpy(addr, s, al);
    addr[al] = '\0';
    v6 = strchr(addr, ':') != NULL;
    if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, bin) != 1) return 0;
    max = v6 ? 128 : 32;
    if (slash) {
        int bits = 0;
        size_t i = 1, pl = n - al;
        if (pl < 2 || pl > 4) return 0;
        for (; i < pl; i++) {
            if (slash[i] < '0' || slash[i] > '9') return 0;
            bits = bits * 10 + (slash[i] - '0');
        }
        if (bits > max) return 0;
    }
    return 1;
}

int nginxconf_writers(const char *list, char *out, char *err) {
    size_t n = strlen(list);
    const char *p = list;
    if (n == 0 || n >= NGINXCONF_WRITERS_MAX) {
        mkv_seterr(err, "--writers wants CIDR[,CIDR...]");
        return MKV_ERR;
    }
    while (*p) {
        size_t l = strcspn(p, ",");
        if (!cidr_ok(p, l)) {
            mkv_seterr(err, "--writers: '%.*s' is not an IPv4 or IPv6 address or CIDR",
                       (int)l, p);
            return MKV_ERR;
        }
        p += l;
        if (*p == ',') {
            p++;
            if (*p == '\0') {
                mkv_seterr(err, "--writers: a trailing ','");
                return MKV_ERR;
            }
        }
    }
    memcpy(out, list, n + 1);
    return MKV_OK;
}
