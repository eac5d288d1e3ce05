/* nginxconf.c -- render nginx's config for one volume: the template's fixed placeholders filled. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "mkv.h"
#include "nginxconf.h"

/* The placeholders a template may hold; values[] in render are in the
 * same order. */
enum {
    P_PID_FILE,
    P_USER_DIRECTIVE,
    P_BODY_TEMP,
    P_OTHER_TEMP_PATHS,
    P_PORT,
    P_ROOT,
    P_WRITERS,
    P_COUNT
};

static const char *const nginxconf_names[P_COUNT] = {
    "PID_FILE", "USER_DIRECTIVE", "BODY_TEMP", "OTHER_TEMP_PATHS",
    "PORT",     "ROOT",           "WRITERS",
};

/* add_quoted -- append "DIR/NAME" (or "DIR" when name is NULL), double
 * quoted; every part has already passed voldir_quotable(). */
static void add_quoted(struct buf *o, const char *dir, const char *name) {
    buf_adds(o, "\"");
    buf_adds(o, dir);
    if (name != NULL) {
        buf_adds(o, "/");
        buf_adds(o, name);
    }
    buf_adds(o, "\"");
}

/* add_temp_path -- append one `NAME_temp_path "STATE/NAME";` line. */
static void add_temp_path(struct buf *o, const char *state, const char *name) {
    buf_adds(o, "    ");
    buf_adds(o, name);
    buf_adds(o, "_temp_path ");
    add_quoted(o, state, name);
    buf_adds(o, ";\n");
}

/* fill -- the value of every placeholder for v and b, into values[]. */
static void fill(struct buf values[P_COUNT], const struct nginxconf_volume *v,
                 const struct nginxbin_build *b) {
    const struct voldir *d = &v->dir;
    struct buf *w = &values[P_WRITERS];

    add_quoted(&values[P_PID_FILE], d->state, "nginx.pid");
    if (d->user[0] != '\0') {
        buf_adds(&values[P_USER_DIRECTIVE], "user ");
        add_quoted(&values[P_USER_DIRECTIVE], d->user, NULL);
        buf_adds(&values[P_USER_DIRECTIVE], " ");
        add_quoted(&values[P_USER_DIRECTIVE], d->group, NULL);
        buf_adds(&values[P_USER_DIRECTIVE], ";");
    } else {
        buf_adds(&values[P_USER_DIRECTIVE],
                 "# not run as root: workers keep the launcher's user");
    }
    add_quoted(&values[P_BODY_TEMP], d->state, "body");
    if (b->proxy) add_temp_path(&values[P_OTHER_TEMP_PATHS], d->state, "proxy");
    if (b->fastcgi) add_temp_path(&values[P_OTHER_TEMP_PATHS], d->state, "fastcgi");
    if (b->uwsgi) add_temp_path(&values[P_OTHER_TEMP_PATHS], d->state, "uwsgi");
    if (b->scgi) add_temp_path(&values[P_OTHER_TEMP_PATHS], d->state, "scgi");
    buf_addf(&values[P_PORT], "%d", v->port);
    add_quoted(&values[P_ROOT], d->root, NULL);
    if (v->writers[0] == '\0') {
        buf_adds(w, "# Anyone may PUT and DELETE (mkv-volume --writers limits that).");
    } else {
        const char *p = v->writers;
        buf_adds(w, "# Only --writers may PUT and DELETE; GET and HEAD are open.\n"
                    "            limit_except GET {\n");
        while (*p) {
            size_t n = strcspn(p, ",");
            buf_adds(w, "                allow ");
            buf_add(w, p, n);
            buf_adds(w, ";\n");
            p += n + (p[n] == ',');
        }
        buf_adds(w, "                deny all;\n            }");
    }
}

/* lookup -- the placeholder called name[0..len), or -1. */
static int lookup(const char *name, size_t len) {
    for (int i = 0; i < P_COUNT; i++)
        if (strlen(nginxconf_names[i]) == len && memcmp(nginxconf_names[i], name, len) == 0)
            return i;
    return -1;
}

/* substitute -- tmpl into o with every @NAME@ replaced by its value;
 * used[i] set for each placeholder met. */
static int substitute(struct buf *o, const char *tmpl, const struct buf values[P_COUNT],
                      int used[P_COUNT], char *err) {
    const char *p = tmpl;
    while (*p != '\0') {
        const char *at = strchr(p, '@');
        const char *q;
        int i;
        if (at == NULL) {
            buf_adds(o, p);
            break;
        }
        buf_add(o, p, (size_t)(at - p));
        for (q = at + 1; (*q >= 'A' && *q <= 'Z') || *q == '_'; q++) {
        }
        if (*q != '@' || q == at + 1) {
            buf_add(o, "@", 1);
            p = at + 1;
            continue;
        }
        i = lookup(at + 1, (size_t)(q - at - 1));
        if (i < 0) {
            mkv_seterr(err, "unknown placeholder %.*s in the nginx template",
                       (int)(q - at + 1), at);
            return MKV_ERR;
        }
        if (values[i].len > 0) buf_add(o, values[i].p, values[i].len);
        used[i] = 1;
        p = q + 1;
    }
    return MKV_OK;
}

int nginxconf_render(const char *tmpl, const struct nginxconf_volume *v,
                     const struct nginxbin_build *b, struct buf *out,
                     char *err) {
    const struct voldir *d = &v->dir;
    struct buf values[P_COUNT];
    int used[P_COUNT] = {0};
    int i, rc = MKV_OK, failed = 0;

    if (v->port < 1 || v->port > 65535) {
        mkv_seterr(err, "port %d is out of range", v->port);
        return MKV_ERR;
    }
    if (voldir_quotable("volume path", d->root, err) != MKV_OK ||
        voldir_quotable("state path", d->state, err) != MKV_OK ||
        voldir_quotable("user name", d->user, err) != MKV_OK ||
        voldir_quotable("group name", d->group, err) != MKV_OK)
        return MKV_ERR;
    memset(values, 0, sizeof(values));
    fill(values, v, b);
    if (substitute(out, tmpl, values, used, err) != MKV_OK) {
        rc = MKV_ERR;
    } else if (v->writers[0] != '\0' && !used[P_WRITERS]) {
        mkv_seterr(err, "the nginx template has no @WRITERS@, so --writers cannot be applied");
        rc = MKV_ERR;
    }
    for (i = 0; i < P_COUNT; i++) {
        failed |= values[i].failed;
        buf_free(&values[i]);
    }
    /* An empty template renders to nothing at all, which is refused too. */
    if (rc == MKV_OK && (failed || out->failed || out->p == NULL)) {
        mkv_seterr(err, "out of memory rendering the nginx config");
        rc = MKV_ERR;
    }
    if (rc != MKV_OK) buf_free(out);
    return rc;
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
