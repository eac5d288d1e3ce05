/* creds.c -- the S3 access keys: parse the file, swap tables safely. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "creds.h"
#include "loop.h"

struct cred {
    char id[CREDS_ID_MAX + 1];
    char secret[CREDS_SECRET_MAX + 1];
};

struct table {
    size_t n;
    struct cred c[];              /* sorted by id */
};

static _Atomic(struct table *) creds_now;

/* A table swapped out, waiting for every loop to pass a quiescent point. */
struct retired {
    struct table *t;
    atomic_int left;
};

static void table_free(struct table *t) {
    if (t == NULL) return;
    OPENSSL_cleanse(t->c, t->n * sizeof(t->c[0]));
    free(t);
}

static void retire_step(void *arg) {
    struct retired *r = arg;
    if (atomic_fetch_sub(&r->left, 1) == 1) {
        table_free(r->t);
        free(r);
    }
}

static int cred_cmp(const void *a, const void *b) {
    return strcmp(((const struct cred *)a)->id, ((const struct cred *)b)->id);
}

static int id_ok(const char *s, size_t n) {
    if (n == 0 || n > CREDS_ID_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

static int secret_ok(const char *s, size_t n) {
    if (n == 0 || n > CREDS_SECRET_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e) return 0;
    return 1;
}

/* parse -- the file's text into a new table, or NULL (err set). */
static struct table *parse(const char *path, char *text, char *err) {
    size_t lines = 1, lineno = 0;
    struct table *t;
    char *line, *save = NULL;

    for (char *p = text; *p; p++) lines += *p == '\n';
    t = calloc(1, sizeof(*t) + lines * sizeof(t->c[0]));
    if (t == NULL) {
        mkv_seterr(err, "out of memory");
        return NULL;
    }
    for (line = text; line; line = save) {
        char *nl = strchr(line, '\n'), *colon, *s = line;
        size_t len;
        save = nl ? nl + 1 : NULL;
        if (nl) *nl = '\0';
        lineno++;
        len = strlen(s);
        if (len > 0 && s[len - 1] == '\r') s[--len] = '\0';
        while (*s == ' ' || *s == '\t') s++;
        len = strlen(s);
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) s[--len] = '\0';
        if (*s == '\0' || *s == '#') continue;
        colon = strchr(s, ':');
        if (colon == NULL || !id_ok(s, (size_t)(colon - s)) ||
            !secret_ok(colon + 1, strlen(colon + 1))) {
            mkv_seterr(err, "%s line %zu: expected ACCESS_KEY_ID:SECRET_ACCESS_KEY", path,
                       lineno);
            table_free(t);
            return NULL;
        }
        memcpy(t->c[t->n].id, s, (size_t)(colon - s));
        strcpy(t->c[t->n].secret, colon + 1);
        t->n++;
    }
    if (t->n == 0) {
        mkv_seterr(err, "%s holds no access key", path);
        table_free(t);
        return NULL;
    }
    qsort(t->c, t->n, sizeof(t->c[0]), cred_cmp);
    for (size_t i = 1; i < t->n; i++) {
        if (strcmp(t->c[i - 1].id, t->c[i].id) == 0) {
            mkv_seterr(err, "%s: access key %s appears twice", path, t->c[i].id);
            table_free(t);
            return NULL;
        }
    }
    return t;
}

int creds_load(const char *path, char *err) {
    struct table *t, *old;
    struct retired *r;
    char *text;
    long size;
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        mkv_seterr(err, "cannot read %s: %s", path, strerror(errno));
        return MKV_ERR;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || size > 1 << 20 ||
        fseek(f, 0, SEEK_SET) != 0) {
        mkv_seterr(err, "%s: not a regular file of at most 1 MiB", path);
        fclose(f);
        return MKV_ERR;
    }
    text = calloc(1, (size_t)size + 1);
    if (text == NULL || fread(text, 1, (size_t)size, f) != (size_t)size) {
        mkv_seterr(err, "cannot read %s", path);
        free(text);
        fclose(f);
        return MKV_ERR;
    }
    fclose(f);
    if (memchr(text, '\0', (size_t)size) != NULL) {
        mkv_seterr(err, "%s holds a NUL byte", path);
        OPENSSL_cleanse(text, (size_t)size);
        free(text);
        return MKV_ERR;
    }
    t = parse(path, text, err);
    OPENSSL_cleanse(text, (size_t)size);
    free(text);
    if (t == NULL) return MKV_ERR;
    old = atomic_exchange(&creds_now, t);
    if (old == NULL) return MKV_OK;
    /* Free the old table once every loop has gone past this point. */
    r = malloc(sizeof(*r));
    if (r == NULL) return MKV_OK; /* kept: a small leak rather than a risk */
    r->t = old;
    atomic_init(&r->left, 1 << 30);
    {
        int posted = loops_post_all(retire_step, r);
        /* Every post beyond the ones made counts down at once. */
        if (atomic_fetch_sub(&r->left, (1 << 30) - posted) == (1 << 30) - posted) {
            table_free(r->t);
            free(r);
        }
    }
    return MKV_OK;
}

size_t creds_count(void) {
    struct table *t = atomic_load(&creds_now);
    return t ? t->n : 0;
}

int creds_secret(const char *id, char secret[CREDS_SECRET_MAX + 1]) {
    struct table *t = atomic_load(&creds_now);
    struct cred key;
    const struct cred *c;
    size_t n = strlen(id);

    if (t == NULL || n == 0 || n > CREDS_ID_MAX) return 0;
    memcpy(key.id, id, n + 1);
    c = bsearch(&key, t->c, t->n, sizeof(t->c[0]), cred_cmp);
    if (c == NULL) return 0;
    memcpy(secret, c->secret, sizeof(c->secret));
    return 1;
}

void creds_free(void) {
    table_free(atomic_exchange(&creds_now, NULL));
}
